/** The alarm engine over a real SQLite store: ISA-18.2 operator actions, suppression by design, floods, chattering, re-alarm — and a property test that no sequence loses or strands an alarm. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pino from 'pino';
import { ANNUNCIATED_STATES, DEMO_SITE_FILE, loadSiteFile } from '@vigil/model';
import { tempDir } from '../testing/index.ts';
import { SqliteStateStore } from './state-store.ts';
import { AlarmEngine } from './alarm-engine.ts';
import { TicketEngine } from './ticket-engine.ts';
import type { AlarmSpec, DetectorDecision } from './detectors/index.ts';

const log = pino({ level: 'silent' });
const site = loadSiteFile(DEMO_SITE_FILE);
const T0 = Date.UTC(2026, 0, 15, 2, 0); // 10:00 in Shanghai: the day shift
const MIN = 60_000;

const spec = (over: Partial<AlarmSpec> & { key: string }): AlarmSpec => ({
  detector: over.key.split(':')[0]!,
  asset: 'pump-b1-1',
  point: 'pump-b1-1.discharge_pressure',
  priority: 2,
  department: 'technical',
  category: 'pump-low-pressure',
  message: 'Low pressure',
  procedure: 'Start the standby pump.',
  latching: false,
  ...over,
});
const PRESSURE = spec({ key: 'low:pump-b1-1.discharge_pressure:lo' });
const FIRE = spec({ key: 'fire:pump-b1-1.fault:fire', point: 'pump-b1-1.fault', latching: true, priority: 1, category: 'fire' });
const COMM = spec({ key: 'comm:booster-1', point: undefined, device: 'booster-1', category: 'comm-loss' });
delete (COMM as { point?: string }).point;
const decide = (alarm: AlarmSpec, action: 'activate' | 'clear', ts: number): DetectorDecision => ({ action, alarm, ts, explanation: { rule: `${action} rule`, values: [{ ts, value: 1 }] } });

function setup(dir: string, clock: { now: number }) {
  const store = SqliteStateStore.open(dir);
  const tickets = new TicketEngine({ site, store, log, now: () => clock.now });
  const engine = new AlarmEngine({ site, store, tickets, log, now: () => clock.now });
  const feed = (a: AlarmSpec, action: 'activate' | 'clear', ts = clock.now) => store.transaction(() => engine.onDecision(decide(a, action, ts)));
  return { store, engine, feed };
}

describe('AlarmEngine', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: ReturnType<typeof setup>;
  const clock = { now: T0 };
  beforeEach(() => {
    dir = tempDir();
    clock.now = T0;
    env = setup(dir.path, clock);
  });
  afterEach(() => {
    env.store.close();
    dir.remove();
  });

  it('shelves with reason and expiry, refuses a shelve without a future expiry within the limit, and unshelves on wall time', () => {
    const { engine, feed, store } = env;
    const [alarm] = feed(PRESSURE, 'activate').alarms;
    expect(alarm).toMatchObject({ state: 'unacknowledged-active', procedure: 'Start the standby pump.' });
    expect(engine.shelve(alarm!.id, 'operator', 'sensor being replaced', T0 - 1)).toMatchObject({ ok: false, code: 'invalid' });
    expect(engine.shelve(alarm!.id, 'operator', 'too long', T0 + 13 * 60 * MIN)).toMatchObject({ ok: false, code: 'invalid' });
    const shelved = engine.shelve(alarm!.id, 'operator', 'sensor being replaced', T0 + 30 * MIN);
    expect(shelved).toMatchObject({ ok: true, value: { state: 'shelved', shelvedBy: 'operator', shelvedUntil: T0 + 30 * MIN, shelveReason: 'sensor being replaced' } });
    clock.now = T0 + 29 * MIN;
    expect(engine.tick().alarms).toEqual([]);
    clock.now = T0 + 30 * MIN;
    const [back] = engine.tick().alarms;
    expect(back).toMatchObject({ id: alarm!.id, state: 'unacknowledged-active' });
    expect(back!.shelvedUntil).toBeUndefined();
    expect(store.alarmHistory(alarm!.id).map((t) => `${t.event}:${t.user ?? ''}:${t.reason ?? ''}`)).toEqual([
      'activate::activate rule',
      `shelve:operator:sensor being replaced (until ${new Date(T0 + 30 * MIN).toISOString()})`,
      'unshelve:system:shelving expired',
    ]);
  });

  it('suppresses by design in maintenance: open alarms move, new ones are raised hidden and get their ticket when shown', () => {
    const { engine, feed } = env;
    const [open] = feed(PRESSURE, 'activate').alarms;
    const on = engine.setAssetMode('pump-b1-1', 'maintenance', true, 'engineer', 'seal replacement');
    expect(on).toMatchObject({ ok: true, value: { mode: { maintenance: true, changedBy: 'engineer' }, alarms: [{ id: open!.id, state: 'suppressed-by-design', hiddenBy: 'maintenance' }] } });
    expect(engine.setAssetMode('pump-b1-1', 'maintenance', true, 'engineer')).toMatchObject({ ok: false, code: 'conflict' });
    const fire = feed(FIRE, 'activate');
    expect(fire.alarms[0]).toMatchObject({ state: 'suppressed-by-design' });
    expect(fire.tickets).toEqual([]);
    const off = engine.setAssetMode('pump-b1-1', 'maintenance', false, 'engineer');
    expect(off.ok && off.value.alarms.map((a) => a.state)).toEqual(['unacknowledged-active', 'unacknowledged-active']);
    expect(engine.takeTickets().length).toBeGreaterThan(0);
    expect(engine.openOccurrence(FIRE.key)?.ticketId).toBeDefined();
    expect(engine.setAssetMode('nope', 'out-of-service', true, 'engineer')).toMatchObject({ ok: false, code: 'not-found' });
  });

  it('out of service hides an asset’s alarms until returned to service', () => {
    const { engine, feed } = env;
    const [a] = feed(PRESSURE, 'activate').alarms;
    expect(engine.setAssetMode('pump-b1-1', 'out-of-service', true, 'engineer', 'decommissioned')).toMatchObject({ ok: true, value: { alarms: [{ state: 'out-of-service' }] } });
    feed(PRESSURE, 'clear');
    const back = engine.setAssetMode('pump-b1-1', 'out-of-service', false, 'engineer');
    expect(back).toMatchObject({ ok: true, value: { alarms: [{ id: a!.id, state: 'normal' }] } });
    expect(engine.openOccurrence(PRESSURE.key)).toBeUndefined();
  });

  it('one communication alarm stands for the device: its points’ alarms are suppressed until it clears', () => {
    const { feed } = env;
    feed(PRESSURE, 'activate');
    const lost = feed(COMM, 'activate');
    expect(lost.alarms.map((a) => `${a.key}:${a.state}:${a.hiddenBy ?? ''}`)).toEqual(['comm:booster-1:unacknowledged-active:', `${PRESSURE.key}:suppressed-by-design:comm-loss:booster-1`]);
    expect(feed(FIRE, 'activate').alarms[0]?.state).toBe('suppressed-by-design');
    const back = feed(COMM, 'clear');
    expect(back.alarms.map((a) => `${a.key}:${a.state}`)).toEqual(['comm:booster-1:unacknowledged-returned', `${PRESSURE.key}:unacknowledged-active`, `${FIRE.key}:unacknowledged-active`]);
  });

  it('a latched fire alarm needs ack and reset, and only once its condition is gone', () => {
    const { engine, feed } = env;
    const [fire] = feed(FIRE, 'activate').alarms;
    expect(feed(FIRE, 'clear').alarms[0]).toMatchObject({ state: 'unacknowledged-active', conditionActive: false });
    expect(engine.reset(fire!.id, 'operator')).toMatchObject({ ok: false, code: 'conflict' });
    expect(engine.ack(fire!.id, 'operator')).toMatchObject({ ok: true, value: { state: 'acknowledged-active' } });
    expect(engine.reset(fire!.id, 'operator', 'zone inspected, detector cleaned')).toMatchObject({ ok: true, value: { state: 'normal' } });
    expect(engine.comment(fire!.id, 'operator', 'dust from building works')).toMatchObject({ ok: true });
    expect(env.store.alarmHistory(fire!.id).map((t) => `${t.from}->${t.to}:${t.event}`).slice(-2)).toEqual(['acknowledged-active->normal:reset', 'normal->normal:comment']);
  });

  it('flags chattering (3 activations in 60 s) and floods (10 new alarms in 10 min per area)', () => {
    const { engine, feed } = env;
    for (const dt of [0, 20_000, 40_000]) {
      feed(PRESSURE, 'activate', T0 + dt);
      feed(PRESSURE, 'clear', T0 + dt + 1000);
    }
    expect(engine.openOccurrence(PRESSURE.key)).toMatchObject({ chattering: true, activations: 3 });
    expect(engine.alarmSystem().chattering).toEqual([{ key: PRESSURE.key, activations: 3, lastAt: T0 + 40_000 }]);

    const raised = Array.from({ length: 10 }, (_, i) => feed(spec({ key: `flood:${i}`, point: `pump-b1-1.p${i}` }), 'activate', T0 + i * MIN).alarms[0]!);
    expect(raised.map((a) => Boolean(a.flood))).toEqual([false, false, false, false, false, false, false, false, true, true]);
    expect(engine.alarmSystem().floods).toEqual([{ area: 'tower', since: T0 + 8 * MIN, count: 11 }]); // the pressure alarm raised above counts too
  });

  it('re-alarms an alarm still unacknowledged after reAlarmMin', () => {
    const { engine, feed, store } = env;
    const [a] = feed(PRESSURE, 'activate').alarms;
    clock.now = T0 + 14 * MIN;
    expect(engine.tick().alarms).toEqual([]);
    clock.now = T0 + 15 * MIN;
    expect(engine.tick().alarms[0]).toMatchObject({ id: a!.id, reAlarms: 1, reAlarmedAt: T0 + 15 * MIN });
    expect(store.alarmHistory(a!.id).at(-1)).toMatchObject({ event: 're-alarm', user: 'system' });
    engine.ack(a!.id, 'operator');
    clock.now = T0 + 60 * MIN;
    expect(engine.tick().alarms).toEqual([]);
  });
});

// ISA-18.2: whatever the process, the operators and the design do, (1) an alarm whose condition is
// present always has an open occurrence that remembers it, (2) it is on the console unless something
// deliberately hides it, (3) the engine's view and the store agree, and (4) once the process is
// normal and nothing hides it any more, the operator's ack and reset close every occurrence.
describe('AlarmEngine, for any sequence of events', () => {
  const SPECS = [PRESSURE, FIRE, COMM];
  const op = fc.oneof(
    fc.record({ kind: fc.constantFrom('activate', 'clear', 'ack', 'shelve', 'unshelve', 'reset'), alarm: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constantFrom('maintenance', 'out-of-service'), on: fc.boolean() }),
    fc.record({ kind: fc.constant('wait'), minutes: fc.integer({ min: 1, max: 120 }) }),
  );

  it('loses no alarm and leaves none stuck', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const dir = tempDir();
        const clock = { now: T0 };
        const { store, engine, feed } = setup(dir.path, clock);
        const condition = [false, false, false];
        const modes = { maintenance: false, 'out-of-service': false };
        const idOf = (i: number) => engine.openOccurrence(SPECS[i]!.key)?.id ?? 'none';
        const check = () => {
          const stored = new Map(store.unfinishedAlarms().map((a) => [a.key, a]));
          SPECS.forEach((s, i) => {
            const open = engine.openOccurrence(s.key);
            expect(stored.get(s.key)).toEqual(open);
            if (condition[i]) expect(open?.conditionActive).toBe(true);
            const hidden = modes.maintenance || modes['out-of-service'] || (i !== 2 && condition[2]);
            if (open?.conditionActive && !hidden && open.state !== 'shelved') expect(ANNUNCIATED_STATES).toContain(open.state);
          });
        };
        try {
          for (const o of ops) {
            clock.now += 1000;
            if (o.kind === 'activate' || o.kind === 'clear') {
              if (condition[o.alarm] !== (o.kind === 'activate')) feed(SPECS[o.alarm]!, o.kind);
              condition[o.alarm] = o.kind === 'activate';
            } else if (o.kind === 'ack') engine.ack(idOf(o.alarm), 'operator');
            else if (o.kind === 'shelve') engine.shelve(idOf(o.alarm), 'operator', 'test', clock.now + 30 * MIN);
            else if (o.kind === 'unshelve') engine.unshelve(idOf(o.alarm), 'operator');
            else if (o.kind === 'reset') engine.reset(idOf(o.alarm), 'operator');
            else if (o.kind === 'wait') {
              clock.now += o.minutes * MIN;
              store.transaction(() => engine.tick());
            } else if ('on' in o) {
              engine.setAssetMode('pump-b1-1', o.kind, o.on, 'engineer');
              modes[o.kind] = o.on;
            }
            check();
          }
          // The process returns to normal and nothing hides the alarms any more …
          SPECS.forEach((s, i) => condition[i] && feed(s, 'clear'));
          for (const m of ['maintenance', 'out-of-service'] as const) if (modes[m]) engine.setAssetMode('pump-b1-1', m, false, 'engineer');
          clock.now += 13 * 60 * MIN;
          engine.tick();
          // … then the operator acknowledges and resets what is left: nothing stays open.
          for (let round = 0; round < 2; round++)
            for (const a of engine.openAlarms()) {
              engine.ack(a.id, 'operator');
              engine.reset(a.id, 'operator');
            }
          expect(engine.openAlarms()).toEqual([]);
          expect(store.unfinishedAlarms()).toEqual([]);
        } finally {
          store.close();
          dir.remove();
        }
      }),
      { numRuns: 150 },
    );
  });
});
