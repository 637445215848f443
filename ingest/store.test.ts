import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { tempDir } from '../testing/index.ts';
import { migrate, openDatabase, SchemaTooNewError, type Database, type Migration } from './sqlite.ts';
import { SqliteTimeSeriesStore, TIMESERIES_FILE, TIMESERIES_MIGRATIONS } from './sqlite-timeseries.ts';
import { SqliteStateStore, STATE_FILE, STATE_MIGRATIONS } from './state-store.ts';
import { openStateReader } from './reader.ts';

const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => Database;
const version = (db: Database) => Number(db.pragma('user_version', { simple: true }));

describe('SQLite schemas', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('creates both databases in WAL mode at the latest version, and reopens without migrating again', async () => {
    const reader = openStateReader(join(dir.path, 'nested', 'data'));
    expect(reader.alarms()).toEqual([]);
    expect(reader.tickets()).toEqual([]);
    expect(reader.latest('pump-b1-1.speed')).toBeUndefined();
    expect(await reader.history('pump-b1-1.speed', 0, Date.now())).toEqual({ point: 'pump-b1-1.speed', resolution: 'raw', samples: [] });
    reader.close();

    for (const [file, migrations] of [
      [STATE_FILE, STATE_MIGRATIONS],
      [TIMESERIES_FILE, TIMESERIES_MIGRATIONS],
    ] as const) {
      const db = openDatabase(join(dir.path, 'nested', 'data', file), migrations);
      expect(version(db)).toBe(migrations.at(-1)!.version);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    }
  });

  it('runs only the missing forward migrations, in order', () => {
    const file = join(dir.path, 'm.sqlite');
    const v1: Migration[] = [{ version: 1, description: 'a', sql: 'CREATE TABLE a (x INTEGER)' }];
    const v2: Migration[] = [...v1, { version: 2, description: 'b', sql: 'ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b (z)' }];
    openDatabase(file, v1).prepare('INSERT INTO a (x) VALUES (1)').run();
    const db = openDatabase(file, v2);
    expect(version(db)).toBe(2);
    expect(db.prepare('SELECT x, y FROM a').all()).toEqual([{ x: 1, y: null }]);
    migrate(db, file, v2); // nothing left to do: no "table already exists"
    db.close();
  });

  it('refuses a database newer than the code, naming the file and both versions', () => {
    const data = dir.path;
    openStateReader(data).close();
    const file = join(data, STATE_FILE);
    const raw = new BetterSqlite3(file);
    raw.pragma('user_version = 99');
    raw.close();

    const known = STATE_MIGRATIONS.at(-1)!.version;
    expect(() => openStateReader(data)).toThrow(SchemaTooNewError);
    expect(() => SqliteStateStore.open(data)).toThrow(`${file} has schema version 99, but this version of Vigil knows schema versions up to ${known}`);
    // Left as it was: not downgraded, not touched.
    const check = new BetterSqlite3(file);
    expect(version(check)).toBe(99);
    check.close();
  });

  it('refuses a newer time-series database too', () => {
    const file = join(dir.path, TIMESERIES_FILE);
    const raw = new BetterSqlite3(file);
    raw.pragma('user_version = 7');
    raw.close();
    expect(() => SqliteTimeSeriesStore.open(dir.path)).toThrow(/timeseries\.sqlite has schema version 7/);
    expect(() => openStateReader(dir.path)).toThrow(SchemaTooNewError);
  });
});

describe('SqliteTimeSeriesStore', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SqliteTimeSeriesStore;
  beforeEach(() => {
    dir = tempDir();
    store = SqliteTimeSeriesStore.open(dir.path);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  // What every store must do is in timeseries-contract.ts; SQLite's own behaviour in sqlite-timeseries.test.ts.
  it('a reader connection cannot write', async () => {
    const reader = SqliteTimeSeriesStore.open(dir.path, { readOnly: true });
    await expect(reader.write([{ point: 'a.p', ts: 1, value: 1, quality: 'good' }])).rejects.toThrow(/readonly/i);
    await reader.close();
  });
});
