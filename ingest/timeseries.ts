/** Where samples go. SQLite is the embedded default; InfluxDB comes later behind the same interface. */
import { join } from 'node:path';
import type { Quality, Sample, SampleValue } from '@vigil/model';
import { openDatabase, type Database, type Migration, type Statement } from './sqlite.ts';

export interface StoredSample {
  point: string;
  ts: number;
  value: number | boolean | string | null;
  quality: Quality;
  reason?: string;
}

export interface TimeSeriesStore {
  /**
   * Stores one batch atomically. Idempotent per (point, ts): a batch replayed after a crash between
   * this write and the commit of its `seq` overwrites itself instead of doubling.
   */
  write(samples: readonly Sample[]): Promise<void>;
  close(): Promise<void>;
}

export const TIMESERIES_FILE = 'timeseries.sqlite';

export const TIMESERIES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'samples and the latest value per point',
    // `value` has no declared type so SQLite keeps numbers and text as given; `kind` restores booleans and null.
    sql: `
      CREATE TABLE samples (
        point   TEXT    NOT NULL,
        ts      INTEGER NOT NULL,
        value,
        kind    TEXT    NOT NULL CHECK (kind IN ('number', 'boolean', 'string', 'null')),
        quality TEXT    NOT NULL,
        reason  TEXT,
        PRIMARY KEY (point, ts)
      ) WITHOUT ROWID;
      CREATE TABLE latest (
        point   TEXT    PRIMARY KEY,
        ts      INTEGER NOT NULL,
        value,
        kind    TEXT    NOT NULL,
        quality TEXT    NOT NULL,
        reason  TEXT
      ) WITHOUT ROWID;
    `,
  },
];

interface SampleRow {
  point: string;
  ts: number;
  value: number | string | null;
  kind: 'number' | 'boolean' | 'string' | 'null';
  quality: Quality;
  reason: string | null;
}

function kindOf(value: SampleValue): SampleRow['kind'] {
  if (value === null) return 'null';
  return typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : 'string';
}

function encodeValue(value: SampleValue): number | string | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function decode(row: SampleRow): StoredSample {
  const value = row.kind === 'boolean' ? row.value === 1 : row.kind === 'null' ? null : row.value;
  const out: StoredSample = { point: row.point, ts: row.ts, value, quality: row.quality };
  if (row.reason !== null) out.reason = row.reason;
  return out;
}

/** Default cap on one history read, so a careless query cannot exhaust memory. */
export const HISTORY_LIMIT = 10_000;

export class SqliteTimeSeriesStore implements TimeSeriesStore {
  readonly #db: Database;
  readonly #insert: Statement;
  readonly #upsertLatest: Statement;
  readonly #latest: Statement<SampleRow>;
  readonly #history: Statement<SampleRow>;
  readonly #writeBatch: (samples: readonly Sample[]) => void;

  private constructor(db: Database) {
    this.#db = db;
    this.#insert = db.prepare('INSERT OR REPLACE INTO samples (point, ts, value, kind, quality, reason) VALUES (?, ?, ?, ?, ?, ?)');
    // Only a newer sample replaces the latest value: replays and late batches must not move it back.
    this.#upsertLatest = db.prepare(`
      INSERT INTO latest (point, ts, value, kind, quality, reason) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (point) DO UPDATE SET ts = excluded.ts, value = excluded.value, kind = excluded.kind,
        quality = excluded.quality, reason = excluded.reason
      WHERE excluded.ts >= latest.ts`);
    this.#latest = db.prepare<SampleRow>('SELECT point, ts, value, kind, quality, reason FROM latest WHERE point = ?');
    this.#history = db.prepare<SampleRow>(
      'SELECT point, ts, value, kind, quality, reason FROM samples WHERE point = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?',
    );
    this.#writeBatch = db.transaction((samples: readonly Sample[]) => {
      for (const s of samples) {
        const row = [s.point, s.ts, encodeValue(s.value), kindOf(s.value), s.quality, s.reason ?? null];
        this.#insert.run(...row);
        this.#upsertLatest.run(...row);
      }
    });
  }

  /** `<dataDir>/timeseries.sqlite`, migrated forward. `readOnly` connections refuse every write (the API's). */
  static open(dataDir: string, opts: { readOnly?: boolean } = {}): SqliteTimeSeriesStore {
    return new SqliteTimeSeriesStore(openDatabase(join(dataDir, TIMESERIES_FILE), TIMESERIES_MIGRATIONS, { queryOnly: opts.readOnly }));
  }

  async write(samples: readonly Sample[]): Promise<void> {
    this.writeSync(samples);
  }

  /** One transaction per batch. */
  writeSync(samples: readonly Sample[]): void {
    if (samples.length > 0) this.#writeBatch(samples);
  }

  latest(point: string): StoredSample | undefined {
    const row = this.#latest.get(point);
    return row ? decode(row) : undefined;
  }

  /** Samples with from ≤ ts ≤ to, oldest first. */
  history(point: string, from: number, to: number, limit = HISTORY_LIMIT): StoredSample[] {
    const n = Number.isFinite(limit) ? Math.max(0, Math.min(Math.floor(limit), HISTORY_LIMIT * 10)) : HISTORY_LIMIT;
    return this.#history.all(point, from, to, n).map(decode);
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.#db.open) this.#db.close();
  }
}
