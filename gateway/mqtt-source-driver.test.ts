/**
 * MQTT vendor sources: the access-control and CCTV bridge simulators publish on an embedded aedes
 * broker (the Vigil bus); the gateway maps their JSON to points and device events as the demo site
 * file says, and survives payloads that do not fit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { startSimulators, type RunningSimulators } from '@vigil/simulators';
import { eventually, freePort, tempDir } from '../testing/index.ts';
import { startGateway, type RunningGateway } from './index.ts';
import { matchTopic, resolvePointer } from './mqtt-source-driver.ts';
import { startIngest, startTestBroker, type TestBroker, type TestIngest } from './test-peers.ts';

const log = pino({ level: 'silent' });

describe('JSON pointer (RFC 6901) and topic matching', () => {
  it('resolves pointers with escapes and array indices, and binds + levels', () => {
    const doc = { a: { 'b/c': [10, { 'd~e': true }] } };
    expect(resolvePointer(doc, '')).toBe(doc);
    expect(resolvePointer(doc, '/a/b~1c/0')).toBe(10);
    expect(resolvePointer(doc, '/a/b~1c/1/d~0e')).toBe(true);
    expect(resolvePointer(doc, '/a/missing')).toBeUndefined();
    expect(resolvePointer(doc, '/a/b~1c/01')).toBeUndefined();
    expect(matchTopic('door/+/event', 'door/door-f01-01/event')).toEqual(['door-f01-01']);
    expect(matchTopic('door/+/event', 'door/door-f01-01/state')).toBeNull();
  });
});

describe('MQTT source driver with the access-control and CCTV bridges', () => {
  let broker: TestBroker;
  let dir: ReturnType<typeof tempDir>;
  let sims: RunningSimulators;
  let gw: RunningGateway;
  let ingest: TestIngest;
  let site: Site;

  beforeAll(async () => {
    broker = await startTestBroker(await freePort());
    dir = tempDir('vigil-mqtt-source-');
    site = loadSiteFile(DEMO_SITE_FILE);
    site.devices = site.devices.filter((d) => d.protocol === 'mqtt');
    ingest = await startIngest(broker.url, site.site.id, 'gw-mqtt');
    gw = await startGateway({ site, gatewayId: 'gw-mqtt', bus: { url: broker.url }, dataDir: dir.path, log });
    sims = await startSimulators({ site, log, bus: { url: broker.url }, devices: site.devices.map((d) => d.id) });
  });

  afterAll(async () => {
    await sims?.close();
    await gw?.close();
    await ingest?.close();
    await broker.stop();
    dir.remove();
  });

  const last = (point: string) => ingest.samplesOf(point).at(-1);
  const events = (device: string) => ingest.eventBatches.filter((b) => b.device === device).flatMap((b) => b.events);

  it('maps the bridges\' retained state to points', async () => {
    await eventually(() => last('door-f01-01.open') && last('cam-b2-01.online'), 5000);
    expect(last('door-f01-01.alarm_state')).toMatchObject({ value: 0, quality: 'good' });
    expect(last('door-f01-01.reader_online')).toMatchObject({ value: true, quality: 'good' });
    expect(typeof last('door-f01-01.open')!.value).toBe('boolean');
    expect(last('cam-b2-01.online')).toMatchObject({ value: true, quality: 'good' });
    expect(last('cam-b2-01.recording')).toMatchObject({ value: true, quality: 'good' });
  });

  it('publishes vendor events on events/<device> with the detectors\' types and the asset, acknowledged under <device>:events', async () => {
    sims.inject('access-bridge', 'door-forced', { door: 'door-f03-01' });
    const forced = await eventually(() => events('access-bridge').find((e) => e.type === 'door-forced'), 5000);
    expect(forced).toMatchObject({ asset: 'door-f03-01', data: { alarmState: 3, reader: 'door-f03-01-rdr' } });
    await eventually(() => last('door-f03-01.alarm_state')?.value === 3, 5000);

    sims.inject('vms-bridge', 'video-loss', { camera: 'cam-f05-01' });
    await eventually(() => events('vms-bridge').find((e) => e.type === 'video-loss' && e.asset === 'cam-f05-01'), 5000);
    sims.clear('vms-bridge', 'video-loss');
    await eventually(() => events('vms-bridge').find((e) => e.type === 'video-restored' && e.asset === 'cam-f05-01'), 5000);
    sims.inject('vms-bridge', 'tamper', { camera: 'cam-f06-01' });
    await eventually(() => events('vms-bridge').find((e) => e.type === 'tamper' && e.asset === 'cam-f06-01'), 5000);

    // Each device's events have their own seq, from 1, and the outbox forgets them once acknowledged.
    const seqs = ingest.eventBatches.filter((b) => b.device === 'vms-bridge').map((b) => b.seq);
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await eventually(() => gw.stats().outbox.batches === 0, 5000);
  });

  it('counts a payload that does not fit per source, logs it once, and keeps going', async () => {
    const vendor = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      const base = 'vendor/acme-access/demo';
      await vendor.publishAsync(`${base}/door/door-f02-01/state`, 'not json {', { qos: 1 });
      await vendor.publishAsync(`${base}/door/door-f02-01/state`, JSON.stringify({ open: 'yes', alarmState: 0, readerOnline: true }), { qos: 1 });
      await vendor.publishAsync(`${base}/door/no-such-door/event`, JSON.stringify({ type: 'door-forced-open', ts: Date.now() }), { qos: 1 });
      const unfit = await eventually(() => {
        const u = gw.stats().mqtt['access-bridge']!.unfit;
        return (u['door/door-f02-01/state'] ?? 0) >= 2 && (u['door/+/event'] ?? 0) >= 1 ? u : null;
      }, 5000);
      expect(unfit['door/door-f02-01/state']).toBe(2);
      // The fields that did fit still count: the same payload's alarm state arrived.
      await eventually(() => ingest.samplesOf('door-f02-01.alarm_state').length > 0, 3000);
    } finally {
      await vendor.endAsync();
    }
    // Still mapping what does fit.
    sims.inject('access-bridge', 'reader-tamper', { door: 'door-f04-02' });
    await eventually(() => events('access-bridge').find((e) => e.type === 'tamper' && e.asset === 'door-f04-02'), 5000);
  });
});
