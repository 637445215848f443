/** `vigil bench` keeps working: a one-second run writes the JSON keys DESIGN.md promises (no timing asserted). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../testing/index.ts';
import { benchGateway } from './bench-gateway.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('vigil bench', () => {
  it('prints a table and writes the JSON figures', () => {
    const dir = tempDir();
    const file = join(dir.path, 'bench.json');
    const res = spawnSync(process.execPath, ['bin/vigil.js', 'bench', '--seconds', '1', '--only', 'ingest', '--json', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^section\s+figure\s+measured\s+goal/m);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    dir.remove();
    expect(json.ingest.samplesPerSec).toBeGreaterThan(0);
    expect(json.ingest.alarmLatencyMs.p50).toBeGreaterThan(0);
    expect(json.ingest.alarmLatencyMs.p99).toBeGreaterThanOrEqual(json.ingest.alarmLatencyMs.p50);
  }, 120_000);

  it('measures a real `vigil gateway` process carrying every point of every poll', async () => {
    const g = await benchGateway({ seconds: 2, progress: () => undefined, shapes: { fleet: { devices: 3, points: 200 }, bigDevice: { devices: 1, points: 2000 } } });
    // Every register changes on every read and polls run each second: ~600 and ~2,000 points/s.
    expect(g.points).toBe(600);
    expect(g.pointsPerSec).toBeGreaterThan(300);
    expect(g.pointsPerSec).toBeLessThan(900);
    expect(g.cpuPercent).toBeGreaterThan(0);
    expect(g.rssMB).toBeGreaterThan(30);
    expect(g.startupS).toBeGreaterThan(0);
    expect(g.bigDevice).toMatchObject({ devices: 1, points: 2000, requestsInFlight: 16 });
    expect(g.bigDevice.pointsPerSec).toBeGreaterThan(1000);
  }, 120_000);
});
