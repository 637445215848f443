/**
 * Alarm occurrences (DESIGN.md, "Alarm model"; ISA-18.2 / IEC 62682). Every state change goes through
 * the model's `alarmTransition`, and every transition is stored with who, when and why (ISA-18.2
 * §16: the alarm history must let one reconstruct what happened).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { alarmTransition, indexSite, isAlarmClosed, splitPointId, type Alarm, type AlarmEvent, type Site, type Ticket, type ThresholdDetector as DetectorConfig } from '@vigil/model';
import type { SqliteStateStore } from './state-store.ts';
import type { DetectorDecision } from './threshold-detector.ts';
import type { TicketEngine } from './ticket-engine.ts';
import { done, fail, type Outcome } from './outcome.ts';

export interface AlarmEngineOptions {
  site: Site;
  store: SqliteStateStore;
  /** Opens or repeats a ticket for every new occurrence; without it alarms get no tickets. */
  tickets?: TicketEngine;
  log: Logger;
  /** Wall clock, for operator actions (detector decisions carry sample time). */
  now?: () => number;
}

/** What changed, in the order it should be published. */
export interface AlarmChanges {
  alarms: Alarm[];
  tickets: Ticket[];
}

export const alarmKey = (detector: Pick<DetectorConfig, 'id' | 'point'>) => `${detector.id}:${detector.point}`;

export class AlarmEngine {
  readonly #site: Site;
  readonly #store: SqliteStateStore;
  readonly #tickets: TicketEngine | undefined;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #assets: ReturnType<typeof indexSite>['assets'];
  /** The one open occurrence per key. */
  #open = new Map<string, Alarm>();

  constructor(opts: AlarmEngineOptions) {
    this.#site = opts.site;
    this.#store = opts.store;
    this.#tickets = opts.tickets;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#assets = indexSite(opts.site).assets;
    this.reload();
  }

  /** Rebuilds the open set from the store: at start, and after a transaction that rolled back. */
  reload(): void {
    this.#open = new Map(this.#store.unfinishedAlarms().map((a) => [a.key, a]));
  }

  /** Whether the open occurrence of a key still has its condition, so a restarted detector starts active. */
  conditionActive(key: string): boolean {
    return this.#open.get(key)?.conditionActive ?? false;
  }

  openOccurrence(key: string): Alarm | undefined {
    return this.#open.get(key);
  }

  /** Applies a detector's decision, taken at sample time `ts`. */
  onDetector(detector: DetectorConfig, decision: DetectorDecision, ts: number): AlarmChanges {
    const key = alarmKey(detector);
    const current = this.#open.get(key);
    if (!current) {
      if (decision.action === 'clear') return { alarms: [], tickets: [] };
      return this.#raise(detector, key, decision, ts);
    }
    const event: AlarmEvent = { type: decision.action };
    const next = this.#transition(current, event, ts, { reason: decision.explanation.rule });
    if (!next) return { alarms: [], tickets: [] };
    if (decision.action === 'activate') {
      next.explanation = decision.explanation;
      // Back to unacknowledged: the earlier acknowledgement was for an earlier activation.
      if (next.state === 'unacknowledged-active') {
        delete next.ackedBy;
        delete next.ackedAt;
      }
    }
    this.#save(next);
    return { alarms: [next], tickets: [] };
  }

  /** An operator acknowledges an alarm (wall-clock time). */
  ack(alarmId: string, user: string, reason?: string): Outcome<Alarm> {
    const open = [...this.#open.values()].find((a) => a.id === alarmId);
    const alarm = open ?? this.#store.alarm(alarmId);
    if (!alarm) return fail('not-found', `no alarm ${alarmId}`);
    const verdict = alarmTransition(alarm, { type: 'ack' });
    if (!verdict.ok) return fail('conflict', verdict.reason);
    const now = this.#now();
    const next = this.#transition(alarm, { type: 'ack' }, now, { user, reason })!;
    next.ackedBy = user;
    next.ackedAt = now;
    this.#save(next);
    return done(next);
  }

  #raise(detector: DetectorConfig, key: string, decision: DetectorDecision, ts: number): AlarmChanges {
    const verdict = alarmTransition({ state: 'normal', conditionActive: false, latching: detector.latching }, { type: 'activate' });
    if (!verdict.ok) return { alarms: [], tickets: [] };
    const asset = splitPointId(detector.point).asset;
    const area = this.#assets.get(asset)?.building ?? asset;
    const alarm: Alarm = {
      id: randomUUID(),
      site: this.#site.site.id,
      key,
      detector: detector.id,
      asset,
      point: detector.point,
      area,
      state: verdict.next.state,
      conditionActive: verdict.next.conditionActive,
      latching: detector.latching,
      priority: detector.priority,
      department: detector.department,
      category: detector.category,
      message: detector.message,
      explanation: decision.explanation,
      raisedAt: ts,
      changedAt: ts,
    };
    if (detector.procedure) alarm.procedure = detector.procedure;
    // The alarm row first: ticket history refers to it by id.
    this.#store.saveAlarm(alarm);
    this.#store.addAlarmTransition({ alarmId: alarm.id, ts, from: 'normal', to: alarm.state, event: 'activate', reason: decision.explanation.rule });
    const tickets: Ticket[] = [];
    if (this.#tickets) {
      const ticket = this.#tickets.onNewAlarm(alarm);
      alarm.ticketId = ticket.id;
      this.#store.saveAlarm(alarm);
      tickets.push(ticket);
    }
    this.#open.set(key, alarm);
    this.#log.info({ alarm: alarm.id, key, rule: decision.explanation.rule, ticket: tickets[0]?.number }, 'alarm raised');
    return { alarms: [alarm], tickets };
  }

  /** Runs the state machine and stores the transition; null when nothing changed. */
  #transition(alarm: Alarm, event: AlarmEvent, ts: number, why: { user?: string; reason?: string }): Alarm | null {
    const verdict = alarmTransition(alarm, event);
    if (!verdict.ok) {
      this.#log.debug({ alarm: alarm.id, event: event.type, reason: verdict.reason }, 'alarm transition refused');
      return null;
    }
    const { state, conditionActive } = verdict.next;
    if (state === alarm.state && conditionActive === alarm.conditionActive) return null;
    this.#store.addAlarmTransition({
      alarmId: alarm.id,
      ts,
      from: alarm.state,
      to: state,
      event: event.type,
      ...(why.user ? { user: why.user } : {}),
      ...(why.reason ? { reason: why.reason } : {}),
    });
    return { ...alarm, state, conditionActive, changedAt: ts };
  }

  /** Stores an occurrence; one back in normal is closed, so the next activation opens a new one. */
  #save(alarm: Alarm): void {
    this.#store.saveAlarm(alarm);
    if (isAlarmClosed(alarm.state)) this.#open.delete(alarm.key);
    else this.#open.set(alarm.key, alarm);
  }
}
