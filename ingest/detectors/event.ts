/**
 * Device events at one asset (`events/<device>`): a single event (door forced, patrol checkpoint
 * missed), or a burst of `count` within `windowMs` (denied cards at one door, DOMAIN.md "Access
 * control"). Momentary — raised and returned at once, so it waits for the operator's ack — unless a
 * `clearEvent` ends it (camera video loss … video restored). Pure, on event time.
 */
import type { DetectorInstance, DeviceEvent, EventDetector as EventConfig } from '@vigil/model';
import { alarmSpec, formatDuration, type ActiveKeys, type AlarmSpec, type DetectorDecision } from './detector.ts';

export class EventDetector {
  readonly alarm: AlarmSpec;
  #recent: DeviceEvent[] = [];
  #active: boolean;
  #last: { ts: number; signature: string } | null = null;

  constructor(
    readonly instance: DetectorInstance & { config: EventConfig },
    isActive: ActiveKeys = () => false,
  ) {
    this.alarm = alarmSpec(instance);
    this.#active = isActive(this.alarm.key);
  }

  get active(): boolean {
    return this.#active;
  }

  /** Feeds one event of this detector's asset. */
  update(event: DeviceEvent): DetectorDecision[] {
    const c = this.instance.config;
    if (event.type !== c.event && event.type !== c.clearEvent) return [];
    // Older than the last one taken: out of order; the very same event again: a duplicate.
    const signature = JSON.stringify(event);
    if (this.#last && (event.ts < this.#last.ts || (event.ts === this.#last.ts && signature === this.#last.signature))) return [];
    this.#last = { ts: event.ts, signature };

    if (event.type === c.clearEvent) {
      this.#recent = [];
      if (!this.#active) return [];
      this.#active = false;
      return [{ action: 'clear', alarm: this.alarm, ts: event.ts, explanation: { rule: `${c.clearEvent} at ${this.instance.asset}`, values: [{ ts: event.ts, value: event.type }] } }];
    }

    this.#recent.push(event);
    if (c.windowMs > 0) this.#recent = this.#recent.filter((e) => e.ts > event.ts - c.windowMs);
    if (this.#recent.length < c.count || this.#active) return [];

    const burst = this.#recent;
    this.#recent = [];
    const rule = c.count > 1 ? `${burst.length} ${c.event} events within ${formatDuration(c.windowMs)} at ${this.instance.asset}` : `${c.event} at ${this.instance.asset}`;
    const details: Record<string, number | string | boolean | null> = { count: burst.length };
    for (const [k, v] of Object.entries(event.data ?? {})) details[k] = v;
    const explanation = { rule, values: burst.map((e) => ({ ts: e.ts, value: e.type })), limit: c.count, ...(c.windowMs > 0 ? { windowMs: c.windowMs } : {}), details };
    const activate: DetectorDecision = { action: 'activate', alarm: this.alarm, ts: event.ts, explanation };
    if (c.clearEvent) {
      this.#active = true;
      return [activate];
    }
    // Momentary: the condition is over as soon as it is reported.
    return [activate, { action: 'clear', alarm: this.alarm, ts: event.ts, explanation: { ...explanation, rule: `${rule} (momentary)` } }];
  }
}
