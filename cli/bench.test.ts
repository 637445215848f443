/** `vigil bench` keeps working: a one-second run writes the JSON keys DESIGN.md promises (no timing asserted). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../testing/index.ts';

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
});
