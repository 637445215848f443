/**
 * Flatline (a stuck sensor): the value moved no more than `tolerance` for `windowMs` of sample time
 * while the asset runs (its `running` point is true). A point watched this way should be reported
 * with a point deadband below its noise, or the heartbeat alone will look flat.
 */
import type { DetectorInstance, FlatlineDetector as FlatlineConfig } from '@vigil/model';
import { alarmSpec, Evidence, formatDuration, PointInput, pointName, round, truthy, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

export class FlatlineDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #alarm: AlarmSpec;
  readonly #runningPoint: string | undefined;
  readonly #input = new PointInput();
  readonly #runningInput = new PointInput();
  #running: boolean;
  #run: { start: number; min: number; max: number; evidence: Evidence } | null = null;
  #active: boolean;

  constructor(
    readonly instance: DetectorInstance & { config: FlatlineConfig; point: string },
    readonly unit = '',
    isActive: ActiveKeys = () => false,
  ) {
    this.#alarm = alarmSpec(instance);
    this.#runningPoint = instance.config.running ? `${instance.asset}.${instance.config.running}` : undefined;
    this.#running = this.#runningPoint === undefined;
    this.points = this.#runningPoint ? [instance.point, this.#runningPoint] : [instance.point];
    this.alarms = [this.#alarm];
    this.#active = isActive(this.#alarm.key);
  }

  get active(): boolean {
    return this.#active;
  }

  update(sample: DetectorSample): DetectorDecision[] {
    if (sample.point === this.#runningPoint) {
      const v = this.#runningInput.take(sample);
      if (v === undefined) return [];
      const running = truthy(v);
      if (running === this.#running) return [];
      this.#running = running;
      this.#run = null;
      if (!running && this.#active) return [this.#decide('clear', sample.ts, `${pointName(this.#runningPoint)} is false: not judged while stopped`)];
      return [];
    }
    if (sample.point !== this.instance.point) return [];
    const v = this.#input.takeNumber(sample);
    if (v === undefined || !this.#running) return [];
    const { tolerance, windowMs } = this.instance.config;
    const ts = sample.ts;
    const run = this.#run;
    if (!run || Math.max(run.max, v) - Math.min(run.min, v) > tolerance) {
      // It moved: a live signal. Start a new run here.
      const evidence = new Evidence();
      evidence.push(ts, v);
      this.#run = { start: ts, min: v, max: v, evidence };
      if (run && this.#active) return [this.#decide('clear', ts, `${pointName(this.instance.point)} moved more than ${tolerance}${this.#u}`)];
      return [];
    }
    run.min = Math.min(run.min, v);
    run.max = Math.max(run.max, v);
    run.evidence.push(ts, v);
    if (this.#active || ts - run.start < windowMs) return [];
    const rule = `${pointName(this.instance.point)} within ${round(run.max - run.min, 6)}${this.#u} (tolerance ${tolerance}${this.#u}) for ${formatDuration(windowMs)}${this.#runningPoint ? ` while ${pointName(this.#runningPoint)}` : ''}`;
    return [this.#decide('activate', ts, rule)];
  }

  get #u(): string {
    return this.unit ? ` ${this.unit}` : '';
  }

  #decide(action: 'activate' | 'clear', ts: number, rule: string): DetectorDecision {
    this.#active = action === 'activate';
    const { tolerance, windowMs } = this.instance.config;
    return { action, alarm: this.#alarm, ts, explanation: { rule, values: this.#run?.evidence.values ?? [], limit: tolerance, windowMs } };
  }
}
