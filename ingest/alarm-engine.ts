/**
 * Alarm occurrences (DESIGN.md, "Alarm model"; ISA-18.2 / IEC 62682). Every state change goes through
 * the model's `alarmTransition`, and every transition is stored with who, when and why (ISA-18.2
 * §16: the alarm history must let one reconstruct what happened). Detector decisions carry sample
 * time; operator actions, shelving expiry and re-alarm run on the wall clock.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { alarmTransition, ANNUNCIATED_STATES, indexSite, isAlarmClosed, type Alarm, type AlarmEvent, type AssetMode, type Site, type Ticket } from '@vigil/model';
import type { SqliteStateStore } from './state-store.ts';
import type { AlarmSpec, DetectorDecision } from './detectors/index.ts';
import type { TicketEngine } from './ticket-engine.ts';
import { done, fail, type Outcome } from './outcome.ts';

export interface AlarmEngineOptions {
  site: Site;
  store: SqliteStateStore;
  /** Opens or repeats a ticket for every occurrence the operator sees; without it alarms get no tickets. */
  tickets?: TicketEngine;
  log: Logger;
  /** Wall clock, for operator actions, shelving expiry and re-alarm (detector decisions carry sample time). */
  now?: () => number;
}

/** What changed, in the order it should be published. */
export interface AlarmChanges {
  alarms: Alarm[];
  tickets: Ticket[];
}

/** Flood and chattering, for health and the API (ISA-18.2 §16.5, EEMUA 191). */
export interface AlarmSystemState {
  floods: Array<{ area: string; since: number; count: number }>;
  chattering: Array<{ key: string; activations: number; lastAt: number }>;
}

type Why = { user?: string | undefined; reason?: string | undefined };
type Hide = { state: 'out-of-service' | 'suppressed-by-design'; why: string } | null;

const SYSTEM = 'system';
const MINUTE = 60_000;

export class AlarmEngine {
  readonly #site: Site;
  readonly #store: SqliteStateStore;
  readonly #tickets: TicketEngine | undefined;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #assets: ReturnType<typeof indexSite>['assets'];
  readonly #pointDevice = new Map<string, string>();
  /** The one open occurrence per key. */
  #open = new Map<string, Alarm>();
  #modes = new Map<string, AssetMode>();
  /** Devices whose communication alarm stands. */
  readonly #commLost = new Set<string>();
  /** When each unacknowledged occurrence was last annunciated (wall time), for re-alarm. */
  readonly #annunciatedAt = new Map<string, number>();
  readonly #activations = new Map<string, number[]>();
  readonly #chattering = new Map<string, { activations: number; lastAt: number }>();
  readonly #raises = new Map<string, number[]>();
  readonly #floodSince = new Map<string, number>();
  #changes: AlarmChanges = { alarms: [], tickets: [] };

  constructor(opts: AlarmEngineOptions) {
    this.#site = opts.site;
    this.#store = opts.store;
    this.#tickets = opts.tickets;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    const index = indexSite(opts.site);
    this.#assets = index.assets;
    for (const [id, { device }] of index.points) this.#pointDevice.set(id, device.id);
    this.reload();
  }

