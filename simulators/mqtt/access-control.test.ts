/** The access-control bridge in simulated time: traffic, faults, determinism (no broker needed here). */
import { describe, expect, it } from 'vitest';
import { DEMO_SITE_FILE, loadSiteFile, type MqttDevice } from '@vigil/model';
import type { VendorPublisher } from '../device.ts';
import { AccessControlBridge } from './access-control.ts';
import { BridgeOutput, LocalTime } from './bridge.ts';

const site = loadSiteFile(DEMO_SITE_FILE);
const device = site.devices.find((d) => d.id === 'access-bridge') as MqttDevice;
const local = new LocalTime(site.site.timezone);
/** Tuesday 4 March 2025, 00:00 in Shanghai. */
const MIDNIGHT = Date.UTC(2025, 2, 3, 16, 0);
const H = 3_600_000;

/** A broker stand-in that keeps what the bridge publishes, in order. */
function recorder() {
  const messages: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];
  const vendor: VendorPublisher = {
    connected: true,
    publish: (topic, payload, opts) => messages.push({ topic, body: JSON.parse(String(payload)), retain: opts?.retain ?? false }),
  };
  return { vendor, messages, events: (type?: string) => messages.filter((m) => !m.retain && (!type || m.body.type === type)) };
}

function bridge(start: number, seed = 7) {
  const rec = recorder();
  const out = new BridgeOutput(rec.vendor, device.topic);
  return { ...rec, out, bridge: new AccessControlBridge({ site, device, seed, start, out }) };
}

/** Steps from `from` to `to` every `everyMs` (the runner's cadence at some speed). */
function run(b: AccessControlBridge, from: number, to: number, everyMs: number) {
  for (let t = from; t < to; t += everyMs) b.step(t);
  b.step(to);
}

