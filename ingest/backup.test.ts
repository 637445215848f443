import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/index.ts';
import { backupDatabases, restoreDatabases } from './backup.ts';
import { lockDataDir, DataDirLockedError } from './data-dir-lock.ts';
import { SqliteTimeSeriesStore, TIMESERIES_FILE } from './sqlite-timeseries.ts';
import { SqliteStateStore, STATE_FILE } from './state-store.ts';
import { openExisting, SchemaTooNewError } from './sqlite.ts';

describe('backup and restore', () => {
  let dir: ReturnType<typeof tempDir>;
  const T = Date.now() - 60_000;
  const sample = (ts: number, value: number) => ({ point: 'a.p', ts, value, quality: 'good' as const });
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('saves both databases while they are being written, into one tar, and restores them', async () => {
    const data = join(dir.path, 'data');
    const store = SqliteTimeSeriesStore.open(data, { rollupEveryMs: 0, retentionEveryMs: 0 });
    const state = SqliteStateStore.open(data);
    state.transaction(() => state.commitSeq('gw-1', 'booster-1', 7));
    store.writeSync([sample(T, 1)]);
    const file = join(dir.path, 'vigil.backup');

    // Writes go on while the backup runs: it is one consistent snapshot of each database.
    let n = 0;
    const writer = setInterval(() => store.writeSync([sample(T + ++n, n)]), 1);
    const summary = await backupDatabases(data, file);
    clearInterval(writer);
    expect(summary.databases.map((d) => d.name)).toEqual([STATE_FILE, TIMESERIES_FILE]);
    expect(execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n')).toEqual(['manifest.json', STATE_FILE, TIMESERIES_FILE]);

    store.writeSync([sample(T + 50_000, 99)]); // after the backup: gone once restored
    store.closeSync();
    state.close();

    const target = join(dir.path, 'restored');
    await restoreDatabases(file, data);
    await restoreDatabases(file, target); // also into a fresh data dir
    for (const d of [data, target]) {
      const restored = SqliteTimeSeriesStore.open(d, { rollupEveryMs: 0, retentionEveryMs: 0 });
      const h = restored.historySync('a.p', 0, Date.now());
      const values = h.resolution === 'raw' ? h.samples.map((s) => s.value) : [];
      expect(values[0]).toBe(1);
      expect(values).not.toContain(99);
      expect(values).toEqual(values.map((_, i) => (i === 0 ? 1 : i))); // a prefix of what was written: consistent
      restored.closeSync();
      const restoredState = SqliteStateStore.open(d);
      expect(restoredState.committedSeq('gw-1', 'booster-1')).toBe(7);
      restoredState.close();
    }
  });

  it('refuses to restore over a running ingest, a file that is not a backup, and a newer schema', async () => {
    const data = join(dir.path, 'data');
    const file = join(dir.path, 'vigil.backup');
    SqliteTimeSeriesStore.open(data, { rollupEveryMs: 0, retentionEveryMs: 0 }).closeSync();
    await backupDatabases(data, file);

    const release = lockDataDir(data, 'ingest');
    await expect(restoreDatabases(file, data)).rejects.toThrow(DataDirLockedError);
    await expect(restoreDatabases(file, data)).rejects.toThrow(/in use by ingest/);
    release();

    const junk = join(dir.path, 'junk');
    writeFileSync(junk, 'hello '.repeat(200));
    await expect(restoreDatabases(junk, data)).rejects.toThrow(/not a Vigil backup/);

    // A backup made by a newer Vigil: its time-series schema is ahead of this code.
    const newer = join(dir.path, 'newer');
    const db = openExisting(join(data, TIMESERIES_FILE));
    db.pragma('user_version = 99');
    db.close();
    await expect(backupDatabases(data, newer)).rejects.toThrow(SchemaTooNewError); // nor is one made
    const other = join(dir.path, 'other');
    const made = tempDir();
    try {
      SqliteTimeSeriesStore.open(made.path, { rollupEveryMs: 0, retentionEveryMs: 0 }).closeSync();
      const raw = openExisting(join(made.path, TIMESERIES_FILE));
      raw.pragma('user_version = 99');
      raw.close();
      // The archive a newer Vigil would make, built with tar(1).
      SqliteStateStore.open(made.path).close();
      writeFileSync(join(made.path, 'manifest.json'), JSON.stringify({ format: 'vigil-backup', formatVersion: 1, createdAt: 0, databases: [] }));
      execFileSync('tar', ['--format=ustar', '-cf', other, '-C', made.path, 'manifest.json', STATE_FILE, TIMESERIES_FILE]);
    } finally {
      made.remove();
    }
    const fresh = join(dir.path, 'fresh');
    await expect(restoreDatabases(other, fresh)).rejects.toThrow(/schema version 99, but this version of Vigil knows schema versions up to 2/);
  });
});