  get #cfg() {
    return this.#site.alarming;
  }

  /** Rebuilds the open set and the asset modes from the store: at start, and after a transaction that rolled back. */
  reload(): void {
    this.#open = new Map(this.#store.unfinishedAlarms().map((a) => [a.key, a]));
    this.#modes = new Map(this.#store.assetModes().map((m) => [m.asset, m]));
    this.#commLost.clear();
    for (const a of this.#open.values()) if (a.device && a.conditionActive) this.#commLost.add(a.device);
    const now = this.#now();
    for (const a of this.#open.values()) if (a.state === 'unacknowledged-active' && !this.#annunciatedAt.has(a.key)) this.#annunciatedAt.set(a.key, a.reAlarmedAt ?? now);
  }

  /** Whether the open occurrence of a key still has its condition, so a restarted detector starts active. */
  conditionActive(key: string): boolean {
    return this.#open.get(key)?.conditionActive ?? false;
  }

  openOccurrence(key: string): Alarm | undefined {
    return this.#open.get(key);
  }

  openAlarms(): Alarm[] {
    return [...this.#open.values()];
  }

  assetMode(asset: string): AssetMode | undefined {
    return this.#modes.get(asset);
  }

  /** Applies a detector's decision, taken at `decision.ts` (sample time; wall time for comm-loss silence). */
  onDecision(decision: DetectorDecision): AlarmChanges {
    return this.#collect(() => {
      const { alarm: spec, action, ts } = decision;
      const current = this.#open.get(spec.key);
      if (action === 'activate') this.#noteActivation(spec.key, ts);
      if (!current) {
        if (action === 'activate') this.#raise(spec, decision, ts);
      } else {
        const next = this.#step(current, { type: action }, ts, { reason: decision.explanation.rule });
        if (next) {
          if (action === 'activate') {
            next.explanation = decision.explanation;
            next.activations = (next.activations ?? 1) + 1;
            if (this.#isChattering(spec.key)) next.chattering = true;
            // Back to unacknowledged: the earlier acknowledgement was for an earlier activation.
            if (next.state === 'unacknowledged-active') {
              delete next.ackedBy;
              delete next.ackedAt;
            }
          }
          this.#commit(next);
        }
      }
      // One communication alarm stands for the device: its points' alarms are suppressed by design.
      if (spec.device) {
        if (action === 'activate') this.#commLost.add(spec.device);
        else this.#commLost.delete(spec.device);
        for (const a of [...this.#open.values()]) if (a.point && this.#pointDevice.get(a.point) === spec.device) this.#reconcile(a, ts);
      }
    });
  }

  /** An operator acknowledges an alarm. */
  ack(alarmId: string, user: string, reason?: string): Outcome<Alarm> {
    return this.#command(alarmId, (alarm, now) => {
      const next = this.#stepOrRefuse(alarm, { type: 'ack' }, now, { user, reason });
      if (typeof next === 'string') return fail('conflict', next);
      next.ackedBy = user;
      next.ackedAt = now;
      this.#annunciatedAt.delete(next.key);
      return done(next);
    });
  }

  /** ISA-18.2 §11.5: shelved with a reason, until a time no later than `alarming.maxShelveHours` from now. */
  shelve(alarmId: string, user: string, reason: string, until: number): Outcome<Alarm> {
    return this.#command(alarmId, (alarm, now) => {
      const max = now + this.#cfg.maxShelveHours * 60 * MINUTE;
      if (until <= now) return fail('invalid', 'until must be in the future');
      if (until > max) return fail('invalid', `an alarm may be shelved for at most ${this.#cfg.maxShelveHours} h (until ≤ ${max})`);
      const next = this.#stepOrRefuse(alarm, { type: 'shelve' }, now, { user, reason: `${reason} (until ${new Date(until).toISOString()})` });
      if (typeof next === 'string') return fail('conflict', next);
      next.shelvedBy = user;
      next.shelvedUntil = until;
      next.shelveReason = reason;
      return done(next);
    });
  }

  unshelve(alarmId: string, user: string, reason?: string): Outcome<Alarm> {
    return this.#command(alarmId, (alarm, now) => {
      const next = this.#unshelve(alarm, now, { user, reason });
      return typeof next === 'string' ? fail('conflict', next) : done(next);
    });
  }

  /** Resets a latched alarm (a fire alarm, GB 4717) once acknowledged and its condition gone. */
  reset(alarmId: string, user: string, reason?: string): Outcome<Alarm> {
    return this.#command(alarmId, (alarm, now) => {
      const next = this.#stepOrRefuse(alarm, { type: 'reset' }, now, { user, reason });
      return typeof next === 'string' ? fail('conflict', next) : done(next);
    });
  }

  /** A comment joins the alarm's history (as a transition to the same state). */
  comment(alarmId: string, user: string, text: string): Outcome<Alarm> {
    return this.#command(alarmId, (alarm, now) => {
      this.#store.addAlarmTransition({ alarmId: alarm.id, ts: now, from: alarm.state, to: alarm.state, event: 'comment', user, reason: text });
      return done({ ...alarm });
    });
  }

  /**
   * Maintenance mode (suppression by design) or out of service for an asset: its open alarms move now,
   * and new ones are raised hidden until it is switched off.
   */
  setAssetMode(asset: string, mode: 'maintenance' | 'out-of-service', on: boolean, user: string, reason?: string): Outcome<{ mode: AssetMode; alarms: Alarm[] }> {
    if (!this.#assets.has(asset)) return fail('not-found', `no asset ${asset}`);
    const now = this.#now();
    const before = this.#modes.get(asset) ?? { asset, maintenance: false, outOfService: false, changedAt: now };
    const field = mode === 'maintenance' ? 'maintenance' : 'outOfService';
    if (before[field] === on) return fail('conflict', `${asset} is ${on ? 'already' : 'not'} ${mode === 'maintenance' ? 'in maintenance' : 'out of service'}`);
    const next: AssetMode = { asset, maintenance: before.maintenance, outOfService: before.outOfService, changedAt: now, changedBy: user };
    next[field] = on;
    if (reason) next.reason = reason;
    this.#store.saveAssetMode(next);
    this.#modes.set(asset, next);
    this.#log.info({ asset, mode, on, user, reason }, 'asset mode changed');
    const changes = this.#collect(() => {
      for (const a of [...this.#open.values()]) if (a.asset === asset) this.#reconcile(a, now, { user, reason });
    });
    this.#pending.tickets.push(...changes.tickets);
    return done({ mode: next, alarms: changes.alarms });
  }

  /** Tickets opened by the last command (an unhidden alarm gets its ticket); taken once. */
  takeTickets(): Ticket[] {
    const t = this.#pending.tickets;
    this.#pending = { tickets: [] };
    return t;
  }
  #pending: { tickets: Ticket[] } = { tickets: [] };

  /** The wall clock moved on: expired shelves come back, unacknowledged alarms re-alarm. */
  tick(): AlarmChanges {
    const now = this.#now();
    return this.#collect(() => {
      for (const a of [...this.#open.values()]) {
        if (a.state === 'shelved' && a.shelvedUntil !== undefined && a.shelvedUntil <= now) this.#unshelve(a, now, { user: SYSTEM, reason: 'shelving expired' });
      }
      const reAlarmMs = this.#cfg.reAlarmMin * MINUTE;
      for (const a of [...this.#open.values()]) {
        if (a.state !== 'unacknowledged-active') continue;
        const since = this.#annunciatedAt.get(a.key);
        if (since === undefined) {
          this.#annunciatedAt.set(a.key, now);
          continue;
        }
        if (now - since < reAlarmMs) continue;
        // Re-alarming (ISA-18.2 §10.5.2.4): still unacknowledged, annunciate again.
        this.#store.addAlarmTransition({ alarmId: a.id, ts: now, from: a.state, to: a.state, event: 're-alarm', user: SYSTEM, reason: `unacknowledged for ${Math.round((now - since) / MINUTE)} min` });
        this.#annunciatedAt.set(a.key, now);
        this.#commit({ ...a, reAlarms: (a.reAlarms ?? 0) + 1, reAlarmedAt: now });
      }
      const floodWindow = this.#cfg.floodWindowMin * MINUTE;
      for (const area of [...this.#floodSince.keys()]) {
        const last = this.#raises.get(area)?.at(-1) ?? 0;
        if (last <= now - floodWindow) {
          this.#floodSince.delete(area);
          this.#raises.delete(area);
          this.#log.info({ area }, 'alarm flood over');
        }
      }
    });
  }

  /** Floods per operator area and chattering alarms, as of the latest activations. */
  alarmSystem(): AlarmSystemState {
    const floods: AlarmSystemState['floods'] = [];
    for (const [area, since] of this.#floodSince) floods.push({ area, since, count: this.#raises.get(area)?.length ?? 0 });
    const chattering = [...this.#chattering.entries()].map(([key, c]) => ({ key, ...c }));
    return { floods, chattering };
  }

  // ——— internals ———

  #collect(fn: () => void): AlarmChanges {
    const outer = this.#changes;
    this.#changes = { alarms: [], tickets: [] };
    try {
      fn();
      // One record per alarm, the last one.
      const byId = new Map(this.#changes.alarms.map((a) => [a.id, a]));
      return { alarms: [...byId.values()], tickets: this.#changes.tickets };
    } finally {
      this.#changes = outer;
    }
  }

  #command(alarmId: string, fn: (alarm: Alarm, now: number) => Outcome<Alarm>): Outcome<Alarm> {
    const alarm = [...this.#open.values()].find((a) => a.id === alarmId) ?? this.#store.alarm(alarmId);
    if (!alarm) return fail('not-found', `no alarm ${alarmId}`);
    let outcome: Outcome<Alarm> = fail('conflict', 'nothing changed');
    const changes = this.#collect(() => {
      outcome = fn(alarm, this.#now());
      if (outcome.ok) this.#commit(outcome.value);
    });
    this.#pending.tickets.push(...changes.tickets);
    if (outcome.ok) outcome = done(this.#open.get(alarm.key)?.id === alarm.id ? this.#open.get(alarm.key)! : (changes.alarms.find((a) => a.id === alarm.id) ?? outcome.value));
    return outcome;
  }

  #raise(spec: AlarmSpec, decision: DetectorDecision, ts: number): void {
    const verdict = alarmTransition({ state: 'normal', conditionActive: false, latching: spec.latching }, { type: 'activate' });
    if (!verdict.ok) return;
    const area = this.#assets.get(spec.asset)?.building ?? this.#site.buildings[0]?.id ?? spec.asset;
    const alarm: Alarm = {
      id: randomUUID(),
      site: this.#site.site.id,
      key: spec.key,
      detector: spec.detector,
      asset: spec.asset,
      area,
      state: verdict.next.state,
      conditionActive: verdict.next.conditionActive,
      latching: spec.latching,
      priority: spec.priority,
      department: spec.department,
      category: spec.category,
      message: spec.message,
      explanation: decision.explanation,
      raisedAt: ts,
      changedAt: ts,
      activations: 1,
    };
    if (spec.point) alarm.point = spec.point;
    if (spec.device) alarm.device = spec.device;
    if (spec.procedure) alarm.procedure = spec.procedure;
    if (this.#isChattering(spec.key)) alarm.chattering = true;
    if (this.#noteRaise(area, ts)) alarm.flood = true;
    this.#store.saveAlarm(alarm);
    this.#store.addAlarmTransition({ alarmId: alarm.id, ts, from: 'normal', to: alarm.state, event: 'activate', reason: decision.explanation.rule });
    this.#log.info({ alarm: alarm.id, key: spec.key, rule: decision.explanation.rule }, 'alarm raised');
    const hidden = this.#reconcile(alarm, ts);
    if (!hidden) this.#commit(alarm);
  }

  /** Moves an alarm to the hiding its asset and device call for; true when it changed anything. */
  #reconcile(alarm: Alarm, ts: number, why: Why = {}): boolean {
    const want = this.#hide(alarm);
    let a = alarm;
    const go = (event: AlarmEvent, reason: string) => {
      const next = this.#step(a, event, ts, { user: why.user ?? SYSTEM, reason: why.reason ? `${reason}: ${why.reason}` : reason });
      if (next) a = next;
      return next !== null;
    };
    let changed = false;
    if (want?.state === 'out-of-service') {
      if (a.state !== 'out-of-service') changed = go({ type: 'remove-from-service' }, want.why);
    } else {
      if (a.state === 'out-of-service') changed = go({ type: 'return-to-service' }, 'returned to service');
      if (want?.state === 'suppressed-by-design') {
        if (a.state !== 'suppressed-by-design' && !isAlarmClosed(a.state)) changed = go({ type: 'suppress' }, want.why) || changed;
      } else if (a.state === 'suppressed-by-design') changed = go({ type: 'unsuppress' }, `no longer ${a.hiddenBy ?? 'suppressed'}`) || changed;
    }
    if (!changed) return false;
    if (a.state === 'out-of-service' || a.state === 'suppressed-by-design') {
      a.hiddenBy = want!.why;
      // Hidden by design or out of service: a shelve is superseded.
      delete a.shelvedBy;
      delete a.shelvedUntil;
      delete a.shelveReason;
    } else delete a.hiddenBy;
    this.#commit(a);
    return true;
  }

  #hide(alarm: Alarm): Hide {
    const mode = this.#modes.get(alarm.asset);
    if (mode?.outOfService) return { state: 'out-of-service', why: `out of service${mode.reason ? ` (${mode.reason})` : ''}` };
    if (mode?.maintenance) return { state: 'suppressed-by-design', why: 'maintenance' };
    const device = alarm.point ? this.#pointDevice.get(alarm.point) : undefined;
    if (!alarm.device && device && this.#commLost.has(device)) return { state: 'suppressed-by-design', why: `comm-loss:${device}` };
    return null;
  }

  #unshelve(alarm: Alarm, now: number, why: Why): Alarm | string {
    const next = this.#stepOrRefuse(alarm, { type: 'unshelve' }, now, why);
    if (typeof next === 'string') return next;
    delete next.shelvedBy;
    delete next.shelvedUntil;
    delete next.shelveReason;
    this.#commit(next);
    return next;
  }

  #stepOrRefuse(alarm: Alarm, event: AlarmEvent, ts: number, why: Why): Alarm | string {
    const verdict = alarmTransition(alarm, event);
    if (!verdict.ok) return verdict.reason;
    return this.#step(alarm, event, ts, why) ?? { ...alarm };
  }

  /** Runs the state machine and stores the transition; null when refused or nothing changed. */
  #step(alarm: Alarm, event: AlarmEvent, ts: number, why: Why): Alarm | null {
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
  #commit(alarm: Alarm): void {
    const annunciated = ANNUNCIATED_STATES.includes(alarm.state);
    if (annunciated && !alarm.ticketId && this.#tickets) {
      // The operator sees it now (raised, or no longer hidden): it gets its ticket.
      const ticket = this.#tickets.onNewAlarm(alarm);
      alarm.ticketId = ticket.id;
      this.#changes.tickets.push(ticket);
    }
    if (alarm.state === 'unacknowledged-active' && !this.#annunciatedAt.has(alarm.key)) this.#annunciatedAt.set(alarm.key, this.#now());
    if (alarm.state !== 'unacknowledged-active') this.#annunciatedAt.delete(alarm.key);
    this.#store.saveAlarm(alarm);
    if (isAlarmClosed(alarm.state)) this.#open.delete(alarm.key);
    else this.#open.set(alarm.key, alarm);
    this.#changes.alarms.push(alarm);
  }

  /** Chattering (ISA-18.2, EEMUA 191): `chatterCount` activations of one alarm within `chatterWindowS`, on sample time. */
  #noteActivation(key: string, ts: number): void {
    const window = this.#cfg.chatterWindowS * 1000;
    const list = (this.#activations.get(key) ?? []).filter((t) => t > ts - window);
    list.push(ts);
    this.#activations.set(key, list);
    if (list.length >= this.#cfg.chatterCount) {
      if (!this.#chattering.has(key)) this.#log.warn({ key, activations: list.length }, 'chattering alarm');
      this.#chattering.set(key, { activations: list.length, lastAt: ts });
      if (this.#chattering.size > 200) this.#chattering.delete(this.#chattering.keys().next().value!);
    }
  }

  #isChattering(key: string): boolean {
    return (this.#activations.get(key)?.length ?? 0) >= this.#cfg.chatterCount;
  }

  /** Flood (ISA-18.2, EEMUA 191): `floodCount` new alarms within `floodWindowMin` in one operator area; true while it floods. */
  #noteRaise(area: string, ts: number): boolean {
    const window = this.#cfg.floodWindowMin * MINUTE;
    const list = (this.#raises.get(area) ?? []).filter((t) => t > ts - window);
    list.push(ts);
    this.#raises.set(area, list);
    if (list.length >= this.#cfg.floodCount) {
      if (!this.#floodSince.has(area)) {
        this.#floodSince.set(area, ts);
        this.#log.warn({ area, alarms: list.length }, 'alarm flood');
      }
      return true;
    }
    if (this.#floodSince.delete(area)) this.#log.info({ area }, 'alarm flood over');
    return false;
  }
}
