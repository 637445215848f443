/**
 * The BACnet/IP driver against the fire-panel and ahu simulators on loopback, through the gateway
 * to an ingest stand-in: discovery, RPM polling, the ReadProperty fallback, COV (and polling when it
 * falls silent), priority writes, and devices that time out or answer garbage.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { DEMO_SITE_FILE, loadSiteFile, type BacnetDevice, type Site } from '@vigil/model';
import { startSimulators, type RunningSimulators } from '@vigil/simulators';
import { eventually, freePort, portOf, tempDir, useFreePorts } from '../testing/index.ts';
import { TestClient } from '../testing/bacnet-client.ts';
import { discoverBacnet, startGateway, type RunningGateway } from './index.ts';
import { startCovDroppingRelay, startGarbageBacnetDevice, startIngest, startTestBroker, type TestBroker, type TestIngest } from './test-peers.ts';

const log = pino({ level: 'silent' });
const BACNET = ['fire-panel', 'ahu-1-ctl'];

/** The demo site with only its BACnet devices, on free ports. */
async function bacnetSite(): Promise<Site> {
  const site = loadSiteFile(DEMO_SITE_FILE);
  site.devices = site.devices.filter((d) => BACNET.includes(d.id));
  await useFreePorts(site);
  return site;
}

const device = (site: Site, id: string) => site.devices.find((d) => d.id === id) as BacnetDevice;

