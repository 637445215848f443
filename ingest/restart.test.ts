/** Ingest restarted on the same data directory: committed seqs and open alarms carry over. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pino from 'pino';
import { connectAsync, type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, topics, type Alarm } from '@vigil/model';
import { eventually, tempDir } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';
import { startIngest } from './index.ts';

const site = loadSiteFile(DEMO_SITE_FILE);
const SITE = site.site.id;
const PRESSURE = 'pump-b1-1.discharge_pressure';
let stopBroker: () => Promise<void>;
let url: string;
let peer: MqttClient;
const dir = tempDir();
const acks: Array<Record<string, number>> = [];
const alarms: Alarm[] = [];

beforeAll(async () => {
  const broker = await startTestBroker();
  stopBroker = () => broker.stop();
  url = broker.url;
  peer = await connectAsync(url, { clientId: 'restart-peer', protocolVersion: 4 });
  peer.on('message', (topic, payload) => {
    if (topic === topics.alarms(SITE)) alarms.push(JSON.parse(payload.toString()));
    else acks.push(JSON.parse(payload.toString()));
  });
  await peer.subscribeAsync([topics.acks(SITE, 'gw-1'), topics.alarms(SITE)], { qos: 1 });
});

afterAll(async () => {
  await peer?.endAsync();
  await stopBroker?.();
  dir.remove();
});

const send = (seq: number, ts: number, value: number) =>
  peer.publishAsync(
    topics.telemetry(SITE, 'booster-1'),
    JSON.stringify({ gateway: 'gw-1', device: 'booster-1', seq, samples: [{ point: PRESSURE, ts, value, quality: 'good' }] }),
    { qos: 1 },
  );

it('keeps committed seqs and lets an alarm raised before a restart clear after it', async () => {
  const log = pino({ level: 'silent' });
  const first = await startIngest({ site, bus: { url }, dataDir: dir.path, log });
  await send(1, 0, 0.5);
  await send(2, 10_000, 0.5);
  await eventually(() => alarms.find((a) => a.state === 'unacknowledged-active'));
  await eventually(() => acks.some((a) => a['booster-1'] === 2));
  await first.close();

  const second = await startIngest({ site, bus: { url }, dataDir: dir.path, log });
  try {
    const before = acks.length;
    await send(2, 10_000, 0.5); // replayed after the restart: already committed
    await eventually(() => acks.length > before);
    expect(second.health().duplicates).toBe(1);

    await send(3, 20_000, 0.9);
    const cleared = await eventually(() => alarms.find((a) => a.state === 'unacknowledged-returned'));
    expect(cleared.id).toBe(alarms[0]!.id);
  } finally {
    await second.close();
  }
});
