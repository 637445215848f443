/** Interop: Debian's mbpoll (libmodbus) reads the simulator, as a person on site would. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile } from '@vigil/model';
import { freePort, peer, portOf, useFreePorts } from '../testing/index.ts';
import { startSimulators, type RunningSimulators } from './index.ts';

const mbpoll = peer('mbpoll', 'mbpoll');
const run = promisify(execFile);

/** mbpoll prints one `[reference]: \tvalue` line per value; references are 1-based unless -0. */
function values(stdout: string): Map<number, number> {
  return new Map([...stdout.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
}

describe.skipIf(!mbpoll.ok)('mbpoll reads the booster pump simulator', () => {
  let sims: RunningSimulators;
  let port: number;
  /** `mbpoll -m tcp -a 1 -1 -o 2 -p PORT … 127.0.0.1 [write values]` */
  const poll = (args: string[], writes: string[] = []) => run(mbpoll.path, ['-m', 'tcp', '-a', '1', '-1', '-o', '2', '-p', String(port), ...args, '127.0.0.1', ...writes], { timeout: 10_000 });

  beforeAll(async () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    port = portOf(site.devices[0]);
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: ['booster-1'] });
  });
  afterAll(async () => {
    await sims?.close();
  });

  it('reads holding registers 0-4 (mbpoll references 1-5) with plausible values', async () => {
    const { stdout } = await poll(['-t', '4', '-r', '1', '-c', '5']);
    const v = values(stdout);
    expect(v.size).toBe(5);
    expect(v.get(1)! * 0.01).toBeGreaterThanOrEqual(70); // speed, 0.01 %
    expect(v.get(1)! * 0.01).toBeLessThanOrEqual(85);
    expect(v.get(2)! * 0.1).toBeGreaterThan(15); // motor current, 0.1 A
    expect(v.get(2)! * 0.1).toBeLessThan(22);
    expect(v.get(5)).toBe(0); // fault code
  });

  it('reads the discharge pressure as a big-endian (ABCD) float32 at holding 2', async () => {
    const { stdout } = await poll(['-t', '4:float', '-B', '-r', '3', '-c', '1']);
    const pressure = values(stdout).get(3)!;
    expect(pressure).toBeGreaterThan(0.785);
    expect(pressure).toBeLessThan(0.815);
  });

  it('reads the running bit, stops the pump through the run coil, and sees the fault code', async () => {
    expect(values((await poll(['-t', '1', '-r', '1', '-c', '1'])).stdout).get(1)).toBe(1);
    sims.inject('booster-1', 'cavitation');
    expect(values((await poll(['-t', '4', '-r', '5', '-c', '1'])).stdout).get(5)).toBe(208);
    await poll(['-t', '0', '-r', '1'], ['0']);
    expect(values((await poll(['-t', '1', '-r', '1', '-c', '1'])).stdout).get(1)).toBe(0);
    expect(values((await poll(['-t', '4', '-r', '1', '-c', '1'])).stdout).get(1)).toBe(0);
  });

  it('gets "Illegal data address" past the bank', async () => {
    await expect(poll(['-t', '4', '-r', '17', '-c', '1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/Illegal data address/i) });
  });
});
