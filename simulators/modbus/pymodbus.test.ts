/** Interop: a pymodbus client (Debian's python3-pymodbus 3.0) reads every Modbus model's documented map. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { peer, portOf, useFreePorts } from '../../testing/index.ts';
import { createSimClock, startSimulators, type RunningSimulators } from '../index.ts';
import { MAPS, decodeReads, implausible, mapReads, type RawReads, type TableRead } from './map-reads.ts';

const python = peer('/usr/bin/python3', 'python3');
const hasPymodbus = python.ok && (await promisify(execFile)(python.path, ['-c', 'import pymodbus.client']).then(() => true, () => false));
if (python.ok && !hasPymodbus && process.env.VIGIL_REQUIRE_PEERS === '1') throw new Error('VIGIL_REQUIRE_PEERS=1 but pymodbus is missing (Debian package python3-pymodbus)');
if (python.ok && !hasPymodbus) console.warn('skipped: pymodbus not found (Debian package python3-pymodbus)');
const SCRIPT = fileURLToPath(new URL('../testdata/read_map.py', import.meta.url));
const DEVICES = ['booster-2', 'sump-2', 'fire-jockey', 'fire-main', 'lift-ff-ctl'];

async function pymodbusRead(port: number, reads: TableRead[]): Promise<Array<number[] | { exception: number }>> {
  const { stdout } = await promisify(execFile)(python.path, [SCRIPT, '127.0.0.1', String(port), '1', JSON.stringify(reads)], { timeout: 15_000 });
  return (JSON.parse(stdout) as { reads: Array<number[] | { exception: number }> }).reads;
}

describe.skipIf(!hasPymodbus)('pymodbus reads every Modbus simulator', () => {
  let sims: RunningSimulators;
  let site: Site;
  const port = (id: string) => portOf(site.devices.find((d) => d.id === id));

  beforeAll(async () => {
    site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: DEVICES, clock: createSimClock({ start: Date.parse('2026-03-02T10:00:00+08:00') }) });
  });
  afterAll(async () => {
    await sims?.close();
  });

  it('reads each model\'s whole documented map with plausible values, and gets exception 2 past the bank', async () => {
    for (const id of DEVICES) {
      const map = MAPS[site.devices.find((d) => d.id === id)!.simulator!.model]!;
      const reads = mapReads(map);
      const past: TableRead = { table: 'holding', address: map.sizes.holdingRegisters, count: 1 };
      const answers = await pymodbusRead(port(id), [...reads, past]);
      const raw: RawReads = {};
      reads.forEach((r, i) => {
        const a = answers[i]!;
        expect(Array.isArray(a), `${id} ${r.table}`).toBe(true);
        raw[r.table] = a as number[];
      });
      expect(implausible(map, decodeReads(map, raw)), id).toEqual([]);
      expect(answers.at(-1), id).toEqual({ exception: 2 });
    }
  });

  it('sees an injected fault in the registers', async () => {
    sims.inject('fire-main', 'fails-to-start');
    sims.inject('lift-ff-ctl', 'out-of-service');
    const [main] = await pymodbusRead(port('fire-main'), [{ table: 'holding', address: 0, count: 4 }]);
    expect((main as number[])[2]).toBe(1); // mode auto; fault code follows a failed start
    const [lift] = await pymodbusRead(port('lift-ff-ctl'), [{ table: 'holding', address: 3, count: 1 }]);
    expect(lift).toEqual([12]); // car mode out-of-service
  });
});
