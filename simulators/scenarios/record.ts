/**
 * Records a day of a site's Modbus plant with known faults, in simulated time, as the telemetry a
 * gateway would publish: ingest's replay fixture (issue 5, "What it must show").
 *
 *   npx tsx simulators/scenarios/record.ts OUT [--scenario FILE] [--date YYYY-MM-DD] [--seed N]
 *                                              [--hours H] [--step-ms MS] [--site FILE] [--gateway ID]
 *
 * writes OUT.jsonl.gz (one `{gateway, device, seq, samples}` batch a line, in publish order) and
 * OUT.manifest.json (the scenario's faults at their simulated times, the counts, the options).
 *
 * No sockets and no wall clock: every Modbus model of the site file is built as `startSimulators`
 * builds it (same per-device seed, booster drives sharing one set, the fire pumps one main) and
 * stepped by hand through `step(now)` every `stepMs` of simulated time. Each step reads every point
 * of the site file from the model's register bank with the calls the Modbus server answers a poll
 * with (`readBits`, `readRegisters`), decodes it as the gateway does (the site's type, word order,
 * scale and offset), and keeps what report by exception keeps (the point's deadband, the device's
 * heartbeat). A scenario step due at T is applied when the clock reads T, before the models advance
 * to T, in file order (as `runScenario` applies it).
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DEMO_SITE_FILE, loadSiteFile, telemetryBatch, type ModbusDevice, type ModbusPoint, type Sample, type Site, type TelemetryBatch } from '@vigil/model';
import { hashString } from '../prng.ts';
import type { SimClock } from '../clock.ts';
import type { FaultParams } from '../device.ts';
import { BoosterSet, BOOSTER_PUMP_MODEL } from '../booster-pump.ts';
import { SumpPump, SUMP_PUMP_MODEL } from '../modbus/sump-pump.ts';
import { FireMain, FirePump, FIRE_PUMP_MODEL, type FirePumpRole } from '../modbus/fire-pump.ts';
import { LiftController, LIFT_CONTROLLER_MODEL } from '../modbus/lift-controller.ts';
import { decode, type RegisterType } from '../modbus/register-map.ts';
import type { ModbusPlant } from '../modbus/serve.ts';
import { joinShared } from '../modbus/shared.ts';
import { loadScenarioFile, scenarioClock, SCENARIOS_DIR, type Scenario } from './scenario.ts';

export interface RecordOptions {
  site: Site;
  scenario: Scenario;
  /** Simulated time of the scenario's 00:00:00 and of the first sample, ms since the epoch. */
  start: number;
  /** Simulated length of the recording. */
  durationMs: number;
  /** Simulated time between polls. Default: 1000 (the demo devices' poll interval). */
  stepMs?: number;
  /** Seeds every model (mixed with its device id, as `startSimulators` does). Default 1. */
  seed?: number;
  /** The `gateway` of every batch. Default `gw-1`. */
  gateway?: string;
  /** Receives each batch, in publish order. */
  onBatch(batch: TelemetryBatch): void;
}

export interface AppliedFault {
  /** Simulated time, ms and ISO. */
  ts: number;
  iso: string;
  /** Offset from the scenario's start, as in the file. */
  at: string;
  device: string;
  action: 'inject' | 'clear';
  fault: string;
  params?: FaultParams;
  /** Whether the step fell inside the recording (a step at or after its end is listed, not applied). */
  applied: boolean;
}

export interface Recording {
  start: number;
  end: number;
  stepMs: number;
  seed: number;
  gateway: string;
  faults: AppliedFault[];
  /** Per device: batches (its last seq) and samples. */
  devices: Record<string, { batches: number; samples: number }>;
  batches: number;
  samples: number;
}

/** A clock nobody reads: the models take `now` from `step(now)`; it only keys the shared plant of this run. */
const handClock = (start: number): SimClock => ({ speed: 1, now: () => start });

