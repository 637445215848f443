import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Alarm, type Site, type Ticket, type ThresholdDetector as ThresholdConfig } from '@vigil/model';
import { tempDir } from '../testing/index.ts';
import { SqliteStateStore } from './state-store.ts';
import { AlarmEngine } from './alarm-engine.ts';
import { TicketEngine } from './ticket-engine.ts';
import { DetectorSet } from './detectors/index.ts';
import { openStateReader } from './reader.ts';

const log = pino({ level: 'silent' });
/** 10:00 and 22:00 in Asia/Shanghai (UTC+8): the demo's day and night shifts. */
const DAY = Date.UTC(2026, 0, 15, 2, 0);
const NIGHT = Date.UTC(2026, 0, 15, 14, 0);

describe('AlarmEngine and TicketEngine', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SqliteStateStore;
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    dir = tempDir();
    store = SqliteStateStore.open(dir.path);
    clock = DAY;
  });
  afterEach(() => {
    store.close();
    dir.remove();
  });

  function engines(site: Site) {
    const tickets = new TicketEngine({ site, store, log, now });
    const alarms = new AlarmEngine({ site, store, tickets, log, now });
    const detectors = new DetectorSet(site);
    /** Feeds one value of a pump's discharge pressure at sample time ts through its detectors. */
    const feed = (pump: 1 | 2, ts: number, value: number) => {
      const out = { alarms: [] as Alarm[], tickets: [] as Ticket[] };
      for (const d of detectors.onSample({ point: `pump-b1-${pump}.discharge_pressure`, ts, value, quality: 'good' })) {
        const c = store.transaction(() => alarms.onDecision(d));
        out.alarms.push(...c.alarms);
        out.tickets.push(...c.tickets);
      }
      return out;
    };
    return { tickets, alarms, feed };
  }

  it('raises an alarm with its explanation and a ticket routed to the technician on shift', () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    const { feed } = engines(site);
    expect(feed(1, 1000, 0.5).alarms).toEqual([]);
    const changes = feed(1, 4000, 0.45);
    const alarm = changes.alarms[0]!;
    expect(alarm).toMatchObject({
      key: 'low-discharge-pressure-1:pump-b1-1.discharge_pressure:lo',
      state: 'unacknowledged-active',
      conditionActive: true,
      raisedAt: 4000,
      area: 'tower',
      asset: 'pump-b1-1',
      priority: 2,
      department: 'technical',
      category: 'pump-low-pressure',
      message: 'Booster pump 1 discharge pressure low',
    });
    expect(alarm.procedure).toContain('cavitation');
    expect(alarm.explanation.rule).toBe(`discharge_pressure < 0.6 MPa for ${(site.detectors[0] as ThresholdConfig).onDelayMs / 1000} s`);
    expect(alarm.explanation.values.map((v) => v.value)).toEqual([0.5, 0.45]);

    const ticket = changes.tickets[0]!;
    expect(alarm.ticketId).toBe(ticket.id);
    expect(ticket).toMatchObject({
      number: 'T-000001',
      status: 'assigned',
      assignee: 'technician',
      condition: 'pump-b1-1:pump-low-pressure',
      title: 'Booster pump 1 discharge pressure low',
      count: 1,
      alarmIds: [alarm.id],
      evidence: alarm.explanation,
      // demo SLA p2: respond 30 min, resolve 240 min, from the wall clock
      responseDue: DAY + 30 * 60_000,
      resolveDue: DAY + 240 * 60_000,
    });
    expect(store.ticketHistory(ticket.id).map((h) => `${h.from}->${h.to}:${h.event}`)).toEqual(['null->open:create', 'open->assigned:assign']);
  });

  it('routes to the night technician at night', () => {
    clock = NIGHT;
    const { feed } = engines(loadSiteFile(DEMO_SITE_FILE));
    feed(1, 0, 0.5);
    expect(feed(1, 3000, 0.5).tickets[0]?.assignee).toBe('technician2');
  });

  it('prefers on shift, then the fewest open tickets, then roster order', () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    // Both on the day shift, plus an off-shift pump specialist with no load at all.
    site.roster.people = [
      { username: 'offshift', name: 'Off Shift', department: 'technical', skills: ['pump'], shifts: ['night'] },
      { username: 'technician', name: 'Zhang Wei', department: 'technical', skills: ['pump'], shifts: ['day'] },
      { username: 'technician2', name: 'Li Na', department: 'technical', skills: ['pump-low-pressure'], shifts: ['day'] },
      { username: 'guard', name: 'Guard', department: 'security', skills: ['pump'], shifts: ['day'] },
    ];
    const { feed } = engines(site);
    feed(1, 0, 0.5);
    expect(feed(1, 3000, 0.5).tickets[0]?.assignee).toBe('technician'); // roster order among equals on shift
    feed(2, 0, 0.5);
    expect(feed(2, 3000, 0.5).tickets[0]?.assignee).toBe('technician2'); // technician has one open ticket
  });

  it('leaves a ticket open when nobody fits', () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    site.roster.people = [{ username: 'sparky', name: 'Sparky', department: 'technical', skills: ['electrical'], shifts: ['day'] }];
    const { feed } = engines(site);
    feed(1, 0, 0.5);
    const ticket = feed(1, 3000, 0.5).tickets[0]!;
    expect(ticket.status).toBe('open');
    expect(ticket.assignee).toBeUndefined();
  });

  it('follows the state machine through clear and ack, then a new occurrence repeats the open ticket', () => {
    const { feed, alarms } = engines(loadSiteFile(DEMO_SITE_FILE));
    feed(1, 0, 0.5);
    const first = feed(1, 3000, 0.5).alarms[0]!;

    const cleared = feed(1, 5000, 0.7).alarms[0]!; // 0.7 ≥ 0.6 + 0.05 deadband
    expect(cleared.state).toBe('unacknowledged-returned');
    expect(cleared.conditionActive).toBe(false);

    const acked = alarms.ack(first.id, 'operator', 'seen');
    expect(acked.ok && acked.value.state).toBe('normal');
    expect(acked.ok && acked.value.ackedBy).toBe('operator');
    expect(alarms.ack(first.id, 'operator')).toMatchObject({ ok: false, code: 'conflict' });
    expect(alarms.ack('nope', 'operator')).toMatchObject({ ok: false, code: 'not-found' });

    // Closed: the next activation is a new occurrence, and the open ticket counts it.
    feed(1, 10_000, 0.5);
    const again = feed(1, 13_000, 0.5);
    const second = again.alarms[0]!;
    expect(second.id).not.toBe(first.id);
    expect(again.tickets[0]).toMatchObject({ number: 'T-000001', count: 2, alarmIds: [first.id, second.id] });
    expect(store.tickets({ statuses: ['open', 'assigned'] })).toHaveLength(1);

    expect(store.alarmHistory(first.id).map((t) => `${t.from}->${t.to}:${t.event}:${t.user ?? ''}`)).toEqual([
      'normal->unacknowledged-active:activate:',
      'unacknowledged-active->unacknowledged-returned:clear:',
      'unacknowledged-returned->normal:ack:operator',
    ]);
  });

  it('an acknowledged alarm returns to normal on clear and stays closed', () => {
    const { feed, alarms } = engines(loadSiteFile(DEMO_SITE_FILE));
    feed(1, 0, 0.5);
    const alarm = feed(1, 3000, 0.5).alarms[0]!;
    expect(alarms.ack(alarm.id, 'operator')).toMatchObject({ ok: true, value: { state: 'acknowledged-active' } });
    expect(feed(1, 4000, 0.8).alarms[0]?.state).toBe('normal');
    expect(alarms.openOccurrence(alarm.key)).toBeUndefined();
  });

  it('ticket moves follow the ticket state machine', () => {
    const { feed, tickets, alarms } = engines(loadSiteFile(DEMO_SITE_FILE));
    feed(1, 0, 0.5);
    const { tickets: [ticket], alarms: [alarm] } = feed(1, 3000, 0.5);
    if (!ticket || !alarm) throw new Error('expected an alarm and a ticket');
    expect(tickets.move(ticket.id, 'resolved', 'technician')).toMatchObject({ ok: false, code: 'conflict' });
    expect(tickets.move(ticket.id, 'accepted', 'technician')).toMatchObject({ ok: true, value: { status: 'accepted' } });
    expect(tickets.move(ticket.number, 'in-progress', 'technician')).toMatchObject({ ok: true, value: { status: 'in-progress' } });
    expect(tickets.move(ticket.id, 'resolved', 'technician', 'replaced the seal')).toMatchObject({ ok: true, value: { status: 'resolved' } });
    expect(tickets.move('missing', 'closed', 'technician')).toMatchObject({ ok: false, code: 'not-found' });
    expect(store.ticketHistory(ticket.id).at(-1)).toMatchObject({ from: 'in-progress', to: 'resolved', user: 'technician', reason: 'replaced the seal' });

    // Resolved is not open: the next occurrence opens a new ticket.
    feed(1, 4000, 0.8);
    expect(alarms.ack(alarm.id, 'operator').ok).toBe(true);
    feed(1, 5000, 0.5);
    expect(feed(1, 8000, 0.5).tickets[0]).toMatchObject({ number: 'T-000002', count: 1 });
  });

  it('the reader sees what the engines stored, newest first', () => {
    const { feed } = engines(loadSiteFile(DEMO_SITE_FILE));
    feed(1, 0, 0.5);
    feed(1, 3000, 0.5);
    feed(2, 1000, 0.5);
    feed(2, 4000, 0.5);
    const reader = openStateReader(dir.path);
    try {
      expect(reader.alarms().map((a) => a.asset)).toEqual(['pump-b1-2', 'pump-b1-1']);
      expect(reader.alarms({ states: ['normal'] })).toEqual([]);
      expect(reader.tickets({ department: 'technical' }).map((t) => t.number)).toEqual(['T-000002', 'T-000001']);
      expect(reader.tickets({ assignee: 'technician', statuses: ['assigned'] })).toHaveLength(2);
      expect(reader.tickets({ department: 'security' })).toEqual([]);
    } finally {
      reader.close();
    }
  });
});
