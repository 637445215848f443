/**
 * Statistical deviation: an online baseline per point (exponentially weighted mean and variance,
 * optionally one per hour of the week in the site's time zone) and a z-score limit after a warm-up.
 * Samples beyond half the limit do not teach the baseline, and it freezes while the alarm stands, so a
 * slowly rising vibration or bearing temperature is caught instead of learned (DOMAIN.md, "Bearing
 * temperature": a rise of 10–15 K over the running baseline deserves a look). Pure, on sample time.
 */
import type { DetectorInstance, DeviationDetector as DeviationConfig } from '@vigil/model';
import { alarmSpec, Evidence, formatDuration, PointInput, pointName, round, truthy, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

interface Baseline {
  n: number;
  mean: number;
  variance: number;
}

const HOUR = 3_600_000;
const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** Hour of the week (0 = Monday 00:00–01:00, site time) of a timestamp; cached per UTC hour. */
export function hourOfWeekIn(timezone: string): (ts: number) => number {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
  const cache = new Map<number, number>();
  return (ts) => {
    const bucket = Math.floor(ts / HOUR);
    let how = cache.get(bucket);
    if (how === undefined) {
      const parts = format.formatToParts(new Date(bucket * HOUR + HOUR / 2));
      const day = WEEKDAY[parts.find((p) => p.type === 'weekday')!.value] ?? 0;
      how = day * 24 + Number(parts.find((p) => p.type === 'hour')!.value);
      if (cache.size > 10_000) cache.clear();
      cache.set(bucket, how);
    }
    return how;
  };
}

export class DeviationDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #alarm: AlarmSpec;
  readonly #runningPoint: string | undefined;
  readonly #input = new PointInput();
  readonly #runningInput = new PointInput();
  readonly #baselines = new Map<number, Baseline>();
  readonly #hourOfWeek: ((ts: number) => number) | undefined;
  #running: boolean;
  #active: boolean;
  #run = new Evidence();
  #runStart: number | null = null;

  constructor(
    readonly instance: DetectorInstance & { config: DeviationConfig; point: string },
    readonly unit = '',
    isActive: ActiveKeys = () => false,
    timezone = 'UTC',
  ) {
    this.#alarm = alarmSpec(instance);
    this.#runningPoint = instance.config.running ? `${instance.asset}.${instance.config.running}` : undefined;
    this.#running = this.#runningPoint === undefined;
    this.points = this.#runningPoint ? [instance.point, this.#runningPoint] : [instance.point];
    this.alarms = [this.#alarm];
    this.#active = isActive(this.#alarm.key);
    if (instance.config.perHourOfWeek) this.#hourOfWeek = hourOfWeekIn(timezone);
  }

  get active(): boolean {
    return this.#active;
  }

  /** The baseline a sample at `ts` is judged against (for tests and the explanation). */
  baseline(ts: number): Readonly<Baseline> | undefined {
    return this.#baselines.get(this.#hourOfWeek?.(ts) ?? 0);
  }

  update(sample: DetectorSample): DetectorDecision[] {
    if (sample.point === this.#runningPoint) {
      const v = this.#runningInput.take(sample);
      if (v !== undefined) this.#running = truthy(v);
      return [];
    }
    if (sample.point !== this.instance.point) return [];
    const v = this.#input.takeNumber(sample);
    if (v === undefined || !this.#running) return [];
    const c = this.instance.config;
    const ts = sample.ts;
    const bucket = this.#hourOfWeek?.(ts) ?? 0;
    let b = this.#baselines.get(bucket);
    if (!b) {
      b = { n: 0, mean: v, variance: 0 };
      this.#baselines.set(bucket, b);
    }
    if (b.n < c.warmup) {
      learn(b, v, c.alpha);
      return [];
    }
    const sigma = Math.max(Math.sqrt(b.variance), c.minSigma, Number.EPSILON * Math.abs(b.mean));
    const z = sigma > 0 ? (v - b.mean) / sigma : 0;
    const beyond = (limit: number) => (c.direction === 'high' ? z > limit : c.direction === 'low' ? z < -limit : Math.abs(z) > limit);
    // A deadband of one σ on the z-score (at most half the limit) against chattering.
    const clearAt = Math.max(c.zLimit - 1, c.zLimit / 2);
    const arguesForChange = this.#active ? !beyond(clearAt) : beyond(c.zLimit);
    if (!this.#active && !beyond(c.zLimit / 2)) learn(b, v, c.alpha);
    if (!arguesForChange) {
      this.#run.reset();
      this.#runStart = null;
      return [];
    }
    this.#runStart ??= ts;
    this.#run.push(ts, v);
    if (!this.#active && ts - this.#runStart < c.onDelayMs) return [];

    const action = this.#active ? 'clear' : 'activate';
    this.#active = !this.#active;
    const u = this.unit ? ` ${this.unit}` : '';
    const name = pointName(this.instance.point);
    const base = `baseline ${round(b.mean, 4)} ± ${round(sigma, 3)}${u}${this.#hourOfWeek ? ` (hour ${bucket} of the week)` : ''}`;
    const rule =
      action === 'activate'
        ? `${name} ${round(v, 6)}${u} is ${round(z, 3)} σ from its ${base}, limit ${c.zLimit} σ${c.onDelayMs > 0 ? ` for ${formatDuration(c.onDelayMs)}` : ''}`
        : `${name} back within ${clearAt} σ of its ${base}`;
    const limit = round(b.mean + Math.sign(z || 1) * c.zLimit * sigma, 6);
    const values = this.#run.values;
    this.#run.reset();
    this.#runStart = null;
    return [{ action, alarm: this.#alarm, ts, explanation: { rule, values, limit, onDelayMs: c.onDelayMs, details: { mean: round(b.mean, 6), sigma: round(sigma, 6), z: round(z, 4), zLimit: c.zLimit, samples: b.n } } }];
  }
}

/** West's EWMA update of mean and variance. */
function learn(b: Baseline, v: number, alpha: number): void {
  if (b.n === 0) {
    b.mean = v;
    b.variance = 0;
  } else {
    const diff = v - b.mean;
    const incr = alpha * diff;
    b.mean += incr;
    b.variance = (1 - alpha) * (b.variance + diff * incr);
  }
  b.n++;
}
