/** Interop: Debian's mbpoll (libmodbus) reads every Modbus model's documented map, as a person on site would. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { peer, portOf, useFreePorts } from '../testing/index.ts';
import { createSimClock, startSimulators, type RunningSimulators } from './index.ts';
import { MAPS, decodeReads, implausible, mapReads, type RawReads } from './modbus/map-reads.ts';

const mbpoll = peer('mbpoll', 'mbpoll');
const run = promisify(execFile);
/** One device per Modbus model. */
const DEVICES = ['booster-1', 'sump-1', 'fire-jockey', 'fire-main', 'lift-1-ctl'];
/** mbpoll's -t for each table: 0 coils, 1 discrete inputs, 4 holding registers. */
const MBPOLL_TYPE = { coil: '0', discrete: '1', holding: '4', input: '3' } as const;

/** mbpoll prints one `[reference]: \tvalue` line per value; references are 1-based unless -0. */
function values(stdout: string): Map<number, number> {
  return new Map([...stdout.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
}

describe.skipIf(!mbpoll.ok)('mbpoll reads every Modbus simulator', () => {
  let sims: RunningSimulators;
  let site: Site;
  const port = (id: string) => portOf(site.devices.find((d) => d.id === id));
  /** `mbpoll -m tcp -a 1 -1 -o 2 -p PORT … 127.0.0.1 [write values]` */
  const poll = (id: string, args: string[], writes: string[] = []) => run(mbpoll.path, ['-m', 'tcp', '-a', '1', '-1', '-o', '2', '-p', String(port(id)), ...args, '127.0.0.1', ...writes], { timeout: 10_000 });

  beforeAll(async () => {
    site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: DEVICES, clock: createSimClock({ start: Date.parse('2026-03-02T10:00:00+08:00') }) });
  });
  afterAll(async () => {
    await sims?.close();
  });

  it('reads each model\'s whole documented map (coils, discrete inputs, holding registers) with plausible values', async () => {
    for (const id of DEVICES) {
      const map = MAPS[site.devices.find((d) => d.id === id)!.simulator!.model]!;
      const raw: RawReads = {};
      for (const r of mapReads(map)) {
        const { stdout } = await poll(id, ['-t', MBPOLL_TYPE[r.table], '-r', String(r.address + 1), '-c', String(r.count)]);
        const v = values(stdout);
        expect(v.size, `${id} ${r.table}`).toBe(r.count);
        raw[r.table] = Array.from({ length: r.count }, (_, i) => v.get(r.address + 1 + i)! & 0xffff);
      }
      expect(implausible(map, decodeReads(map, raw)), id).toEqual([]);
    }
  });

  it('reads the discharge pressure as a big-endian (ABCD) float32 at holding 2', async () => {
    const pressure = values((await poll('booster-1', ['-t', '4:float', '-B', '-r', '3', '-c', '1'])).stdout).get(3)!;
    expect(pressure).toBeGreaterThan(0.77);
    expect(pressure).toBeLessThan(0.83);
  });

  it('stops a pump through its run coil and sees the fault code of an injected fault', async () => {
    sims.inject('booster-1', 'cavitation');
    expect(values((await poll('booster-1', ['-t', '4', '-r', '5', '-c', '1'])).stdout).get(5)).toBe(208);
    await poll('booster-1', ['-t', '0', '-r', '1'], ['0']);
    expect(values((await poll('booster-1', ['-t', '1', '-r', '1', '-c', '1'])).stdout).get(1)).toBe(0);
    expect(values((await poll('booster-1', ['-t', '4', '-r', '1', '-c', '1'])).stdout).get(1)).toBe(0);
    sims.inject('lift-1-ctl', 'entrapment');
    expect(values((await poll('lift-1-ctl', ['-t', '4', '-r', '9', '-c', '1'])).stdout).get(9)).toBe(8);
  });

  it('gets "Illegal data address" past each bank and for a write to a measurement', async () => {
    for (const id of DEVICES) {
      const size = MAPS[site.devices.find((d) => d.id === id)!.simulator!.model]!.sizes.holdingRegisters;
      await expect(poll(id, ['-t', '4', '-r', String(size + 1), '-c', '1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/Illegal data address/i) });
    }
    await expect(poll('sump-1', ['-t', '4', '-r', '1'], ['5'])).rejects.toMatchObject({ stderr: expect.stringMatching(/Illegal data address/i) });
  });
});