/** Builds the plant behind every simulated Modbus device of the site, as the models' `start` does. */
function buildPlants(site: Site, seed: number, start: number): Map<string, ModbusPlant> {
  const clock = handClock(start);
  const timeZone = site.site.timezone;
  const plants = new Map<string, ModbusPlant>();
  for (const device of site.devices) {
    if (device.protocol !== 'modbus-tcp' || !device.simulator) continue;
    const deviceSeed = (seed + hashString(device.id)) >>> 0;
    const params = device.simulator.params ?? {};
    switch (device.simulator.model) {
      case BOOSTER_PUMP_MODEL: {
        const set = joinShared(clock, BOOSTER_PUMP_MODEL, String(params.set ?? 'booster'), () => new BoosterSet({ seed: deviceSeed, timeZone, start }));
        plants.set(device.id, set.value.addPump(deviceSeed));
        break;
      }
      case SUMP_PUMP_MODEL:
        plants.set(device.id, new SumpPump({ seed: deviceSeed, timeZone, start }));
        break;
      case FIRE_PUMP_MODEL: {
        const main = joinShared(clock, FIRE_PUMP_MODEL, String(params.set ?? 'fire'), () => new FireMain(start));
        const role = params.role as FirePumpRole;
        const pump = new FirePump(main.value, role, deviceSeed);
        main.value.pumps.set(role, pump);
        plants.set(device.id, pump);
        break;
      }
      case LIFT_CONTROLLER_MODEL:
        plants.set(device.id, new LiftController({ seed: deviceSeed, timeZone, start, firefighter: params.firefighter === true }));
        break;
      default:
        throw new Error(`device '${device.id}': no Modbus model '${device.simulator.model}' to record`);
    }
  }
  return plants;
}

const WORDS: Record<ModbusPoint['modbus']['type'], number> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, int64: 4, uint64: 4, float64: 4 };

/** One point's sample, read from the bank as a poll reads it and decoded as the gateway decodes it. */
function readPoint(plant: ModbusPlant, point: ModbusPoint, ts: number): Sample {
  const { table, address, type, wordOrder, byteOrder, bit } = point.modbus;
  if (table === 'coil' || table === 'discrete') return { point: point.id, ts, value: plant.bank.readBits(table, address, 1)[0]!, quality: 'good' };
  const words = plant.bank.readRegisters(table, address, WORDS[type]);
  if (type === 'bool') return { point: point.id, ts, value: bit === undefined ? words[0] !== 0 : ((words[0]! >> bit) & 1) === 1, quality: 'good' };
  // No demo model serves these: the recorder need not decode them.
  if (type === 'int32' || WORDS[type] > 2 || byteOrder === 'little') throw new Error(`${point.id}: ${type}${byteOrder === 'little' ? ' with swapped bytes' : ''} points are not recorded (no demo model serves one)`);
  // The register map's decoder (ABCD) with the site's scale; CDAB swaps the words first.
  const ordered = wordOrder === 'little' ? [words[1]!, words[0]!] : words;
  const value = decode({ point: point.id, table, address, type: type as RegisterType, scale: point.scale, meaning: '', tags: [] }, ordered) + point.offset;
  if (!Number.isFinite(value)) return { point: point.id, ts, value: null, quality: 'bad', reason: 'out-of-range' };
  return { point: point.id, ts, value, quality: 'good' };
}

