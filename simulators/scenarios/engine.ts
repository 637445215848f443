/**
 * Runs a scenario: applies each step when the simulated clock reaches the scenario's start plus the
 * step's offset, in file order, whatever the clock's speed.
 */
import type { Logger } from 'pino';
import type { SimClock } from '../clock.ts';
import type { FaultParams } from '../device.ts';
import type { Scenario, ScenarioStep } from './scenario.ts';

/** What a scenario drives: the running simulators (`startSimulators`) or remote ones over the bus. */
export interface ScenarioTarget {
  inject(device: string, fault: string, params?: FaultParams): unknown;
  clear(device: string, fault: string): unknown;
}

export interface AppliedStep {
  index: number;
  step: ScenarioStep;
  /** Simulated time the step was due, ms since the epoch. */
  due: number;
  /** Simulated time it was applied. */
  at: number;
  ok: boolean;
  error?: string;
}

export interface ScenarioResult {
  /** False when cancelled before the last step. */
  completed: boolean;
  applied: AppliedStep[];
  failed: number;
}

export interface ScenarioRun {
  /** Simulated time of the scenario's 00:00:00. */
  readonly start: number;
  /** Steps applied so far. */
  readonly applied: readonly AppliedStep[];
  /** Resolves after the last step, or when cancelled; never rejects (a failed step is recorded and the run goes on). */
  readonly done: Promise<ScenarioResult>;
  /** Stops before the next step; a step already being applied finishes. */
  cancel(): void;
}

export interface RunScenarioOptions {
  log?: Logger;
  /** Simulated time of 00:00:00; default: the clock's now. */
  start?: number;
  /**
   * Longest real wait before looking at the clock again (default 1 s). The wait is computed from the
   * clock's speed; re-checking keeps a step from being late when the clock is not a plain one (tests).
   */
  maxWaitMs?: number;
}

export function runScenario(scenario: Scenario, sims: ScenarioTarget, clock: SimClock, opts: RunScenarioOptions = {}): ScenarioRun {
  const start = opts.start ?? clock.now();
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const applied: AppliedStep[] = [];
  let cancelled = false;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;

  const sleepUntil = async (due: number) => {
    while (!cancelled && clock.now() < due) {
      const realMs = Math.min(maxWaitMs, Math.max(1, Math.ceil((due - clock.now()) / clock.speed)));
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, realMs);
      });
      wake = null;
    }
  };

  const done = (async (): Promise<ScenarioResult> => {
    for (const [index, step] of scenario.steps.entries()) {
      const due = start + step.at;
      await sleepUntil(due);
      if (cancelled) break;
      const record: AppliedStep = { index, step, due, at: clock.now(), ok: true };
      try {
        await (step.action === 'inject' ? sims.inject(step.device, step.fault, step.params) : sims.clear(step.device, step.fault));
        opts.log?.info({ scenario: scenario.name, step: index, device: step.device, [step.action]: step.fault }, 'scenario step applied');
      } catch (err) {
        record.ok = false;
        record.error = (err as Error).message;
        opts.log?.warn({ scenario: scenario.name, step: index, device: step.device, [step.action]: step.fault, err: record.error }, 'scenario step failed');
      }
      applied.push(record);
    }
    const completed = !cancelled && applied.length === scenario.steps.length;
    if (completed) opts.log?.info({ scenario: scenario.name }, 'scenario complete');
    return { completed, applied, failed: applied.filter((a) => !a.ok).length };
  })();

  return {
    start,
    applied,
    done,
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
      wake?.();
    },
  };
}
