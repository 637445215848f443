/**
 * The walking skeleton end to end, in one process on run-time ports: a cavitation fault injected
 * through the API travels simulator → Modbus → gateway → bus → ingest → alarm and ticket → API and
 * socket.io, within 5 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import mqtt from 'mqtt';
import type { Alarm } from '@vigil/model';
import { topics } from '@vigil/model';
import { eventually } from '../testing/index.ts';
import { startTestStack, type TestStack } from './test-stack.ts';

let t: TestStack;
let operator: string;
let engineer: string;
let socket: Socket;
const alarmEvents: Alarm[] = [];

beforeAll(async () => {
  t = await startTestStack();
  operator = await t.login('operator');
  engineer = await t.login('engineer');
  socket = io(t.url, { auth: { token: operator }, transports: ['websocket'] });
  socket.on('alarm', (a: Alarm) => alarmEvents.push(a));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
});

afterAll(async () => {
  socket?.close();
  await t?.close();
});

describe('vigil start (in-process)', () => {
  it('reports every component up on /api/health', async () => {
    const health = await eventually(async () => {
      const res = await t.call('', 'GET', '/api/health');
      return res.status === 200 ? res.body : null;
    }, 10_000);
    expect(health.status).toBe('ok');
    expect(health.components.bus.status).toBe('up');
    expect(health.components.ingest.status).toBe('up');
  });

  it('carries live pump values from the Modbus simulator to the API', async () => {
    const latest = await eventually(async () => {
      const res = await t.call(operator, 'GET', '/api/points/pump-b1-1.discharge_pressure/latest');
      return res.status === 200 ? res.body : null;
    }, 10_000);
    expect(latest.quality).toBe('good');
    expect(latest.value).toBeGreaterThan(0.7);
    expect(latest.value).toBeLessThan(0.9);
  });

  it('turns an injected cavitation into an alarm on socket.io and an assigned ticket on REST within 5 s', async () => {
    await eventually(async () => (await t.call(engineer, 'GET', '/api/simulators')).body?.devices?.some((d: { device: string }) => d.device === 'booster-1'), 10_000);
    const injectedAt = Date.now();
    const inject = await t.call(engineer, 'POST', '/api/simulators/booster-1/faults', { fault: 'cavitation' });
    expect(inject.status).toBe(200);
    expect(inject.body.device.faults.find((f: { name: string }) => f.name === 'cavitation').active).toBe(true);

    const alarm = await eventually(() => alarmEvents.find((a) => a.asset === 'pump-b1-1' && a.state === 'unacknowledged-active'), 5000);
    expect(Date.now() - injectedAt).toBeLessThan(5000);
    expect(alarm).toMatchObject({ detector: 'low-discharge-pressure-1', point: 'pump-b1-1.discharge_pressure', priority: 2, department: 'technical', category: 'pump-low-pressure' });
    expect(alarm.explanation.limit).toBe(0.6);
    expect(alarm.explanation.values.length).toBeGreaterThan(0);

    const ticket = await eventually(async () => {
      const res = await t.call(operator, 'GET', '/api/tickets?department=technical');
      return res.body.tickets.find((x: { asset: string }) => x.asset === 'pump-b1-1');
    }, 5000);
    expect(Date.now() - injectedAt).toBeLessThan(5000);
    expect(ticket.status).toBe('assigned');
    expect(['technician', 'technician2']).toContain(ticket.assignee);
    expect(ticket.alarmIds).toContain(alarm.id);

    const active = await t.call(operator, 'GET', '/api/alarms?state=active');
    expect(active.body.alarms.map((a: Alarm) => a.id)).toContain(alarm.id);

    // The operator acknowledges: a command over the bus, answered by ingest, pushed back live.
    const ack = await t.call(operator, 'POST', `/api/alarms/${alarm.id}/ack`, {});
    expect(ack.status).toBe(200);
    expect(ack.body.alarm.state).toBe('acknowledged-active');
    expect(ack.body.alarm.ackedBy).toBe('operator');
    await eventually(() => alarmEvents.find((a) => a.id === alarm.id && a.state === 'acknowledged-active'), 5000);
    const again = await t.call(operator, 'POST', `/api/alarms/${alarm.id}/ack`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBeTypeOf('string');

    // A repeat of the condition while the ticket is open raises its count, never a duplicate.
    const clear = await t.call(engineer, 'DELETE', '/api/simulators/booster-1/faults/cavitation');
    expect(clear.status).toBe(200);
    await eventually(() => alarmEvents.find((a) => a.id === alarm.id && a.state === 'normal'), 10_000);
    await t.call(engineer, 'POST', '/api/simulators/booster-1/faults', { fault: 'cavitation' });
    await eventually(() => alarmEvents.find((a) => a.asset === 'pump-b1-1' && a.id !== alarm.id && a.state === 'unacknowledged-active'), 8000);
    const repeated = await eventually(async () => {
      const res = await t.call(operator, 'GET', '/api/tickets?department=technical');
      const mine = res.body.tickets.filter((x: { asset: string }) => x.asset === 'pump-b1-1');
      return mine.length === 1 && mine[0].count === 2 ? mine[0] : null;
    }, 5000);
    expect(repeated.id).toBe(ticket.id);
    await t.call(engineer, 'DELETE', '/api/simulators/booster-1/faults/cavitation');
  });

  it('carries a fire alarm from the BACnet panel, latched until the operator acknowledges and resets it', async () => {
    const security = await t.login('security');
    expect((await t.call(engineer, 'POST', '/api/simulators/fire-panel/faults', { fault: 'fire-alarm', params: { zone: 'f05' } })).status).toBe(200);
    const fire = await eventually(() => alarmEvents.find((a) => a.asset === 'fire-zone-f05' && a.category === 'fire-alarm' && a.state === 'unacknowledged-active'), 10_000);
    expect(fire).toMatchObject({ priority: 1, department: 'security', latching: true });
    const ticket = await eventually(async () => (await t.call(security, 'GET', '/api/tickets?department=security')).body.tickets.find((x: { asset: string }) => x.asset === 'fire-zone-f05'), 5000);
    expect(ticket.assignee).toBe('security');

    // The smoke clears, the alarm stays latched (GB 4717) until acknowledged and reset.
    expect((await t.call(engineer, 'DELETE', '/api/simulators/fire-panel/faults/fire-alarm')).status).toBe(200);
    await eventually(() => alarmEvents.find((a) => a.id === fire.id && !a.conditionActive), 10_000);
    expect((await t.call(operator, 'GET', '/api/alarms?state=active')).body.alarms.find((a: Alarm) => a.id === fire.id).state).toBe('unacknowledged-active');
    expect((await t.call(operator, 'POST', `/api/alarms/${fire.id}/reset`, {})).status).toBe(409);
    expect((await t.call(operator, 'POST', `/api/alarms/${fire.id}/ack`, {})).status).toBe(200);
    const reset = await t.call(operator, 'POST', `/api/alarms/${fire.id}/reset`, { reason: 'zone verified clear' });
    expect(reset.status).toBe(200);
    expect(reset.body.alarm.state).toBe('normal');
  });

  it('survives malformed telemetry on the bus and bad HTTP input', async () => {
    const gw = t.stack.bus('gateway');
    const client = await mqtt.connectAsync(gw.url, { username: gw.username, password: gw.password, clientId: 'test-bad-gateway' });
    const topic = topics.telemetry(t.site.site.id, 'booster-2');
    await client.publishAsync(topic, 'not json', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ gateway: 'gw-1', device: 'booster-2', seq: -4, samples: 'many' }), { qos: 1 });
    await client.publishAsync(topic, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await client.endAsync();

    const bad = await t.call(operator, 'GET', '/api/points/pump-b1-2.speed/history?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('from');

    // Still alive and still carrying fresh data.
    const before = (await t.call(operator, 'GET', '/api/points/pump-b1-2.discharge_pressure/latest')).body.ts;
    await eventually(async () => (await t.call(operator, 'GET', '/api/points/pump-b1-2.discharge_pressure/latest')).body.ts > before, 70_000);
    expect((await t.call('', 'GET', '/api/health')).status).toBe(200);
  });

  it('refuses anonymous and wrongly-authenticated bus clients', async () => {
    await expect(mqtt.connectAsync(t.stack.busUrl, { clientId: 'anon', reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow(/authori|password|refused/i);
    const gw = t.stack.bus('gateway');
    await expect(
      mqtt.connectAsync(gw.url, { username: gw.username, password: 'guess', clientId: 'guess', reconnectPeriod: 0, connectTimeout: 3000 }),
    ).rejects.toThrow(/authori|password|refused/i);
  });
});
