/**
 * What every detector shares (issue 5, "Detectors"): the alarm it raises, the decision it takes, and
 * the hygiene of its input. Detectors are pure and run on sample time (DESIGN.md, "Identifiers and
 * time"), so a replay gives the same alarms; only comm-loss silence looks at the wall clock.
 */
import type { Department, DetectorConfig, DetectorInstance, Explanation, Priority, Quality, SampleValue } from '@vigil/model';

/** One configured alarm a detector can raise (ISA-18.2: an alarm is a configured thing with its own key). */
export interface AlarmSpec {
  /** `<detector>:<point, device or asset>[:<condition>]`: one open occurrence per key. */
  key: string;
  detector: string;
  asset: string;
  point?: string;
  device?: string;
  priority: Priority;
  department: Department;
  category: string;
  message: string;
  procedure?: string;
  latching: boolean;
}

export type DetectorAction = 'activate' | 'clear';

export interface DetectorDecision {
  action: DetectorAction;
  alarm: AlarmSpec;
  explanation: Explanation;
  /** When the decision was taken: sample time, or wall time for comm-loss silence. */
  ts: number;
}

export interface DetectorSample {
  point: string;
  ts: number;
  value: SampleValue;
  quality: Quality;
  reason?: string;
}

/** A detector fed with samples; `points` are the point ids it reads. */
export interface SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  update(sample: DetectorSample): DetectorDecision[];
}

/** Whether an alarm key has an occurrence left open with its condition present (a restarted detector starts active). */
export type ActiveKeys = (key: string) => boolean;

/** How many samples an explanation keeps: the first of the run and the latest ones. */
export const MAX_EXPLANATION_VALUES = 20;

export function alarmSpec(inst: DetectorInstance, sub?: string, over: { priority?: Priority | undefined; message?: string | undefined; category?: string | undefined; latching?: boolean | undefined } = {}): AlarmSpec {
  const c: DetectorConfig = inst.config;
  const target = inst.point ?? inst.device ?? inst.asset;
  const spec: AlarmSpec = {
    key: `${c.id}:${target}${sub ? `:${sub}` : ''}`,
    detector: c.id,
    asset: inst.asset,
    priority: over.priority ?? c.priority,
    department: c.department,
    category: over.category ?? c.category,
    message: over.message ?? c.message,
    latching: over.latching ?? c.latching,
  };
  if (inst.point) spec.point = inst.point;
  if (inst.device) spec.device = inst.device;
  if (c.procedure) spec.procedure = c.procedure;
  return spec;
}

/**
 * Input hygiene for one point: a bad value says nothing about the process (neither raise nor clear on
 * it); NaN, ±Infinity and null are no values; a sample not newer than the last one taken is a
 * duplicate or out of order (the newer sample already decided).
 */
export class PointInput {
  #lastTs = -Infinity;

  /** The sample's value if it should be used, else undefined. */
  take(s: DetectorSample): number | string | boolean | undefined {
    if (s.quality === 'bad') return undefined;
    const v = s.value;
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return undefined;
    if (s.ts <= this.#lastTs) return undefined;
    this.#lastTs = s.ts;
    return v;
  }

  /** A number, or undefined: booleans count as 1 and 0, strings are not numbers. */
  takeNumber(s: DetectorSample): number | undefined {
    const v = this.take(s);
    if (typeof v === 'boolean') return v ? 1 : 0;
    return typeof v === 'number' ? v : undefined;
  }
}

/** Keeps the first and the most recent values of a run, for the explanation. */
export class Evidence {
  values: Array<{ ts: number; value: SampleValue }> = [];
  push(ts: number, value: SampleValue): void {
    this.values.push({ ts, value });
    if (this.values.length > MAX_EXPLANATION_VALUES) this.values.splice(1, 1);
  }
  reset(): void {
    this.values = [];
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Hides binary floating-point noise such as 0.6 + 0.05 = 0.6499999999999999. */
export function round(x: number, digits = 12): number {
  return Number(x.toPrecision(digits));
}

export const pointName = (point: string) => point.slice(point.indexOf('.') + 1);

/** Truthiness of a status point: true, non-zero numbers, and `true`/`on`/`running` strings. */
export function truthy(v: number | string | boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return ['true', 'on', 'running', '1', 'yes'].includes(v.toLowerCase());
}
