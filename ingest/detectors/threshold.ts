/**
 * Limit alarms on one point (ISA-18.2 §10.4): lolo, lo, hi and hihi, each its own alarm with its own
 * priority, sharing the alarm deadband and the on/off delays (the standard's remedies against
 * chattering). Pure, on sample time.
 */
import type { DetectorInstance, Explanation, ThresholdDetector as ThresholdConfig } from '@vigil/model';
import { alarmSpec, Evidence, formatDuration, PointInput, pointName, round, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

export const LIMITS = ['lolo', 'lo', 'hi', 'hihi'] as const;
export type LimitName = (typeof LIMITS)[number];
const LABEL: Record<LimitName, string> = { lolo: 'low-low', lo: 'low', hi: 'high', hihi: 'high-high' };

/** One limit: its violation run, its hysteresis, its delays. */
class Limit {
  active: boolean;
  #run = new Evidence();
  #runStart: number | null = null;
  constructor(
    readonly name: LimitName,
    readonly value: number,
    readonly alarm: AlarmSpec,
    readonly config: ThresholdConfig,
    readonly unit: string,
    active: boolean,
  ) {
    this.active = active;
  }

  get low(): boolean {
    return this.name === 'lo' || this.name === 'lolo';
  }

  update(ts: number, v: number): DetectorDecision | null {
    const { deadband, onDelayMs, offDelayMs } = this.config;
    const violates = this.low ? v < this.value : v > this.value;
    // Back past the limit by the deadband: inside the band the condition still holds (hysteresis).
    const returned = this.low ? v >= this.value + deadband : v <= this.value - deadband;
    if (!(this.active ? returned : violates)) {
      this.#run.reset();
      this.#runStart = null;
      return null;
    }
    this.#runStart ??= ts;
    this.#run.push(ts, v);
    if (ts - this.#runStart < (this.active ? offDelayMs : onDelayMs)) return null;
    const action = this.active ? 'clear' : 'activate';
    const explanation: Explanation = { rule: this.rule(action), values: this.#run.values, limit: this.value, deadband, onDelayMs };
    this.active = !this.active;
    this.#run.reset();
    this.#runStart = null;
    return { action, alarm: this.alarm, explanation, ts };
  }

  /** e.g. "discharge_pressure < 0.6 MPa for 3 s"; the clear rule names the deadband's edge. */
  rule(action: 'activate' | 'clear'): string {
    const { deadband, onDelayMs, offDelayMs } = this.config;
    const name = this.alarm.point ? pointName(this.alarm.point) : 'value';
    const u = this.unit ? ` ${this.unit}` : '';
    if (action === 'activate') return `${name} ${this.low ? '<' : '>'} ${this.value}${u}${onDelayMs > 0 ? ` for ${formatDuration(onDelayMs)}` : ''}`;
    const edge = round(this.low ? this.value + deadband : this.value - deadband);
    return `${name} ${this.low ? '≥' : '≤'} ${edge}${u}${offDelayMs > 0 ? ` for ${formatDuration(offDelayMs)}` : ''}`;
  }
}

export class ThresholdDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #limits: Limit[];
  readonly #input = new PointInput();

  /**
   * @param unit the point's engineering unit, for the rule text
   * @param isActive whether a key's occurrence was left open with its condition present by the previous run
   */
  constructor(
    readonly instance: DetectorInstance & { config: ThresholdConfig; point: string },
    unit = '',
    isActive: ActiveKeys = () => false,
  ) {
    const c = instance.config;
    const configured = LIMITS.filter((n) => c[n] !== undefined);
    this.#limits = configured.map((name) => {
      const alarm = alarmSpec(instance, name, {
        priority: c.priorities?.[name],
        message: configured.length > 1 ? `${c.message} (${LABEL[name]})` : c.message,
      });
      return new Limit(name, c[name]!, alarm, c, unit, isActive(alarm.key));
    });
    this.points = [instance.point];
    this.alarms = this.#limits.map((l) => l.alarm);
  }

  /** Whether any limit stands. */
  get active(): boolean {
    return this.#limits.some((l) => l.active);
  }

  update(sample: DetectorSample): DetectorDecision[] {
    if (sample.point !== this.instance.point) return [];
    const v = this.#input.takeNumber(sample);
    if (v === undefined) return [];
    const out: DetectorDecision[] = [];
    for (const limit of this.#limits) {
      const d = limit.update(sample.ts, v);
      if (d) out.push(d);
    }
    return out;
  }
}
