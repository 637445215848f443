/**
 * End to end with the real ingest: a gateway's batches go in over a real broker, ingest raises the
 * alarm and the ticket, the API shows them, pushes them live, and an ack goes back to ingest as a command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { io as connect, type Socket } from 'socket.io-client';
import { telemetryBatch, topics, type Alarm, type Ticket } from '@vigil/model';
import { openStateReader, startIngest, type RunningIngest, type StateReader } from '@vigil/ingest';
import { eventually } from '../testing/index.ts';
import { DEMO_PASSWORD, startApi } from './index.ts';
import { busClient, demoSite, freePort, SECRET, silent, startBroker, tempDir } from './testbed.ts';

const SITE = demoSite.site.id;
const PRESSURE = 'pump-b1-1.discharge_pressure';

let broker: Awaited<ReturnType<typeof startBroker>>;
let dir: ReturnType<typeof tempDir>;
let ingest: RunningIngest;
let reader: StateReader;
let api: Awaited<ReturnType<typeof startApi>>;
let gateway: MqttClient;
let socket: Socket | undefined;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  broker = await startBroker();
  dir = tempDir();
  ingest = await startIngest({ site: demoSite, bus: { url: broker.url }, dataDir: dir.path, log: silent });
  reader = openStateReader(dir.path);
  api = await startApi({ site: demoSite, bus: { url: broker.url }, dataDir: dir.path, host: '127.0.0.1', port: await freePort(), log: silent, secret: SECRET, demoUsers: true, reader });
  gateway = await busClient(broker.url);
});

afterAll(async () => {
  socket?.close();
  await api?.close();
  reader?.close();
  await ingest?.close();
  await gateway?.endAsync();
  await broker?.close();
  dir?.remove();
});

describe('the API with the real ingest', () => {
  it('reports healthy once ingest is up', async () => {
    const health = await eventually(async () => {
      const res = await call('GET', '/api/health');
      return res.status === 200 ? res : null;
    });
    expect(health.body.components.ingest.status).toBe('up');
  });

  it('shows and pushes the alarm that a low pressure raises, and acks it through ingest', async () => {
    const { token } = (await call('POST', '/api/auth/login', undefined, { username: 'operator', password: DEMO_PASSWORD })).body as { token: string };
    socket = connect(api.url, { transports: ['websocket'], reconnection: false, auth: { token } });
    const pushed: Alarm[] = [];
    const tickets: Ticket[] = [];
    socket.on('alarm', (a: Alarm) => pushed.push(a));
    socket.on('ticket', (t: Ticket) => tickets.push(t));
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', resolve);
      socket!.once('connect_error', reject);
    });

    // Below 0.60 MPa for more than the 3 s on-delay, in sample time.
    const t0 = Date.now() - 10_000;
    for (const [seq, dt] of [[1, 0], [2, 2000], [3, 4000]] as const) {
      const batch = telemetryBatch.encode({ gateway: 'gw-1', device: 'booster-1', seq, samples: [{ point: PRESSURE, ts: t0 + dt, value: 0.41, quality: 'good' }] });
      await gateway.publishAsync(topics.telemetry(SITE, 'booster-1'), batch, { qos: 1 });
    }

    const active = await eventually(async () => {
      const res = await call('GET', '/api/alarms', token);
      return res.body.alarms.length > 0 ? res.body.alarms : null;
    });
    expect(active[0]).toMatchObject({ asset: 'pump-b1-1', point: PRESSURE, state: 'unacknowledged-active', priority: 2 });
    await eventually(() => pushed.some((a) => a.id === active[0].id));
    expect((await call('GET', `/api/points/${PRESSURE}/latest`, token)).body).toEqual({ point: PRESSURE, ts: t0 + 4000, value: 0.41, quality: 'good' });
    expect((await call('GET', `/api/points/${PRESSURE}/history?from=${t0}&to=${t0 + 4000}`, token)).body.samples).toHaveLength(3);

    const ack = await call('POST', `/api/alarms/${active[0].id}/ack`, token, { reason: 'technician on the way' });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm).toMatchObject({ id: active[0].id, state: 'acknowledged-active', ackedBy: 'operator' });
    await eventually(() => pushed.some((a) => a.id === active[0].id && a.state === 'acknowledged-active'));

    const again = await call('POST', `/api/alarms/${active[0].id}/ack`, token, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('VIGIL_ERR_CONFLICT');
    const missing = await call('POST', '/api/alarms/no-such-alarm/ack', token, {});
    expect(missing.status).toBe(404);
  });

  it('lets the assigned technician move the ticket, and nobody else of that role', async () => {
    const login = async (username: string) => (await call('POST', '/api/auth/login', undefined, { username, password: DEMO_PASSWORD })).body.token as string;
    const manager = await login('manager');
    const open = await eventually(async () => {
      const res = await call('GET', '/api/tickets?department=technical', manager);
      return res.body.tickets.find((t: Ticket) => t.asset === 'pump-b1-1' && t.assignee) as Ticket | undefined;
    });
    const owner = open.assignee!;
    const other = owner === 'technician' ? 'technician2' : 'technician';
    const refused = await call('POST', `/api/tickets/${open.id}/move`, await login(other), { to: 'accepted' });
    expect(refused.status).toBe(403);
    const moved = await call('POST', `/api/tickets/${open.id}/move`, await login(owner), { to: 'accepted' });
    expect(moved.status).toBe(200);
    expect(moved.body.ticket).toMatchObject({ id: open.id, status: 'accepted', assignee: owner });
  });
});
