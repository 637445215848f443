/**
 * Tickets from alarms (DESIGN.md, "Ticket model"): one open ticket per asset and condition, routed
 * by skill, shift and load, with SLA due times from the site's service levels.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  indexSite,
  isOnShift,
  ticketEventFor,
  ticketTransition,
  type Alarm,
  type Person,
  type Site,
  type Ticket,
  type TicketEvent,
  type TicketStatus,
} from '@vigil/model';
import type { SqliteStateStore } from './state-store.ts';
import { done, fail, type Outcome } from './outcome.ts';

const MINUTE = 60_000;

export interface TicketEngineOptions {
  site: Site;
  store: SqliteStateStore;
  log: Logger;
  /** Wall clock: SLA clocks and shifts run on it, not on sample time. */
  now?: () => number;
}

export class TicketEngine {
  readonly #site: Site;
  readonly #store: SqliteStateStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #assets: ReturnType<typeof indexSite>['assets'];
  readonly #shifts: Map<string, Site['roster']['shifts'][number]>;

  constructor(opts: TicketEngineOptions) {
    this.#site = opts.site;
    this.#store = opts.store;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#assets = indexSite(opts.site).assets;
    this.#shifts = new Map(opts.site.roster.shifts.map((s) => [s.id, s]));
  }

  /** A new alarm occurrence: a repeat of an open ticket for the same asset and category, or a new routed ticket. */
  onNewAlarm(alarm: Alarm): Ticket {
    const now = this.#now();
    const condition = `${alarm.asset}:${alarm.category}`;
    const open = this.#store.openTicketFor(condition);
    if (open) {
      const moved = ticketTransition(open.status, { type: 'repeat' });
      if (moved.ok) {
        const ticket: Ticket = { ...open, count: open.count + 1, alarmIds: [...open.alarmIds, alarm.id], updatedAt: now };
        this.#store.saveTicket(ticket);
        this.#store.addTicketHistory({ ticketId: ticket.id, ts: now, from: open.status, to: ticket.status, event: 'repeat', reason: `alarm ${alarm.id}: ${alarm.explanation.rule}` });
        return ticket;
      }
    }

    const sla = this.#site.sla[`p${alarm.priority}`];
    let ticket: Ticket = {
      id: randomUUID(),
      number: this.#store.nextTicketNumber(),
      site: this.#site.site.id,
      department: alarm.department,
      category: alarm.category,
      priority: alarm.priority,
      status: 'open',
      asset: alarm.asset,
      condition,
      title: alarm.message,
      count: 1,
      alarmIds: [alarm.id],
      evidence: alarm.explanation,
      responseDue: now + sla.respondMin * MINUTE,
      resolveDue: now + sla.resolveMin * MINUTE,
      createdAt: now,
      updatedAt: now,
    };
    this.#store.saveTicket(ticket);
    this.#store.addTicketHistory({ ticketId: ticket.id, ts: now, from: null, to: 'open', event: 'create', reason: `alarm ${alarm.id}: ${alarm.explanation.rule}` });

    const choice = this.route(ticket, now);
    if (!choice) {
      this.#log.warn({ ticket: ticket.number, department: ticket.department, asset: ticket.asset, category: ticket.category }, 'nobody on the roster fits this ticket: it stays open');
      return ticket;
    }
    const assigned = ticketTransition(ticket.status, { type: 'assign', assignee: choice.person.username });
    if (assigned.ok) {
      ticket = { ...ticket, status: assigned.status, assignee: choice.person.username };
      this.#store.saveTicket(ticket);
      this.#store.addTicketHistory({ ticketId: ticket.id, ts: now, from: 'open', to: assigned.status, event: 'assign', assignee: choice.person.username, reason: choice.why });
    }
    return ticket;
  }

  /**
   * Who gets a ticket: people of its department whose skills name the asset class or the category;
   * those on shift first, then the fewest open tickets, then roster order.
   */
  route(ticket: Pick<Ticket, 'department' | 'asset' | 'category'>, now = this.#now()): { person: Person; why: string } | undefined {
    const assetClass = this.#assets.get(ticket.asset)?.class;
    const load = this.#store.openTicketCounts();
    const tz = this.#site.site.timezone;
    const candidates = this.#site.roster.people
      .map((person, order) => ({
        person,
        order,
        onShift: person.shifts.some((id) => {
          const shift = this.#shifts.get(id);
          return shift !== undefined && isOnShift(shift, now, tz);
        }),
        open: load.get(person.username) ?? 0,
      }))
      .filter(({ person }) => person.department === ticket.department && ((assetClass !== undefined && person.skills.includes(assetClass)) || person.skills.includes(ticket.category)))
      .sort((a, b) => Number(b.onShift) - Number(a.onShift) || a.open - b.open || a.order - b.order);
    const best = candidates[0];
    if (!best) return undefined;
    return { person: best.person, why: `${best.onShift ? 'on shift' : 'nobody skilled on shift'}, ${best.open} open ticket(s)` };
  }

  /** An operator's move (accept, start, resolve, close, cancel) through the ticket state machine. */
  move(ticketId: string, to: TicketStatus, user: string, reason?: string): Outcome<Ticket> {
    const ticket = this.#store.ticket(ticketId);
    if (!ticket) return fail('not-found', `no ticket ${ticketId}`);
    const type = ticketEventFor(to);
    if (type === null || type === 'assign' || type === 'repeat') return fail('invalid', `a ticket cannot be moved to ${to}`);
    const moved = ticketTransition(ticket.status, { type } as TicketEvent);
    if (!moved.ok) return fail('conflict', moved.reason);
    const now = this.#now();
    const next: Ticket = { ...ticket, status: moved.status, updatedAt: now };
    this.#store.saveTicket(next);
    this.#store.addTicketHistory({ ticketId: ticket.id, ts: now, from: ticket.status, to: moved.status, event: type, user, ...(reason ? { reason } : {}) });
    return done(next);
  }
}