describe('BACnet/IP driver', () => {
  let broker: TestBroker;
  let dir: ReturnType<typeof tempDir>;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    broker = await startTestBroker(await freePort());
  });
  afterAll(async () => {
    await broker.stop();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    dir?.remove();
  });

  async function simulate(site: Site): Promise<RunningSimulators> {
    const sims = await startSimulators({ site, log, devices: site.devices.filter((d) => d.simulator).map((d) => d.id) });
    closers.push(() => sims.close());
    return sims;
  }

  async function gateway(site: Site, covLifetimeS = 300): Promise<{ gw: RunningGateway; ingest: TestIngest }> {
    dir = tempDir('vigil-bacnet-');
    const ingest = await startIngest(broker.url, site.site.id, 'gw-bacnet');
    closers.push(() => ingest.close());
    const gw = await startGateway({ site, gatewayId: 'gw-bacnet', bus: { url: broker.url }, dataDir: dir.path, log, bacnet: { interface: '127.0.0.1', covLifetimeS } });
    closers.push(() => gw.close());
    return { gw, ingest };
  }

  const last = (ingest: TestIngest, point: string) => ingest.samplesOf(point).at(-1);

  it('discovers both simulators by unicast Who-Is and renders their objects as a site-file snippet', async () => {
    const site = await bacnetSite();
    await simulate(site);
    const [fire, ahu] = [portOf(device(site, 'fire-panel')), portOf(device(site, 'ahu-1-ctl'))];
    const found = await discoverBacnet({ addresses: [`127.0.0.1:${fire}`, `127.0.0.1:${ahu}`], timeoutMs: 500 });
    expect(found.devices.map((d) => [d.instance, d.address])).toEqual([
      [1001, `127.0.0.1:${fire}`],
      [2001, `127.0.0.1:${ahu}`],
    ]);
    const panel = found.devices[0]!;
    expect(panel.objects).toContainEqual(expect.objectContaining({ type: 22, instance: 1, name: 'fire-zone-b2' }));
    const snippet = parseYaml(found.yaml) as { devices: Array<{ instance: number; port: number; points: Array<{ id: string; bacnet: { type: number; cov?: boolean } }> }> };
    expect(snippet.devices.map((d) => [d.instance, d.port])).toEqual([
      [1001, fire],
      [2001, ahu],
    ]);
    expect(snippet.devices[0]!.points).toContainEqual({ id: 'fire-panel.fire-zone-b2', name: 'Basement 2 (pump rooms, parking)', bacnet: { type: 22, instance: 1, cov: true } });

    // A port range on one host finds the same device; an address off loopback is refused.
    const ranged = await discoverBacnet({ addresses: { host: '127.0.0.1', fromPort: ahu, toPort: ahu }, timeoutMs: 300 });
    expect(ranged.devices.map((d) => d.instance)).toEqual([2001]);
    await expect(discoverBacnet({ addresses: ['192.0.2.1:47808'] })).rejects.toThrow(/not on loopback/);
  });

  it('polls with ReadPropertyMultiple, maps Status_Flags and Reliability to quality, and an unknown object to an exception of its own', async () => {
    const site = await bacnetSite();
    const ahu = device(site, 'ahu-1-ctl');
    ahu.pollIntervalMs = 200;
    // An object the controller does not have: only this point goes bad.
    ahu.points.push({ ...ahu.points[0]!, id: 'ahu-1.ghost', bacnet: { type: 0, instance: 99, property: 85, cov: false } });
    const sims = await simulate(site);
    const { ingest } = await gateway(site);

    await eventually(() => last(ingest, 'ahu-1.supply_air_temp')?.quality === 'good' && last(ingest, 'fire-zone-f05.state'), 5000);
    expect(last(ingest, 'fire-zone-f05.state')).toMatchObject({ value: 0, quality: 'good' });
    expect(last(ingest, 'fire-panel.silenced')).toMatchObject({ value: 1, quality: 'good' });
    expect(last(ingest, 'ahu-1.supply_air_temp_sp')).toMatchObject({ value: 16, quality: 'good' });
    expect(last(ingest, 'ahu-1.ghost')).toMatchObject({ value: null, quality: 'bad', reason: 'exception 1/31' });
    expect(sims.counters().devices['ahu-1-ctl']!.rejected).toBe(0);

    // Reliability open-loop sets Status_Flags FAULT: bad, with the reason.
    sims.inject('ahu-1-ctl', 'sensor-failed', { sensor: 'return-air-temperature' });
    await eventually(() => last(ingest, 'ahu-1.return_air_temp')?.quality === 'bad', 5000);
    expect(last(ingest, 'ahu-1.return_air_temp')).toMatchObject({ quality: 'bad', reason: 'fault open-loop' });
    expect(last(ingest, 'ahu-1.supply_air_temp')?.quality).toBe('good');
  });

  it('falls back to ReadProperty for a legacy controller that rejects ReadPropertyMultiple', async () => {
    const site = await bacnetSite();
    site.devices = site.devices.filter((d) => d.id === 'ahu-1-ctl');
    const ahu = device(site, 'ahu-1-ctl');
    ahu.pollIntervalMs = 200;
    ahu.simulator!.params = { legacy: true };
    const sims = await simulate(site);
    const { ingest } = await gateway(site);
    await eventually(() => ahu.points.every((p) => last(ingest, p.id)?.quality === 'good'), 8000);
    expect(last(ingest, 'ahu-1.fan_status')).toMatchObject({ value: 1, quality: 'good' });
    // The RPM was rejected once (unrecognized-service), then never sent again.
    const rejected = sims.counters().devices['ahu-1-ctl']!.rejected;
    expect(rejected).toBe(1);
  });

  it('receives COV after a fire alarm and its reset, and polls a zone whose notifications fall silent within one renewal period', async () => {
    const site = await bacnetSite();
    site.devices = site.devices.filter((d) => d.id === 'fire-panel');
    const sims = await simulate(site);
    // The gateway reaches the panel through a relay that can drop its COV notifications.
    const relay = await startCovDroppingRelay(portOf(device(site, 'fire-panel')));
    closers.push(() => relay.close());
    const gwSite = structuredClone(site);
    const panel = device(gwSite, 'fire-panel');
    panel.port = relay.port;
    // Polling alone would take a minute: what arrives sooner came by COV (or by the silence fallback).
    panel.pollIntervalMs = 60_000;
    const lifetimeS = 4; // renewed every 2 s
    const { ingest } = await gateway(gwSite, lifetimeS);
    await eventually(() => last(ingest, 'fire-zone-f05.state')?.value === 0, 5000);

    sims.inject('fire-panel', 'fire-alarm', { zone: 'f05' });
    await eventually(() => last(ingest, 'fire-zone-f05.state')?.value === 2, 3000);
    expect(last(ingest, 'fire-panel.fire_alarm')).toMatchObject({ value: 1, quality: 'good' });
    sims.clear('fire-panel', 'fire-alarm');
    await eventually(() => last(ingest, 'fire-zone-f05.state')?.value === 0, 3000);
    const covSoFar = sims.counters().devices['fire-panel']!.covNotifications;
    expect(covSoFar).toBeGreaterThan(28);

    // The panel's notifications stop reaching us: within one renewal period its zones are polled.
    relay.dropCov = true;
    sims.inject('fire-panel', 'pre-alarm', { zone: 'f07' });
    await eventually(() => last(ingest, 'fire-zone-f07.state')?.value === 1, (lifetimeS / 2) * 1000 + 3000);
    expect(relay.dropped).toBeGreaterThan(0);
  });

  it('writes a commandable point at a priority, visible in the priority array (clause 19.2)', async () => {
    const site = await bacnetSite();
    site.devices = site.devices.filter((d) => d.id === 'ahu-1-ctl');
    const ahu = device(site, 'ahu-1-ctl');
    ahu.pollIntervalMs = 200;
    await simulate(site);
    const { gw, ingest } = await gateway(site);
    const peer = await TestClient.open();
    closers.push(async () => peer.close());
    const slots = async () => (await peer.read(portOf(ahu), { type: 2, instance: 1 }, 87)) as Array<number | null>;

    await gw.write('ahu-1.supply_air_temp_sp', 18, 8);
    expect((await slots())[7]).toBe(18);
    await eventually(() => last(ingest, 'ahu-1.supply_air_temp_sp')?.value === 18, 3000);
    // A higher priority wins; relinquishing it hands control back to slot 8.
    await gw.write('ahu-1.supply_air_temp_sp', 20, 3);
    await eventually(() => last(ingest, 'ahu-1.supply_air_temp_sp')?.value === 20, 3000);
    await gw.write('ahu-1.supply_air_temp_sp', null, 3);
    await eventually(() => last(ingest, 'ahu-1.supply_air_temp_sp')?.value === 18, 3000);
    await gw.write('ahu-1.fan_cmd', 0, 8);
    await eventually(() => last(ingest, 'ahu-1.fan_status')?.value === 0, 3000);
    // Priority 6 is reserved (minimum on/off): the device refuses, and the gateway says so.
    await expect(gw.write('ahu-1.supply_air_temp_sp', 19, 6)).rejects.toThrow(/refused/);
    await expect(gw.write('ahu-1.supply_air_temp_sp', 19, 17)).rejects.toThrow(/1–16/);
  });

  it('a device that answers garbage or stops answering degrades only its own points', async () => {
    const site = await bacnetSite();
    const ahu = device(site, 'ahu-1-ctl');
    const fire = device(site, 'fire-panel');
    ahu.pollIntervalMs = 200;
    ahu.timeoutMs = 300;
    fire.pollIntervalMs = 200;
    fire.timeoutMs = 300;
    const garbage = await startGarbageBacnetDevice();
    closers.push(() => garbage.close());
    const junk: BacnetDevice = { ...ahu, id: 'junk', port: garbage.port, instance: 9, simulator: undefined, points: [{ ...ahu.points[0]!, id: 'ahu-1.junk' }] };
    site.devices.push(junk);
    const sims = await simulate(site);
    const { gw, ingest } = await gateway(site, 4);

    await eventually(() => last(ingest, 'ahu-1.junk')?.quality === 'bad' && last(ingest, 'ahu-1.supply_air_temp')?.quality === 'good', 5000);
    expect(garbage.answered).toBeGreaterThan(0);
    expect(gw.stats().bacnet!.stray + gw.stats().bacnet!.undecodable).toBeGreaterThan(0);

    // The panel goes silent: its points go bad once, with comm-lost; the AHU's stay good.
    sims.inject('fire-panel', 'comm-loss');
    await eventually(() => last(ingest, 'fire-zone-f01.state')?.reason === 'comm-lost', 5000);
    const lostSamples = ingest.samplesOf('fire-zone-f01.state').filter((s) => s.reason === 'comm-lost').length;
    const status = await eventually(() => ingest.statuses.findLast((s) => s.devices?.['fire-panel']?.state === 'offline'), 3000);
    expect(status.devices!['ahu-1-ctl']).toMatchObject({ state: 'online' });
    expect(status.devices!['junk']?.state).not.toBe('online');
    // The AHU keeps being polled (report by exception: compare the poll count, not its samples).
    const polls = gw.stats().polls;
    await eventually(() => gw.stats().polls > polls + 5, 5000);
    expect(last(ingest, 'ahu-1.supply_air_temp')?.quality).toBe('good');
    expect(ingest.samplesOf('fire-zone-f01.state').filter((s) => s.reason === 'comm-lost').length).toBe(lostSamples);

    sims.clear('fire-panel', 'comm-loss');
    await eventually(() => last(ingest, 'fire-zone-f01.state')?.quality === 'good', 5000);
    expect(last(ingest, 'ahu-1.junk')?.quality).toBe('bad');
  });
});
