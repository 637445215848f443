/** Writes to Modbus command points, with read-back, against the booster-pump simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { startSimulators, type RunningSimulators } from '@vigil/simulators';
import { eventually, freePort, tempDir, useFreePorts } from '../testing/index.ts';
import { startGateway, type RunningGateway } from './index.ts';
import { startIngest, startTestBroker, type TestBroker, type TestIngest } from './test-peers.ts';

const log = pino({ level: 'silent' });

describe('Modbus writes', () => {
  let broker: TestBroker;
  let sims: RunningSimulators;
  let ingest: TestIngest;
  let gw: RunningGateway;
  const dir = tempDir('vigil-modbus-write-');

  beforeAll(async () => {
    const full = loadSiteFile(DEMO_SITE_FILE);
    // The booster set only: three drives on one header.
    const site: Site = { ...full, devices: full.devices.filter((d) => d.id.startsWith('booster-')), detectors: [] };
    await useFreePorts(site);
    broker = await startTestBroker(await freePort());
    sims = await startSimulators({ site, log });
    ingest = await startIngest(broker.url, site.site.id, 'gw-write');
    gw = await startGateway({ site, gatewayId: 'gw-write', bus: { url: broker.url }, dataDir: dir.path, log });
    await eventually(() => ingest.samplesOf('pump-b1-1.running').length > 0, 10_000);
  });
  afterAll(async () => {
    await gw?.close();
    await ingest?.close();
    await sims?.close();
    await broker?.stop();
    dir.remove();
  });

  it('writes a coil (FC 5) and a scaled holding register (FC 16), reading each back', async () => {
    // Set point: holding 5, kPa on the wire (scale 0.001 MPa).
    await gw.write('pump-b1-1.pressure_sp', 0.75);
    await eventually(() => ingest.samplesOf('pump-b1-1.pressure_sp').some((s) => s.value === 0.75), 5000);
    // Run command off: the drive stops, and the gateway reports it.
    await gw.write('pump-b1-3.run_cmd', false);
    await eventually(() => ingest.samplesOf('pump-b1-3.run_cmd').at(-1)?.value === false, 5000);
    await gw.write('pump-b1-3.run_cmd', true);
  });

  it('refuses what cannot be written, saying why', async () => {
    await expect(gw.write('pump-b1-1.running', true)).rejects.toThrow(/discrete input is read-only/);
    await expect(gw.write('pump-b1-1.pressure_sp', 70)).rejects.toThrow(/outside what uint16 holds/);
    // The device refuses a measurement register with exception 2 (Modbus Application Protocol v1.1b §7).
    await expect(gw.write('pump-b1-1.speed', 50)).rejects.toThrow(/Illegal data address|exception|2/i);
    // A set point the drive clamps or ignores is caught by the read-back (1,700 kPa > its 1,600 limit → exception 3).
    await expect(gw.write('pump-b1-1.pressure_sp', 1.7)).rejects.toThrow();
    await expect(gw.write('pump-b1-1.nope', 1)).rejects.toThrow(/no point/);
  });
});
