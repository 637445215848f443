/**
 * The gateway against an independent Modbus implementation: pymodbus (Debian python3-pymodbus),
 * with float32 in both word orders and with swapped bytes, int32, float64, int64, bits of a status
 * word, a coil and an address that answers an exception.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseSite } from '@vigil/model';
import { eventually, freePort, peer, peersRequired, tempDir } from '../testing/index.ts';
import { startGateway, type RunningGateway } from './index.ts';
import { startIngest, startTestBroker, type TestBroker, type TestIngest } from './test-peers.ts';

function pymodbus(): boolean {
  const python = peer('/usr/bin/python3', 'python3-pymodbus');
  if (!python.ok) return false;
  if (spawnSync(python.path, ['-c', 'import pymodbus.server, pymodbus.datastore']).status === 0) return true;
  const reason = 'python module pymodbus not importable by /usr/bin/python3 (Debian package python3-pymodbus)';
  if (peersRequired) throw new Error(`VIGIL_REQUIRE_PEERS=1 but ${reason}`);
  console.warn(`skipped: ${reason}`);
  return false;
}

describe.skipIf(!pymodbus())('gateway with a pymodbus device', () => {
  let broker: TestBroker;
  let device: ChildProcess;
  let gateway: RunningGateway;
  let ingest: TestIngest;
  const dir = tempDir('vigil-gateway-');

  beforeAll(async () => {
    const port = await freePort();
    device = spawn('/usr/bin/python3', [fileURLToPath(new URL('./testdata/pymodbus_device.py', import.meta.url)), String(port)], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      device.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      device.once('exit', (code) => reject(new Error(`pymodbus device exited with ${code}`)));
    });
    broker = await startTestBroker(await freePort());
    ingest = await startIngest(broker.url, 'lab', 'gw1');
    const site = parseSite(`
site: { id: lab, name: Lab, timezone: UTC }
buildings: [{ id: b, name: B, floors: [{ id: f, name: F, level: 0 }] }]
assets: [{ id: ahu, name: AHU, class: ahu, building: b, floor: f, department: technical }]
devices:
  - id: ahu-1
    protocol: modbus-tcp
    port: ${port}
    pollIntervalMs: 200
    timeoutMs: 500
    points:
      - { id: ahu.supply_temp, modbus: { table: holding, address: 0, type: float32 } }
      - { id: ahu.return_temp, modbus: { table: holding, address: 2, type: float32, wordOrder: little }, scale: 2, offset: 1 }
      - { id: ahu.energy, modbus: { table: holding, address: 4, type: int32 } }
      - { id: ahu.missing, modbus: { table: holding, address: 6, type: uint16 } }
      - { id: ahu.enable, modbus: { table: coil, address: 0, type: bool } }
      - { id: ahu.running, modbus: { table: holding, address: 10, type: bool, bit: 0 } }
      - { id: ahu.filter_alarm, modbus: { table: holding, address: 10, type: bool, bit: 1 } }
      - { id: ahu.frost, modbus: { table: holding, address: 10, type: bool, bit: 2 } }
      - { id: ahu.fault, modbus: { table: holding, address: 10, type: bool, bit: 15 } }
      - { id: ahu.runtime, modbus: { table: holding, address: 20, type: float64 }, scale: 0.5 }
      - { id: ahu.counter, modbus: { table: holding, address: 24, type: int64, wordOrder: little } }
      - { id: ahu.airflow, modbus: { table: holding, address: 28, type: float32, byteOrder: little } }
`);
    gateway = await startGateway({ site, gatewayId: 'gw1', bus: { url: broker.url }, dataDir: dir.path, log: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await gateway?.close();
    await ingest?.close();
    await broker?.stop();
    device?.kill();
    dir.remove();
  });

  it('decodes every type and order, bits of a status word and a coil, and marks only the refused address bad', async () => {
    const batch = await eventually(() => ingest.batches.find((b) => b.samples.length === 12), 10_000);
    const byPoint = Object.fromEntries(batch.samples.map((s) => [s.point, s]));
    expect(byPoint['ahu.supply_temp']).toMatchObject({ value: 12.5, quality: 'good' });
    expect(byPoint['ahu.return_temp']).toMatchObject({ value: -5.5, quality: 'good' });
    expect(byPoint['ahu.energy']).toMatchObject({ value: -123456, quality: 'good' });
    expect(byPoint['ahu.enable']).toMatchObject({ value: true, quality: 'good' });
    expect(byPoint['ahu.missing']).toMatchObject({ value: null, quality: 'bad', reason: 'exception' });
    expect([byPoint['ahu.running'], byPoint['ahu.filter_alarm'], byPoint['ahu.frost'], byPoint['ahu.fault']].map((s) => s?.value)).toEqual([true, false, true, true]);
    expect(byPoint['ahu.runtime']).toMatchObject({ value: -617.2839, quality: 'good' });
    expect(byPoint['ahu.counter']).toMatchObject({ value: -9007199254740991, quality: 'good' });
    expect(byPoint['ahu.airflow']).toMatchObject({ value: 101.25, quality: 'good' });
    await eventually(() => ingest.statuses.find((s) => s.devices?.['ahu-1']?.state === 'degraded'));
    expect(gateway.stats().errors.exception).toBeGreaterThan(0);
  });
});
