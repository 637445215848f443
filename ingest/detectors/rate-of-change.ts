/**
 * Rate of change: the value rose (fell) by more than `rise` (`fall`) within `windowMs` of sample time.
 * Points are reported by exception, so the value before the window still holds at its start: the
 * window keeps the last sample older than it. A bad sample means the value is unknown: the window
 * starts over.
 */
import type { DetectorInstance, RateOfChangeDetector as RateConfig } from '@vigil/model';
import { alarmSpec, formatDuration, PointInput, pointName, round, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

export class RateOfChangeDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #alarm: AlarmSpec;
  readonly #input = new PointInput();
  #window: Array<{ ts: number; value: number }> = [];
  #active: boolean;

  constructor(
    readonly instance: DetectorInstance & { config: RateConfig; point: string },
    readonly unit = '',
    isActive: ActiveKeys = () => false,
  ) {
    this.#alarm = alarmSpec(instance);
    this.points = [instance.point];
    this.alarms = [this.#alarm];
    this.#active = isActive(this.#alarm.key);
  }

  get active(): boolean {
    return this.#active;
  }

  update(sample: DetectorSample): DetectorDecision[] {
    if (sample.point !== this.instance.point) return [];
    if (sample.quality === 'bad') {
      this.#window = [];
      return [];
    }
    const v = this.#input.takeNumber(sample);
    if (v === undefined) return [];
    const { rise, fall, windowMs } = this.instance.config;
    const ts = sample.ts;
    this.#window.push({ ts, value: v });
    // Drop what is older than the window, but keep the newest of those: its value held at the window's start.
    while (this.#window.length > 1 && this.#window[1]!.ts <= ts - windowMs) this.#window.shift();

    let low = this.#window[0]!;
    let high = this.#window[0]!;
    for (const e of this.#window) {
      if (e.value < low.value) low = e;
      if (e.value > high.value) high = e;
    }
    const rose = v - low.value;
    const fell = high.value - v;
    const risen = rise !== undefined && rose > rise;
    const fallen = fall !== undefined && fell > fall;
    const violates = risen || fallen;
    if (violates === this.#active) return [];
    this.#active = violates;

    const name = pointName(this.instance.point);
    const u = this.unit ? ` ${this.unit}` : '';
    const w = formatDuration(windowMs);
    let rule: string;
    let from = low;
    let limit = rise ?? fall!;
    if (violates && risen) rule = `${name} rose ${round(rose, 6)}${u} within ${w} (limit ${rise}${u})`;
    else if (violates) {
      rule = `${name} fell ${round(fell, 6)}${u} within ${w} (limit ${fall}${u})`;
      from = high;
      limit = fall!;
    } else rule = `${name} changed less than ${[rise !== undefined ? `+${rise}` : '', fall !== undefined ? `−${fall}` : ''].filter(Boolean).join(' / ')}${u} within ${w}`;
    return [{ action: violates ? 'activate' : 'clear', alarm: this.#alarm, ts, explanation: { rule, values: [from, { ts, value: v }], limit, windowMs } }];
  }
}
