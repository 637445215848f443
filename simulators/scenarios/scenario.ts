/**
 * Scenario files: scripted fault injection in YAML, validated with errors that name the file, line
 * and field (the approach of model/site.ts: yaml's LineCounter + a TypeBox schema).
 *
 *   name: night-intrusion
 *   description: …
 *   speed: 1            # optional: simulated ms per real ms
 *   start: '02:10'      # optional: site-local time of day the simulated clock starts at
 *   steps:
 *     - { at: '00:00:00', device: vms-bridge, inject: intrusion, params: { camera: cam-b1-03 } }
 *     - { at: '00:10:00', device: vms-bridge, clear: intrusion }
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { byLine, FileProblemsError, ID_PATTERN, parseYamlFile, readYamlText, type FileProblem, type Site, type SimDevice, type YamlFileOptions, type YamlPath } from '@vigil/model';
import type { FaultParams } from '../device.ts';
import { createSimClock, type SimClock } from '../clock.ts';
import { LocalTime } from '../mqtt/bridge.ts';

const OFFSET_PATTERN = '^[0-9]{2,3}:[0-5][0-9]:[0-5][0-9]$';
const TIME_OF_DAY_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$';
const FAULT_PATTERN = '^[a-z0-9][a-z0-9_-]*$';
const SCENARIO_FILE: YamlFileOptions = {
  kind: 'scenario',
  mapping: 'a scenario is a YAML mapping with name, description and steps',
  patterns: {
    [OFFSET_PATTERN]: "must be an offset 'HH:MM:SS' from the scenario's start (hours may pass 24, e.g. '26:00:00')",
    [TIME_OF_DAY_PATTERN]: "must be a site-local time of day 'HH:MM' or 'HH:MM:SS'",
  },
  fail: (problems) => new ScenarioError(problems),
};

const Id = Type.String({ pattern: ID_PATTERN, maxLength: 64 });
const Fault = Type.String({ pattern: FAULT_PATTERN, maxLength: 64 });
const strict = { additionalProperties: false } as const;

export const ScenarioStepSchema = Type.Object(
  {
    /** Offset from the scenario's start, in simulated time. */
    at: Type.String({ pattern: OFFSET_PATTERN }),
    device: Id,
    inject: Type.Optional(Fault),
    clear: Type.Optional(Fault),
    /** Fault parameters (inject only), e.g. `{ door: door-b1-01 }`. */
    params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()]))),
  },
  strict,
);

export const ScenarioFileSchema = Type.Object(
  {
    name: Id,
    description: Type.String({ minLength: 1, maxLength: 2000 }),
    /** Suggested clock speed (simulated ms per real ms), e.g. 600 to see a day in 2.4 minutes. */
    speed: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
    /** Site-local time of day at the scenario's start. */
    start: Type.Optional(Type.String({ pattern: TIME_OF_DAY_PATTERN })),
    steps: Type.Array(ScenarioStepSchema, { minItems: 1, maxItems: 10_000 }),
  },
  strict,
);

export interface ScenarioStep {
  /** Offset from the start, simulated ms. */
  at: number;
  device: string;
  action: 'inject' | 'clear';
  fault: string;
  params?: FaultParams;
}

export type ScenarioProblem = FileProblem;

export class ScenarioError extends FileProblemsError {
  readonly code = 'VIGIL_ERR_SCENARIO';
  constructor(problems: ScenarioProblem[]) {
    super(problems);
    this.name = 'ScenarioError';
  }
}

type Path = YamlPath;

export interface Scenario {
  name: string;
  description: string;
  speed?: number;
  /** 'HH:MM' or 'HH:MM:SS', site-local. */
  start?: string;
  steps: ScenarioStep[];
  /** Where it came from, to name the line of a problem found later (e.g. against a site). */
  source: { file: string; problem(path: Path, message: string): ScenarioProblem };
}

/** 'HH:MM:SS' (hours may pass 24) → ms. */
export function parseOffset(text: string): number {
  const [h, m, s] = text.split(':').map(Number) as [number, number, number];
  return ((h * 60 + m) * 60 + s) * 1000;
}

