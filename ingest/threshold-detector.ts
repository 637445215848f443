/**
 * A limit alarm on one point, with alarm deadband and on/off delays (ISA-18.2 §10.4: deadband and
 * delay are the standard's remedies against chattering). Runs on sample time, so a replay raises
 * the same alarms as the live run (DESIGN.md, "Identifiers and time"). Pure: no clocks, no I/O.
 */
import type { Explanation, Sample, ThresholdDetector as ThresholdDetectorConfig } from '@vigil/model';

export type DetectorAction = 'activate' | 'clear';

export interface DetectorDecision {
  action: DetectorAction;
  explanation: Explanation;
}

/** How many of the samples that decided a change the explanation keeps (the first and the latest ones). */
const MAX_EXPLANATION_VALUES = 20;

type Evidence = Array<{ ts: number; value: number }>;

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export class ThresholdDetector {
  readonly id: string;
  readonly point: string;
  #active: boolean;
  #lastTs = -Infinity;
  /** The run of samples that currently argue for a change (violating while inactive, returned while active). */
  #run: Evidence = [];
  #runStart: number | null = null;

  /**
   * @param unit the point's engineering unit, for the rule text
   * @param active start with the condition present (an alarm left open by the previous run)
   */
  constructor(
    readonly config: ThresholdDetectorConfig,
    readonly unit = '',
    active = false,
  ) {
    this.id = config.id;
    this.point = config.point;
    this.#active = active;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Feeds one sample; returns a decision when the alarm condition starts or ends. */
  update(sample: Pick<Sample, 'point' | 'ts' | 'value' | 'quality'>): DetectorDecision | null {
    if (sample.point !== this.point) return null;
    // A bad value says nothing about the process: neither raise nor clear on it.
    if (sample.quality === 'bad') return null;
    const value = typeof sample.value === 'boolean' ? (sample.value ? 1 : 0) : sample.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) return null;
    if (sample.ts < this.#lastTs) return null; // out of order: the newer sample already decided
    this.#lastTs = sample.ts;

    const arguesForChange = this.#active ? this.#returned(value) : this.#violates(value);
    if (!arguesForChange) {
      this.#run = [];
      this.#runStart = null;
      return null;
    }
    if (this.#runStart === null) this.#runStart = sample.ts;
    this.#remember({ ts: sample.ts, value });

    const delay = this.#active ? this.config.offDelayMs : this.config.onDelayMs;
    if (sample.ts - this.#runStart < delay) return null;

    const action: DetectorAction = this.#active ? 'clear' : 'activate';
    const explanation = this.#explain(action);
    this.#active = !this.#active;
    this.#run = [];
    this.#runStart = null;
    return { action, explanation };
  }

  #violates(v: number): boolean {
    const { lo, hi } = this.config;
    return (lo !== undefined && v < lo) || (hi !== undefined && v > hi);
  }

  /** Back past the limit by the deadband: inside the band the condition still holds (hysteresis). */
  #returned(v: number): boolean {
    const { lo, hi, deadband } = this.config;
    return (lo === undefined || v >= lo + deadband) && (hi === undefined || v <= hi - deadband);
  }

  #remember(e: { ts: number; value: number }): void {
    this.#run.push(e);
    // Keep the first sample (when the run began) and the most recent ones.
    if (this.#run.length > MAX_EXPLANATION_VALUES) this.#run.splice(1, 1);
  }

  /** e.g. "discharge_pressure < 0.6 MPa for 3 s". */
  rule(action: DetectorAction): string {
    const { lo, hi, deadband, onDelayMs, offDelayMs } = this.config;
    const name = this.point.slice(this.point.indexOf('.') + 1);
    const u = this.unit ? ` ${this.unit}` : '';
    const parts: string[] = [];
    if (action === 'activate') {
      if (lo !== undefined) parts.push(`${name} < ${lo}${u}`);
      if (hi !== undefined) parts.push(`${name} > ${hi}${u}`);
      return `${parts.join(' or ')}${onDelayMs > 0 ? ` for ${formatDuration(onDelayMs)}` : ''}`;
    }
    if (lo !== undefined) parts.push(`${name} ≥ ${round(lo + deadband)}${u}`);
    if (hi !== undefined) parts.push(`${name} ≤ ${round(hi - deadband)}${u}`);
    return `${parts.join(' and ')}${offDelayMs > 0 ? ` for ${formatDuration(offDelayMs)}` : ''}`;
  }

  #explain(action: DetectorAction): Explanation {
    const { lo, hi, deadband, onDelayMs } = this.config;
    const explanation: Explanation = { rule: this.rule(action), values: this.#run.map((e) => ({ ts: e.ts, value: e.value })) };
    // With both limits, name the one this run is about.
    const last = this.#run.at(-1)?.value;
    const limit = lo !== undefined && hi !== undefined && last !== undefined && action === 'activate' && last > hi ? hi : (lo ?? hi);
    if (limit !== undefined) explanation.limit = limit;
    explanation.deadband = deadband;
    explanation.onDelayMs = onDelayMs;
    return explanation;
  }
}

/** Hides binary floating-point noise such as 0.6 + 0.05 = 0.6499999999999999. */
function round(x: number): number {
  return Number(x.toPrecision(12));
}
