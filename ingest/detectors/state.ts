/**
 * Discrete states of one point, each named state its own alarm: a fire zone's LifeSafetyState
 * (DOMAIN.md, "Fire alarm over BACnet": 1 pre-alarm, 2 alarm, 3 fault …), a door's alarm state
 * (2 door-open-too-long, 3 forced-open), a camera's status. With `onDelayMs` a state must hold that
 * long (a door open 30 s is held open). Pure, on sample time.
 */
import type { DetectorInstance, SampleValue, StateDetector as StateConfig } from '@vigil/model';
import { alarmSpec, Evidence, formatDuration, PointInput, pointName, type ActiveKeys, type AlarmSpec, type DetectorDecision, type DetectorSample, type SampleDetector } from './detector.ts';

interface Watched {
  values: ReadonlyArray<number | string | boolean>;
  alarm: AlarmSpec;
  active: boolean;
  runStart: number | null;
  evidence: Evidence;
}

/** A configured state value matches a sample value; a boolean also matches the numbers 1 and 0. */
const asNumber = (x: number | string | boolean) => (typeof x === 'boolean' ? Number(x) : x);
const same = (a: number | string | boolean, b: number | string | boolean) => a === b || asNumber(a) === asNumber(b) || String(a) === String(b);

export class StateDetector implements SampleDetector {
  readonly points: readonly string[];
  readonly alarms: readonly AlarmSpec[];
  readonly #watched: Watched[];
  readonly #input = new PointInput();

  /** @param stateNames the point's `states` from the site file, for the rule text */
  constructor(
    readonly instance: DetectorInstance & { config: StateConfig; point: string },
    readonly stateNames: Record<string, string> = {},
    isActive: ActiveKeys = () => false,
  ) {
    this.#watched = instance.config.alarms.map((a) => {
      const alarm = alarmSpec(instance, a.name, { priority: a.priority, message: a.message, category: a.category, latching: a.latching });
      return { values: a.values, alarm, active: isActive(alarm.key), runStart: null, evidence: new Evidence() };
    });
    this.points = [instance.point];
    this.alarms = this.#watched.map((w) => w.alarm);
  }

  #label(v: SampleValue): string {
    const name = this.stateNames[String(v)];
    return name ? `${String(v)} (${name})` : String(v);
  }

  update(sample: DetectorSample): DetectorDecision[] {
    if (sample.point !== this.instance.point) return [];
    const v = this.#input.take(sample);
    if (v === undefined) return [];
    const { onDelayMs } = this.instance.config;
    const name = pointName(this.instance.point);
    const out: DetectorDecision[] = [];
    for (const w of this.#watched) {
      const inState = w.values.some((x) => same(x, v));
      if (!inState) {
        w.runStart = null;
        w.evidence.reset();
        if (w.active) {
          w.active = false;
          out.push({ action: 'clear', alarm: w.alarm, ts: sample.ts, explanation: { rule: `${name} = ${this.#label(v)}, no longer ${w.values.map((x) => this.#label(x)).join(' or ')}`, values: [{ ts: sample.ts, value: v }] } });
        }
        continue;
      }
      w.runStart ??= sample.ts;
      w.evidence.push(sample.ts, v);
      if (w.active || sample.ts - w.runStart < onDelayMs) continue;
      w.active = true;
      out.push({
        action: 'activate',
        alarm: w.alarm,
        ts: sample.ts,
        explanation: { rule: `${name} = ${this.#label(v)}${onDelayMs > 0 ? ` for ${formatDuration(onDelayMs)}` : ''}`, values: w.evidence.values, onDelayMs },
      });
    }
    return out;
  }
}
