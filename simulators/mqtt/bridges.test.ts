/** The vendor bridges on a real broker: their documented topics, fault events, and an independent client (mosquitto_sub). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { eventually, peer } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { createSimClock } from '../clock.ts';
import { startTestBroker } from '../../testing/broker.ts';

const mosquittoSub = peer('mosquitto_sub', 'mosquitto-clients');
/** Tuesday 4 March 2025, 08:30 in Shanghai: the morning peak. */
const MORNING = Date.UTC(2025, 2, 4, 0, 30);

describe('MQTT vendor bridges on a broker', () => {
  let broker: Awaited<ReturnType<typeof startTestBroker>>;
  let site: Site;
  let sims: RunningSimulators;
  let observer: MqttClient;
  const received: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];

  beforeAll(async () => {
    broker = await startTestBroker();
    site = loadSiteFile(DEMO_SITE_FILE);
    // ×60: a simulated minute a second, so periodic states and repeats come quickly.
    const clock = createSimClock({ start: MORNING, speed: 60 });
    sims = await startSimulators({ site, bus: { url: broker.url }, log: pino({ level: 'silent' }), seed: 5, clock, devices: ['access-bridge', 'vms-bridge'] });
    observer = await mqtt.connectAsync(broker.url, { clientId: 'vigil-test-vendor-observer', reconnectPeriod: 0 });
    observer.on('message', (topic, payload, packet) => received.push({ topic, body: JSON.parse(payload.toString()), retain: packet.retain }));
    await observer.subscribeAsync(['vendor/acme-access/demo/#', 'vendor/acme-vms/demo/#'], { qos: 1 });
  });
  afterAll(async () => {
    await observer?.endAsync();
    await sims?.close();
    await broker?.stop();
  });

  it("lists both bridges with the broker's host and port and their topic", () => {
    expect(sims.endpoints.map((e) => [e.device, e.protocol, e.host, e.port, e.topic, e.model])).toEqual([
      ['access-bridge', 'mqtt', '127.0.0.1', broker.port, 'vendor/acme-access/demo', 'access-control'],
      ['vms-bridge', 'mqtt', '127.0.0.1', broker.port, 'vendor/acme-vms/demo', 'cctv'],
    ]);
  });

  it('keeps a retained state for every door and camera, and the NVR and bridge status', async () => {
    const states = () => new Set(received.filter((m) => /\/(state|status)$/.test(m.topic)).map((m) => m.topic));
    await eventually(() => states().size >= 60 + 40 + 2);
    // A client that subscribes later gets them from the broker, flagged retained (MQTT 3.1.1 §3.3.1.3).
    const late = await mqtt.connectAsync(broker.url, { clientId: 'vigil-test-late-subscriber', reconnectPeriod: 0 });
    const retained = new Set<string>();
    late.on('message', (topic, _payload, packet) => packet.retain && retained.add(topic));
    await late.subscribeAsync(['vendor/acme-access/demo/#', 'vendor/acme-vms/demo/#'], { qos: 1 });
    await eventually(() => retained.size >= 102);
    await late.endAsync();
    for (const door of site.assets.filter((a) => a.class === 'door')) expect(retained).toContain(`vendor/acme-access/demo/door/${door.id}/state`);
    for (const cam of site.assets.filter((a) => a.class === 'camera')) expect(retained).toContain(`vendor/acme-vms/demo/camera/${cam.id}/status`);
    expect(retained).toContain('vendor/acme-access/demo/bridge/status');
    expect(retained).toContain('vendor/acme-vms/demo/nvr/status');
  });

  it('reports morning traffic as access events with pseudonymous cards', async () => {
    const swipes = await eventually(() => {
      const s = received.filter((m) => /^vendor\/acme-access\/demo\/door\/[^/]+\/event$/.test(m.topic) && m.body.type === 'access-granted');
      return s.length >= 3 ? s : null;
    });
    expect(swipes[0]!.body).toMatchObject({ accessEvent: 1, card: expect.stringMatching(/^card-[0-9a-f]{8}$/), seq: expect.any(Number) });
  });

  it('turns injected faults into the documented events', async () => {
    sims.inject('access-bridge', 'door-forced', { door: 'door-b1-01' });
    sims.inject('vms-bridge', 'intrusion', { camera: 'cam-b1-03' });
    const forced = await eventually(() => received.find((m) => m.topic === 'vendor/acme-access/demo/door/door-b1-01/event' && m.body.type === 'door-forced-open'));
    expect(forced.body).toMatchObject({ alarmState: 3, alarmStateText: 'forced-open' });
    expect(forced.retain).toBe(false);
    const intrusion = await eventually(() => received.find((m) => m.topic === 'vendor/acme-vms/demo/camera/cam-b1-03/event' && m.body.eventType === 'fielddetection'));
    expect(intrusion.body).toMatchObject({ eventState: 'active', restrictedZone: true });
    expect(sims.endpoints.find((e) => e.device === 'access-bridge')!.faults.find((f) => f.name === 'door-forced')!.active).toBe(true);
    sims.clear('access-bridge', 'door-forced');
    sims.clear('vms-bridge', 'intrusion');
    await eventually(() => received.find((m) => m.topic.endsWith('door-b1-01/event') && m.body.type === 'door-forced-open-cancelled'));
    await eventually(() => received.find((m) => m.topic.endsWith('cam-b1-03/event') && m.body.eventState === 'inactive'));
  });

  it.skipIf(!mosquittoSub.ok)('is seen by mosquitto_sub, an MQTT client nobody here wrote', async () => {
    sims.inject('vms-bridge', 'tamper', { camera: 'cam-f02-01', kind: 'covered' });
    try {
      // The alarm repeats every 30 simulated s (0.5 s here), so a late subscription still sees two.
      const { stdout } = await promisify(execFile)(mosquittoSub.path, ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'vendor/acme-vms/demo/camera/cam-f02-01/event', '-C', '2', '-W', '10', '-v'], { timeout: 15_000 });
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        const [topic, ...json] = line.split(' ');
        expect(topic).toBe('vendor/acme-vms/demo/camera/cam-f02-01/event');
        expect(JSON.parse(json.join(' '))).toMatchObject({ eventType: 'tamperdetection', eventState: 'active', channelID: 19 });
      }
    } finally {
      sims.clear('vms-bridge', 'tamper');
    }
  });
});
