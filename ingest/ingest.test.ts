/** End to end: a real MQTT broker (aedes) on loopback, ingest, and the test playing gateway and API. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { connectAsync, type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, healthTopic, loadSiteFile, topics, type Alarm, type Ticket } from '@vigil/model';
import { eventually, tempDir } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';
import { startIngest, openStateReader, type RunningIngest } from './index.ts';

const site = loadSiteFile(DEMO_SITE_FILE);
const SITE = site.site.id;
const GW = 'gw-1';
const PRESSURE = 'pump-b1-1.discharge_pressure';

describe('ingest over a real broker', () => {
  let closeBroker: () => Promise<void>;
  let dir: ReturnType<typeof tempDir>;
  let ingest: RunningIngest;
  let peer: MqttClient;
  const received: Array<{ topic: string; body: unknown; retain: boolean }> = [];
  const on = (topic: string) => received.filter((m) => m.topic === topic).map((m) => m.body);
  const t0 = Date.UTC(2026, 0, 15, 2, 0);

  beforeAll(async () => {
    const broker = await startTestBroker();
    closeBroker = () => broker.stop();
    dir = tempDir();
    const bus = { url: broker.url };
    ingest = await startIngest({ site, bus, dataDir: dir.path, log: pino({ level: 'silent' }) });
    peer = await connectAsync(bus.url, { clientId: 'test-peer', protocolVersion: 4 });
    peer.on('message', (topic, payload, packet) => {
      let body: unknown = payload.toString();
      try {
        body = JSON.parse(payload.toString());
      } catch {}
      received.push({ topic, body, retain: packet.retain });
    });
    await peer.subscribeAsync(
      [topics.acks(SITE, GW), topics.alarms(SITE), topics.tickets(SITE), topics.all.commandResults(SITE), healthTopic(SITE, 'ingest')],
      { qos: 1 },
    );
  });

  afterAll(async () => {
    await peer?.endAsync();
    await ingest?.close();
    await closeBroker?.();
    dir?.remove();
  });

  const send = (device: string, payload: unknown) =>
    peer.publishAsync(topics.telemetry(SITE, device), typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  const batch = (device: string, seq: number, samples: Array<[string, number, unknown]>) => ({
    gateway: GW,
    device,
    seq,
    samples: samples.map(([point, ts, value]) => ({ point, ts, value, quality: 'good' })),
  });
  const command = (kind: string, body: Record<string, unknown>) => peer.publishAsync(topics.command(SITE, kind), JSON.stringify(body), { qos: 1 });
  const resultOf = (id: string, nth = 0) => eventually(() => on(topics.commandResult(SITE, id))[nth] as Record<string, any> | undefined);

  it('publishes its health, retained', async () => {
    const health = await eventually(() => on(healthTopic(SITE, 'ingest'))[0] as Record<string, unknown> | undefined);
    expect(health).toMatchObject({ component: 'ingest', status: 'up' });
    // Published before this subscriber came: it arrives because it is retained.
    expect(received.find((m) => m.topic === healthTopic(SITE, 'ingest'))?.retain).toBe(true);
  });

  it('commits a batch, then acknowledges it; a duplicate seq is dropped and acknowledged again', async () => {
    await send('booster-1', batch('booster-1', 1, [[PRESSURE, t0, 0.8], ['pump-b1-1.running', t0, true]]));
    await eventually(() => on(topics.acks(SITE, GW)).some((a) => JSON.stringify(a) === '{"booster-1":1}'));
    expect(ingest.health()).toMatchObject({ batches: 1, samples: 2, duplicates: 0, status: 'up' });

    const acksBefore = on(topics.acks(SITE, GW)).length;
    await send('booster-1', batch('booster-1', 1, [[PRESSURE, t0 + 500, 0.1]]));
    await eventually(() => on(topics.acks(SITE, GW)).length > acksBefore);
    expect(on(topics.acks(SITE, GW)).at(-1)).toEqual({ 'booster-1': 1 });
    expect(ingest.health()).toMatchObject({ batches: 1, samples: 2, duplicates: 1 });

    // Every device of the gateway in each ack.
    await send('booster-2', batch('booster-2', 1, [['pump-b1-2.speed', t0, 50]]));
    await eventually(() => on(topics.acks(SITE, GW)).some((a) => JSON.stringify(a) === '{"booster-1":1,"booster-2":1}'));
  });

  it('never commits past a gap: a later batch waits, unacknowledged, for the missing one', async () => {
    // booster-2 is at seq 1 (previous test); seq 3 arrives before 2, as after a broker hiccup.
    await send('booster-2', batch('booster-2', 3, [['pump-b1-2.speed', t0 + 2000, 52]]));
    await eventually(() => ingest.health().outOfOrder >= 1);
    expect(ingest.health().batches).toBe(2);
    await send('booster-2', batch('booster-2', 2, [['pump-b1-2.speed', t0 + 1000, 51]]));
    await eventually(() => on(topics.acks(SITE, GW)).some((a) => (a as Record<string, number>)['booster-2'] === 2));
    // The gateway re-sends 3 (its oldest unacknowledged batch), which now fits.
    await send('booster-2', batch('booster-2', 3, [['pump-b1-2.speed', t0 + 2000, 52]]));
    await eventually(() => on(topics.acks(SITE, GW)).some((a) => (a as Record<string, number>)['booster-2'] === 3));
    expect(ingest.health()).toMatchObject({ batches: 4, duplicates: 1 });
  });

  it('counts and survives malformed messages and unknown points', async () => {
    const before = ingest.health().invalid;
    await send('booster-1', 'not json {');
    await send('booster-1', { hello: 'world' });
    await send('booster-2', batch('booster-1', 2, [[PRESSURE, t0 + 1, 0.8]])); // topic and payload disagree
    await send('booster-1', batch('booster-1', 2, [[PRESSURE, t0 + 100, 0.8], ['pump-b1-1.no_such_point', t0 + 100, 1]]));
    await eventually(() => on(topics.acks(SITE, GW)).some((a) => (a as Record<string, number>)['booster-1'] === 2));
    const h = ingest.health();
    expect(h.invalid - before).toBe(3);
    expect(h.unknownPoints).toBe(1);
    expect(h.status).toBe('up');
    const reader = openStateReader(dir.path);
    expect(reader.latest('pump-b1-1.no_such_point')).toBeUndefined();
    reader.close();
  });

  let alarm: Alarm;
  let ticket: Ticket;

  it('raises an alarm and an assigned ticket when pressure stays low past the on-delay', async () => {
    const low: Array<[string, number, unknown]> = [0, 1000, 2000, 3000, 4000].map((dt) => [PRESSURE, t0 + 1000 + dt, 0.45]);
    await send('booster-1', batch('booster-1', 3, low));
    alarm = (await eventually(() => on(topics.alarms(SITE))[0])) as Alarm;
    expect(alarm).toMatchObject({ key: `low-discharge-pressure-1:${PRESSURE}:lo`, state: 'unacknowledged-active', asset: 'pump-b1-1', area: 'tower' });
    expect(alarm.raisedAt).toBe(t0 + 1000 + (site.detectors[0] as { onDelayMs: number }).onDelayMs);
    ticket = (await eventually(() => on(topics.tickets(SITE))[0])) as Ticket;
    expect(['technician', 'technician2']).toContain(ticket.assignee);
    expect(ticket).toMatchObject({ status: 'assigned', alarmIds: [alarm.id], number: 'T-000001' });
    expect(alarm.ticketId).toBe(ticket.id);
  });

  it('answers an ack command, a second ack with conflict, a repeated id with the same answer', async () => {
    await command('alarm-ack', { id: 'ack-00000001', user: 'operator', reason: 'on it', alarmId: alarm.id });
    const ok = await resultOf('ack-00000001');
    expect(ok).toMatchObject({ id: 'ack-00000001', ok: true, result: { id: alarm.id, state: 'acknowledged-active', ackedBy: 'operator' } });
    await eventually(() => on(topics.alarms(SITE)).some((a) => (a as Alarm).state === 'acknowledged-active'));

    await command('alarm-ack', { id: 'ack-00000002', user: 'operator', alarmId: alarm.id });
    expect(await resultOf('ack-00000002')).toMatchObject({ ok: false, error: { code: 'conflict' } });

    await command('alarm-ack', { id: 'ack-00000001', user: 'operator', alarmId: alarm.id });
    expect(await resultOf('ack-00000001', 1)).toEqual(ok);

    await command('alarm-ack', { id: 'ack-00000003', user: 'operator', alarmId: 'no-such-alarm' });
    expect(await resultOf('ack-00000003')).toMatchObject({ ok: false, error: { code: 'not-found' } });
    await command('alarm-ack', { id: 'ack-00000004', user: 'operator' });
    expect(await resultOf('ack-00000004')).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('moves a ticket by command', async () => {
    await command('ticket-move', { id: 'move-0000001', user: ticket.assignee, ticketId: ticket.id, to: 'accepted' });
    expect(await resultOf('move-0000001')).toMatchObject({ ok: true, result: { id: ticket.id, status: 'accepted' } });
    await command('ticket-move', { id: 'move-0000002', user: ticket.assignee, ticketId: ticket.id, to: 'closed' });
    expect(await resultOf('move-0000002')).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await command('ticket-move', { id: 'move-0000003', user: ticket.assignee, ticketId: ticket.id, to: 'assigned' });
    expect(await resultOf('move-0000003')).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('the reader returns the alarm, the ticket, the latest value and the history', async () => {
    const reader = openStateReader(dir.path);
    try {
      expect(reader.alarm(alarm.id)).toMatchObject({ state: 'acknowledged-active', ackedBy: 'operator', ticketId: ticket.id });
      expect(reader.alarms({ states: ['acknowledged-active'] }).map((a) => a.id)).toEqual([alarm.id]);
      expect(reader.alarmHistory(alarm.id).map((t) => `${t.to}:${t.user ?? ''}`)).toEqual(['unacknowledged-active:', 'acknowledged-active:operator']);
      expect(reader.ticket(ticket.id)).toMatchObject({ status: 'accepted' });
      expect(reader.tickets({ assignee: ticket.assignee })).toHaveLength(1);
      expect(reader.latest(PRESSURE)).toEqual({ point: PRESSURE, ts: t0 + 5000, value: 0.45, quality: 'good' });
      expect(reader.latest('pump-b1-1.running')?.value).toBe(true);
      const history = await reader.history(PRESSURE, t0, t0 + 10_000);
      expect(history.resolution === 'raw' && history.samples.map((s) => s.ts)).toEqual([t0, t0 + 100, t0 + 1000, t0 + 2000, t0 + 3000, t0 + 4000, t0 + 5000]);
    } finally {
      reader.close();
    }
  });

  it('publishes status down, retained, when closed', async () => {
    await ingest.close();
    expect(ingest.health().status).toBe('down');
    const last = await eventually(() => {
      const all = on(healthTopic(SITE, 'ingest')) as Array<{ status: string }>;
      return all.at(-1)?.status === 'down' ? all.at(-1) : undefined;
    });
    expect(last).toMatchObject({ component: 'ingest', status: 'down' });
  });
});