/** Parses and validates scenario text; `file` names the source in errors. */
export function parseScenario(text: string, file = 'scenario.yaml'): Scenario {
  const { value: parsed, problem } = parseYamlFile(text, file, ScenarioFileSchema, SCENARIO_FILE);
  const problems: ScenarioProblem[] = [];
  const steps: ScenarioStep[] = [];
  let previous = 0;
  parsed.steps.forEach((s, i) => {
    const at = parseOffset(s.at);
    if (at < previous) problems.push(problem(['steps', i, 'at'], `steps must be in time order: ${s.at} comes before the previous step's time`));
    previous = Math.max(previous, at);
    if ((s.inject === undefined) === (s.clear === undefined)) {
      problems.push(problem(['steps', i], 'a step has exactly one of inject: FAULT or clear: FAULT'));
      return;
    }
    if (s.clear !== undefined && s.params !== undefined) problems.push(problem(['steps', i, 'params'], 'params go with inject; clear takes none'));
    steps.push({ at, device: s.device, action: s.inject !== undefined ? 'inject' : 'clear', fault: (s.inject ?? s.clear)!, ...(s.params ? { params: s.params } : {}) });
  });
  if (problems.length > 0) throw new ScenarioError(byLine(problems).slice(0, 20));
  return {
    name: parsed.name,
    description: parsed.description,
    ...(parsed.speed !== undefined ? { speed: parsed.speed } : {}),
    ...(parsed.start !== undefined ? { start: parsed.start } : {}),
    steps,
    source: { file, problem },
  };
}

/** Reads, parses and validates a scenario file. */
export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readYamlText(path, SCENARIO_FILE), path);
}

/**
 * Checks a scenario against a site: every device is in the site and simulated; every fault exists on
 * the devices `catalog` lists (the running simulators' endpoints). A device the catalog does not
 * list (its model is not available here) has its faults checked when the step runs.
 */
export function checkScenario(scenario: Scenario, site: Site, catalog: readonly SimDevice[] = []): void {
  const problems: ScenarioProblem[] = [];
  const devices = new Map(site.devices.map((d) => [d.id, d]));
  const served = new Map(catalog.map((d) => [d.device, d]));
  scenario.steps.forEach((step, i) => {
    const device = devices.get(step.device);
    if (!device) {
      problems.push(scenario.source.problem(['steps', i, 'device'], `no device '${step.device}' in site '${site.site.id}'`));
      return;
    }
    if (!device.simulator) {
      problems.push(scenario.source.problem(['steps', i, 'device'], `device '${step.device}' has no simulator in site '${site.site.id}' (real equipment)`));
      return;
    }
    const sim = served.get(step.device);
    if (sim && !sim.faults.some((f) => f.name === step.fault)) {
      problems.push(scenario.source.problem(['steps', i, step.action], `device '${step.device}' (model ${sim.model}) has no fault '${step.fault}'; its faults: ${sim.faults.map((f) => f.name).join(', ')}`));
    }
  });
  if (problems.length > 0) throw new ScenarioError(problems);
}

/**
 * A clock for running a scenario: at its `speed` (default 1), starting at its `start` time of day in
 * the site's time zone on the most recent such time at or before `now` (a scenario replays a time
 * of day that has just passed rather than inventing future samples); at `now` without a `start`.
 */
export function scenarioClock(scenario: Scenario, timeZone: string, opts: { now?: number; speed?: number } = {}): SimClock {
  const now = opts.now ?? Date.now();
  const speed = opts.speed ?? scenario.speed ?? 1;
  if (!scenario.start) return createSimClock({ start: now, speed });
  const local = new LocalTime(timeZone);
  const dayMs = 86_400_000;
  const [h, m, s = 0] = scenario.start.split(':').map(Number) as [number, number, number?];
  const localNow = now + local.offsetMs(now);
  let target = Math.floor(localNow / dayMs) * dayMs + ((h * 60 + m) * 60 + s) * 1000;
  if (target > localNow) target -= dayMs;
  // Back to UTC with the offset in force at the target (it can differ from now's across a DST change).
  let start = target - local.offsetMs(target - local.offsetMs(now));
  start = target - local.offsetMs(start);
  return createSimClock({ start, speed });
}

/** The scenario files shipped with the simulators (fire in B1, pump bearing, night intrusion, lift entrapment …). */
export const SCENARIOS_DIR = fileURLToPath(new URL('.', import.meta.url));

export function shippedScenarioFiles(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(SCENARIOS_DIR, f));
}