describe('access-control bridge', () => {
  it('publishes the same events for the same seed, whatever the step cadence', () => {
    const a = bridge(MIDNIGHT + 7 * H);
    const b = bridge(MIDNIGHT + 7 * H);
    run(a.bridge, MIDNIGHT + 7 * H, MIDNIGHT + 9 * H, 1000); // ×4 real time
    run(b.bridge, MIDNIGHT + 7 * H, MIDNIGHT + 9 * H, 150_000); // ×600
    expect(a.events().length).toBeGreaterThan(100);
    expect(b.events()).toEqual(a.events());
    const c = bridge(MIDNIGHT + 7 * H, 8);
    run(c.bridge, MIDNIGHT + 7 * H, MIDNIGHT + 9 * H, 150_000);
    expect(c.events()).not.toEqual(a.events());
  });

  it('follows occupancy in the site time zone: busy at 08:00, quiet at 03:00', () => {
    const { bridge: b, events } = bridge(MIDNIGHT);
    run(b, MIDNIGHT, MIDNIGHT + 10 * H, 60_000);
    const swipes = events().filter((m) => String(m.body.type).startsWith('access'));
    const inHour = (h: number) => swipes.filter((m) => Math.floor(local.hour(m.body.ts as number)) === h).length;
    expect(inHour(8)).toBeGreaterThan(10 * Math.max(1, inHour(3)));
    // Card ids are pseudonyms: a hash, never a real-looking card number.
    expect(swipes.every((m) => /^card-[0-9a-f]{8}$/.test(m.body.card as string))).toBe(true);
    expect(new Set(swipes.map((m) => m.body.accessEvent))).toEqual(new Set([1, 129, 136, 152]));
  });

  it('publishes a retained state for every door, and the bridge status', () => {
    const { bridge: b, messages } = bridge(MIDNIGHT);
    b.step(MIDNIGHT);
    const states = messages.filter((m) => m.retain && /\/door\/[^/]+\/state$/.test(m.topic));
    expect(states).toHaveLength(60);
    expect(states[0]).toMatchObject({ topic: 'vendor/acme-access/demo/door/door-b2-01/state', body: { door: 'door-b2-01', open: false, locked: true, alarmState: 0, readerOnline: true } });
    expect(messages.find((m) => m.topic.endsWith('/bridge/status'))?.body).toMatchObject({ online: true, doors: 60, checkpoints: 22 });
  });

  it('door forced: forced-open (alarm state 3) until cleared', () => {
    const t0 = MIDNIGHT + 3 * H;
    const { bridge: b, events, messages } = bridge(t0);
    b.inject('door-forced', { door: 'door-b1-01' }, t0 + 1000);
    b.step(t0 + 60_000);
    expect(events('door-forced-open')).toEqual([expect.objectContaining({ topic: 'vendor/acme-access/demo/door/door-b1-01/event', body: expect.objectContaining({ ts: t0 + 1000, alarmState: 3, alarmStateText: 'forced-open' }) })]);
    const lastState = () => messages.filter((m) => m.topic.endsWith('door-b1-01/state')).at(-1)!.body;
    expect(lastState()).toMatchObject({ alarmState: 3, open: false }); // swung shut, alarm still on
    expect(b.faults().find((f) => f.name === 'door-forced')?.active).toBe(true);
    b.clear('door-forced', t0 + 120_000);
    b.step(t0 + 120_000);
    expect(events('door-forced-open-cancelled')[0]?.body).toMatchObject({ ts: t0 + 120_000, alarmState: 0 });
    expect(lastState()).toMatchObject({ alarmState: 0 });
  });

  it('held open: a grant, pre-alarm at 10 s, door-open-too-long (2) at 30 s, cancelled when it closes', () => {
    const t0 = MIDNIGHT + 10 * H;
    const { bridge: b, messages } = bridge(t0);
    b.inject('held-open', { door: 'door-f05-01' }, t0);
    b.step(t0 + 45_000);
    b.clear('held-open', t0 + 45_000);
    b.step(t0 + 45_000);
    const atDoor = messages.filter((m) => m.topic.endsWith('door-f05-01/event')).map((m) => [m.body.type, m.body.ts as number - t0, m.body.stage, m.body.alarmState]);
    expect(atDoor.filter(([type]) => type !== 'access-granted' && type !== 'access-denied')).toEqual([
      ['door-held-open', 10_000, 'pre-alarm', 0],
      ['door-held-open', 30_000, 'alarm', 2],
      ['door-held-open-cancelled', 45_000, undefined, 0],
    ]);
    expect(atDoor.some(([type, dt]) => type === 'access-granted' && dt === 0)).toBe(true);
  });

  it('denied burst: count denials of one unknown card (129), then a lockout (6)', () => {
    const t0 = MIDNIGHT + 3 * H;
    const { bridge: b, messages } = bridge(t0);
    b.inject('denied-burst', { door: 'door-f01-01', count: 6 }, t0);
    b.step(t0 + 60_000);
    const burst = messages.filter((m) => m.topic.endsWith('door-f01-01/event') && m.body.card === messages.find((x) => x.body.accessEvent === 129 && x.topic.includes('door-f01-01'))?.body.card);
    expect(burst.map((m) => m.body.accessEvent)).toEqual([129, 129, 129, 129, 129, 129, 6]);
  });

  it('reader offline: no swipes from that door until it is back', () => {
    const t0 = MIDNIGHT + 8 * H;
    const { bridge: b, messages } = bridge(t0);
    b.inject('reader-offline', { door: 'door-f01-01' }, t0);
    run(b, t0, t0 + H, 60_000);
    b.clear('reader-offline', t0 + H);
    run(b, t0 + H, t0 + 2 * H, 60_000);
    const atDoor = messages.filter((m) => m.topic.endsWith('door-f01-01/event'));
    expect(atDoor[0]!.body).toMatchObject({ type: 'reader-offline' });
    const back = atDoor.findIndex((m) => m.body.type === 'reader-online');
    expect(back).toBe(1); // nothing in between
    expect(atDoor.length).toBeGreaterThan(back + 5); // busy again afterwards
  });

  it('missed checkpoint: the round scans every other checkpoint in its window and reports the miss', () => {
    const t0 = MIDNIGHT + 1 * H;
    const { bridge: b, messages } = bridge(t0);
    b.inject('missed-checkpoint', { checkpoint: 'cp-b1' }, t0);
    run(b, t0, MIDNIGHT + 4 * H, 60_000);
    const patrol = messages.filter((m) => m.topic.includes('/patrol/') && m.body.round === local.iso(MIDNIGHT + 2 * H));
    expect(patrol).toHaveLength(22);
    expect(patrol.filter((m) => m.body.type === 'checkpoint-missed').map((m) => [m.topic, m.body.ts])).toEqual([
      ['vendor/acme-access/demo/patrol/cp-b1/event', MIDNIGHT + 2 * H + 8 * 60_000],
    ]);
    for (const scan of patrol.filter((m) => m.body.type === 'checkpoint-scan')) {
      expect(scan.body.ts).toBeGreaterThanOrEqual(scan.body.windowStart as number);
      expect(scan.body.ts).toBeLessThan(scan.body.windowEnd as number);
    }
  });

  it('refuses unknown faults and bad params without changing anything', () => {
    const { bridge: b } = bridge(MIDNIGHT);
    expect(() => b.inject('door-exploded', {}, MIDNIGHT)).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => b.inject('door-forced', { door: 'door-z9-99' }, MIDNIGHT)).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => b.inject('denied-burst', { count: 1000 }, MIDNIGHT)).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => b.inject('held-open', { dor: 'door-b1-01' }, MIDNIGHT)).toThrow(/takes 'door'; not 'dor'/);
    expect(b.faults().every((f) => !f.active)).toBe(true);
  });

  it('publishes nothing and counts the skips while the broker is away', () => {
    const vendor: VendorPublisher = { connected: false, publish: () => expect.unreachable() };
    const out = new BridgeOutput(vendor, device.topic);
    const b = new AccessControlBridge({ site, device, seed: 1, start: MIDNIGHT + 8 * H, out });
    b.step(MIDNIGHT + 9 * H);
    expect(out.counters.published).toBe(0);
    expect(out.counters.skipped).toBeGreaterThan(60);
  });
});