/** Report by exception, as the gateway does it: news past the deadband, a new quality, or the heartbeat. */
class Exceptions {
  readonly #last = new Map<string, Sample>();
  readonly #deadband: Map<string, number>;
  constructor(private readonly device: ModbusDevice) {
    this.#deadband = new Map(device.points.map((p) => [p.id, p.deadband]));
  }
  filter(samples: Sample[]): Sample[] {
    return samples.filter((s) => {
      const last = this.#last.get(s.point);
      const news =
        !last ||
        s.ts - last.ts >= this.device.heartbeatMs ||
        s.quality !== last.quality ||
        s.reason !== last.reason ||
        (typeof s.value === 'number' && typeof last.value === 'number' ? Math.abs(s.value - last.value) > (this.#deadband.get(s.point) ?? 0) : s.value !== last.value);
      if (news) this.#last.set(s.point, s);
      return news;
    });
  }
}

const offsetText = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/** Runs the models through the scenario and hands each batch to `onBatch`. Synchronous and deterministic. */
export function record(opts: RecordOptions): Recording {
  const { site, scenario, start } = opts;
  const stepMs = opts.stepMs ?? 1000;
  const seed = opts.seed ?? 1;
  const gateway = opts.gateway ?? 'gw-1';
  const end = start + opts.durationMs;
  const plants = buildPlants(site, seed, start);
  const devices = site.devices.filter((d): d is ModbusDevice => d.protocol === 'modbus-tcp' && plants.has(d.id));
  const filters = new Map(devices.map((d) => [d.id, new Exceptions(d)]));
  const counts: Recording['devices'] = Object.fromEntries(devices.map((d) => [d.id, { batches: 0, samples: 0 }]));
  const faults: AppliedFault[] = scenario.steps.map((s) => ({
    ts: start + s.at,
    iso: new Date(start + s.at).toISOString(),
    at: offsetText(s.at),
    device: s.device,
    action: s.action,
    fault: s.fault,
    ...(s.params ? { params: s.params } : {}),
    applied: false,
  }));
  let next = 0;
  let batches = 0;
  let samples = 0;
  for (let t = start; t < end; t += stepMs) {
    for (; next < faults.length && faults[next]!.ts <= t; next++) {
      const f = faults[next]!;
      const plant = plants.get(f.device);
      if (!plant) throw new Error(`scenario step ${next}: device '${f.device}' is not a recorded Modbus device`);
      if (f.action === 'inject') plant.inject(f.fault, f.params, t);
      else plant.clear(f.fault, t);
      f.applied = true;
    }
    for (const d of devices) plants.get(d.id)!.step(t);
    for (const d of devices) {
      const plant = plants.get(d.id)!;
      const kept = filters.get(d.id)!.filter(d.points.map((p) => readPoint(plant, p as ModbusPoint, t)));
      if (kept.length === 0) continue;
      const c = counts[d.id]!;
      const batch: TelemetryBatch = { gateway, device: d.id, seq: ++c.batches, samples: kept };
      const checked = telemetryBatch.check(batch);
      if (!checked.ok) throw new Error(`${d.id} seq ${batch.seq}: ${checked.error}`);
      c.samples += kept.length;
      batches++;
      samples += kept.length;
      opts.onBatch(batch);
    }
  }
  for (const plant of plants.values()) plant.close?.();
  return { start, end, stepMs, seed, gateway, faults, devices: counts, batches, samples };
}

/** Simulated time of the scenario's start time of day on `date` (YYYY-MM-DD) in the site's zone. */
export function scenarioStartOn(scenario: Scenario, timeZone: string, date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  // The most recent start time of day at or before the end of that local day.
  const endOfDay = Date.UTC(y, m - 1, d, 23, 59, 59);
  let start = scenarioClock(scenario, timeZone, { now: endOfDay }).now();
  // endOfDay is UTC: in a zone ahead of UTC it may already be the next local day.
  const local = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  while (local.format(new Date(start)) > date) start -= 86_400_000;
  // The clock runs from the moment it was made: drop the few ms that passed before now() was read
  // (a start time of day is whole minutes).
  return Math.round(start / 1000) * 1000;
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const out = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  if (!out) {
    process.stderr.write('usage: record.ts OUT [--scenario FILE] [--date YYYY-MM-DD] [--seed N] [--hours H] [--step-ms MS] [--site FILE] [--gateway ID]\n');
    process.exit(2);
  }
  const siteFile = argValue(argv, '--site') ?? DEMO_SITE_FILE;
  const scenarioFile = argValue(argv, '--scenario') ?? join(SCENARIOS_DIR, 'demo-day.yaml');
  const date = argValue(argv, '--date') ?? '2026-03-10';
  const seed = Number(argValue(argv, '--seed') ?? 1);
  const hours = Number(argValue(argv, '--hours') ?? 24);
  const stepMs = Number(argValue(argv, '--step-ms') ?? 1000);
  const gateway = argValue(argv, '--gateway') ?? 'gw-1';
  const site = loadSiteFile(siteFile);
  const scenario = loadScenarioFile(scenarioFile);
  const start = scenarioStartOn(scenario, site.site.timezone, date);

  const lines: string[] = [];
  const began = Date.now();
  const rec = record({ site, scenario, start, durationMs: hours * 3_600_000, stepMs, seed, gateway, onBatch: (b) => lines.push(JSON.stringify(b)) });
  const dataFile = `${out}.jsonl.gz`;
  // mtime 0 in the gzip header (node:zlib writes none): the same seed gives the same bytes.
  await pipeline(Readable.from(lines.map((l) => `${l}\n`)), createGzip({ level: 9 }), createWriteStream(dataFile));
  const sha256 = createHash('sha256').update(readFileSync(dataFile)).digest('hex');
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const manifest = {
    description: scenario.description,
    made: `npx tsx simulators/scenarios/record.ts ${relative(repo, out) || out} --scenario ${relative(repo, scenarioFile)} --date ${date} --seed ${seed} --hours ${hours} --step-ms ${stepMs} --gateway ${gateway}`,
    site: relative(repo, siteFile),
    scenario: relative(repo, scenarioFile),
    timezone: site.site.timezone,
    data: basename(dataFile),
    sha256,
    start: rec.start,
    startIso: new Date(rec.start).toISOString(),
    end: rec.end,
    endIso: new Date(rec.end).toISOString(),
    stepMs: rec.stepMs,
    seed: rec.seed,
    gateway: rec.gateway,
    batches: rec.batches,
    samples: rec.samples,
    faults: rec.faults,
    devices: rec.devices,
  };
  writeFileSync(`${out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`recorded ${rec.batches} batches, ${rec.samples} samples of ${Object.keys(rec.devices).length} devices in ${Date.now() - began} ms → ${dataFile}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
