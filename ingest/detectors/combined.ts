/**
 * Conditions over points of one asset that must all hold for `forMs` of sample time, e.g. lift
 * entrapment (DOMAIN.md, "Lifts": stopped outside the door zone, doors closed, car occupied). Each
 * point's latest good value counts; an unknown value makes its condition false. Points are reported
 * by exception, so `forMs` is judged when the next sample of any of them arrives (a heartbeat at latest).
 */
import type { CombinedDetector as CombinedConfig, Condition, DetectorInstance, SampleValue } from '@vigil/model';
import { alarmSpec, formatDuration, PointInput, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

function holds(c: Condition, v: number | string | boolean | undefined): boolean {
  if (v === undefined) return false;
  const x = typeof v === 'boolean' && typeof c.value === 'number' ? Number(v) : v;
  const y = typeof c.value === 'boolean' && typeof x === 'number' ? (c.value ? 1 : 0) : c.value;
  switch (c.op) {
    case '==':
      return x === y || String(x) === String(y);
    case '!=':
      return !(x === y || String(x) === String(y));
    case '<':
      return typeof x === 'number' && typeof y === 'number' && x < y;
    case '<=':
      return typeof x === 'number' && typeof y === 'number' && x <= y;
    case '>':
      return typeof x === 'number' && typeof y === 'number' && x > y;
    case '>=':
      return typeof x === 'number' && typeof y === 'number' && x >= y;
  }
}

export class CombinedDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #alarm: AlarmSpec;
  readonly #inputs = new Map<string, PointInput>();
  readonly #latest = new Map<string, { ts: number; value: number | string | boolean }>();
  #since: number | null = null;
  #active: boolean;
  #now = -Infinity;

  constructor(
    readonly instance: DetectorInstance & { config: CombinedConfig },
    isActive: ActiveKeys = () => false,
  ) {
    this.#alarm = alarmSpec(instance);
    this.points = [...new Set(instance.config.all.map((c) => `${instance.asset}.${c.point}`))];
    for (const p of this.points) this.#inputs.set(p, new PointInput());
    this.alarms = [this.#alarm];
    this.#active = isActive(this.#alarm.key);
  }

  get active(): boolean {
    return this.#active;
  }

  update(sample: DetectorSample): DetectorDecision[] {
    const input = this.#inputs.get(sample.point);
    if (!input) return [];
    if (sample.quality === 'bad') {
      this.#latest.delete(sample.point); // unknown now
    } else {
      const v = input.take(sample);
      if (v === undefined) return [];
      this.#latest.set(sample.point, { ts: sample.ts, value: v });
    }
    // Sample time of the asset: the newest sample seen of any of its points.
    this.#now = Math.max(this.#now, sample.ts);
    const { all, forMs } = this.instance.config;
    const allHold = all.every((c) => holds(c, this.#latest.get(`${this.instance.asset}.${c.point}`)?.value));
    if (!allHold) {
      this.#since = null;
      if (!this.#active) return [];
      this.#active = false;
      const broken = all.filter((c) => !holds(c, this.#latest.get(`${this.instance.asset}.${c.point}`)?.value)).map(describe);
      return [this.#decision('clear', `no longer ${broken.join(' and ')}`)];
    }
    this.#since ??= this.#now;
    if (this.#active || this.#now - this.#since < forMs) return [];
    this.#active = true;
    return [this.#decision('activate', `${all.map(describe).join(' and ')}${forMs > 0 ? ` for ${formatDuration(forMs)}` : ''}`)];
  }

  #decision(action: 'activate' | 'clear', rule: string): DetectorDecision {
    const values: Array<{ ts: number; value: SampleValue }> = this.points.flatMap((p) => {
      const l = this.#latest.get(p);
      return l ? [{ ts: l.ts, value: l.value }] : [];
    });
    values.sort((a, b) => a.ts - b.ts);
    const forMs = this.instance.config.forMs;
    return { action, alarm: this.#alarm, ts: this.#now, explanation: { rule, values, windowMs: forMs, details: Object.fromEntries(this.points.map((p) => [p, this.#latest.get(p)?.value ?? null])) } };
  }
}

const describe = (c: Condition) => `${c.point} ${c.op} ${String(c.value)}`;
