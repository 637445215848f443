/** socket.io on a listening API: refused without a token; with one, alarms and live points arrive from the bus. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { io as connect, type Socket } from 'socket.io-client';
import { alarmChange, telemetryBatch, topics, type Alarm } from '@vigil/model';
import { DEMO_PASSWORD, startApi } from './index.ts';
import { alarm, busClient, demoSite, freePort, memoryReader, SECRET, silent, startBroker, tempDir } from './testbed.ts';
import { eventually } from '../testing/index.ts';

const SITE = demoSite.site.id;
let api: Awaited<ReturnType<typeof startApi>>;
let broker: Awaited<ReturnType<typeof startBroker>>;
let peerBus: MqttClient;
let dir: ReturnType<typeof tempDir>;
const sockets: Socket[] = [];

function open(auth?: Record<string, unknown>): Socket {
  const socket = connect(api.url, { path: '/socket.io', transports: ['websocket'], reconnection: false, ...(auth ? { auth } : {}) });
  sockets.push(socket);
  return socket;
}

function refusal(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected without a valid token')));
    socket.once('connect_error', (err) => resolve(err.message));
  });
}

beforeAll(async () => {
  broker = await startBroker();
  dir = tempDir();
  api = await startApi({ site: demoSite, bus: { url: broker.url }, dataDir: dir.path, host: '127.0.0.1', port: await freePort(), log: silent, secret: SECRET, demoUsers: true, reader: memoryReader() });
  peerBus = await busClient(broker.url);
  await eventually(async () => (await (await fetch(`${api.url}/api/health`)).json()).components.bus.status === 'up');
});

afterAll(async () => {
  // Closed while dashboards are still connected: the API must end their websockets, not hang.
  await api?.close();
  for (const s of sockets) s.close();
  await peerBus?.endAsync();
  await broker?.close();
  dir?.remove();
});

describe('socket.io', () => {
  it('refuses a connection without a token or with a bad one', async () => {
    expect(await refusal(open())).toBe('unauthorized');
    expect(await refusal(open({ token: 'forged.token' }))).toBe('unauthorized');
    expect(await refusal(open({ token: 42 }))).toBe('unauthorized');
  });

  it('pushes alarms and live points to a logged-in dashboard', async () => {
    const login = await fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: DEMO_PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    const socket = open({ token });
    const alarms: Alarm[] = [];
    const points: unknown[][] = [];
    socket.on('alarm', (a: Alarm) => alarms.push(a));
    socket.on('points', (p: unknown[]) => points.push(p));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });

    const raised = alarm({ id: 'a-live', raisedAt: Date.now(), changedAt: Date.now() });
    // An invalid alarm first: dropped, and the valid one after it still arrives.
    await peerBus.publishAsync(topics.alarms(SITE), JSON.stringify({ id: 'broken' }), { qos: 1 });
    await peerBus.publishAsync(topics.alarms(SITE), alarmChange.encode(raised), { qos: 1 });
    const ts = Date.now();
    await peerBus.publishAsync(
      topics.telemetry(SITE, 'booster-1'),
      telemetryBatch.encode({ gateway: 'gw-1', device: 'booster-1', seq: 1, samples: [{ point: 'pump-b1-1.speed', ts, value: 80.5, quality: 'good' }, { point: 'pump-b1-1.running', ts, value: null, quality: 'bad', reason: 'timeout' }] }),
      { qos: 0 },
    );

    await eventually(() => alarms.length > 0 && points.length > 0);
    expect(alarms).toEqual([raised]);
    // The default transport (long-polling, then upgrade) goes through the same server.
    const polling = connect(api.url, { reconnection: false, auth: { token } });
    sockets.push(polling);
    await new Promise<void>((resolve, reject) => {
      polling.once('connect', resolve);
      polling.once('connect_error', reject);
    });
    expect(points[0]).toEqual([
      { point: 'pump-b1-1.speed', ts, value: 80.5, quality: 'good' },
      { point: 'pump-b1-1.running', ts, value: null, quality: 'bad', reason: 'timeout' },
    ]);
  });
});
