/**
 * The embedded time-series store: raw samples, 1-minute and 1-hour rollups and the latest value per
 * point in `<dataDir>/timeseries.sqlite`.
 *
 * Rollups are kept by a cheap periodic job, not inside each write: a write only marks its (point,
 * minute) as pending (in the same transaction, so a crash cannot lose the mark), and the job
 * recomputes each pending minute from its raw samples, then the hour from its minutes. That keeps the
 * ingest path at about two statements per sample, and stays exact when a batch is replayed with
 * other values or a sample arrives late — an incremental sum would count those twice. The price is
 * that rollups hold only minutes that have ended: they lag the raw data by a minute and a few seconds
 * (history chooses rollups only for ranges long enough that this does not show).
 */
import { join } from 'node:path';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Quality, Sample, SampleValue } from '@vigil/model';
import { openDatabase, type Database, type Migration, type Statement } from './sqlite.ts';
import {
  clampLimit,
  DEFAULT_RETENTION,
  HOUR_MS,
  MAX_BUCKETS,
  MINUTE_MS,
  rollupWidth,
  type History,
  type HistoryOptions,
  type Retention,
  type RollupBucket,
  type StoredSample,
  type TimeSeriesHealth,
  type TimeSeriesStore,
} from './timeseries.ts';

export const TIMESERIES_FILE = 'timeseries.sqlite';

const ROLLUP_TABLE = `(
        point   TEXT    NOT NULL,
        ts      INTEGER NOT NULL,
        min     REAL    NOT NULL,
        max     REAL    NOT NULL,
        sum     REAL    NOT NULL,
        count   INTEGER NOT NULL,
        last    REAL    NOT NULL,
        PRIMARY KEY (point, ts)
      ) WITHOUT ROWID`;

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
  {
    version: 2,
    description: '1-minute and 1-hour rollups, and the minutes waiting to be rolled up',
    // Existing samples are marked pending, so the first rollup run covers the history written before.
    sql: `
      CREATE TABLE rollup_1m ${ROLLUP_TABLE};
      CREATE TABLE rollup_1h ${ROLLUP_TABLE};
      CREATE TABLE rollup_pending (
        point TEXT    NOT NULL,
        ts    INTEGER NOT NULL,
        PRIMARY KEY (point, ts)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO rollup_pending (point, ts) SELECT point, ts - ts % ${MINUTE_MS} FROM samples;
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

interface Aggregate {
  min: number | null;
  max: number | null;
  sum: number | null;
  count: number;
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

export interface SqliteTimeSeriesOptions {
  /** Refuses every write (the API's connection). No background jobs. */
  readOnly?: boolean;
  /** Keeps only the latest value per point: the InfluxDB store holds the history. No background jobs. */
  latestOnly?: boolean;
  retention?: Partial<Retention>;
  /** How often closed minutes are rolled up (default 10 s; 0: never, call rollUp()). */
  rollupEveryMs?: number;
  /** How often retention is enforced (default 10 min; 0: never, call enforceRetention()). */
  retentionEveryMs?: number;
  /** Wall clock, for retention. */
  now?: () => number;
  /** Called when a background job fails (it tries again at its next run). */
  onJobError?: (err: unknown, job: 'rollup' | 'retention') => void;
}

/** Work done per transaction by the background jobs: small enough that ingest never waits long. */
const ROLLUP_CHUNK = 500; // minutes
const RETENTION_CHUNK = 5000; // rows
const RETENTION_POINTS = 200;
/** A minute is rolled up this long after it ends, so late samples of a poll cycle land first. */
const ROLLUP_GRACE_MS = 5000;

export class SqliteTimeSeriesStore implements TimeSeriesStore {
  readonly retention: Retention;
  readonly #db: Database;
  readonly #latestOnly: boolean;
  readonly #now: () => number;
  readonly #st: ReturnType<typeof prepare>;
  readonly #writeBatch: (samples: readonly Sample[], marks: Array<[string, number]>) => void;
  /** (point → minute) marks committed since the last rollup chunk: saves re-marking on every sample. */
  readonly #marked = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  #jobsRunning: Promise<void> | null = null;
  #retentionCursor = '';
  readonly #health: TimeSeriesHealth = { status: 'up', failedWrites: 0 };

  private constructor(db: Database, opts: SqliteTimeSeriesOptions) {
    this.#db = db;
    this.#latestOnly = opts.latestOnly ?? false;
    this.#now = opts.now ?? Date.now;
    this.retention = { ...DEFAULT_RETENTION, ...opts.retention };
    this.#st = prepare(db);
    const st = this.#st;
    this.#writeBatch = db.transaction((samples: readonly Sample[], marks: Array<[string, number]>) => {
      // The latest value once per point per batch (a batch often holds several samples of a point).
      const newest = new Map<string, Sample>();
      for (const s of samples) {
        const seen = newest.get(s.point);
        if (!seen || s.ts >= seen.ts) newest.set(s.point, s);
      }
      for (const s of newest.values()) st.upsertLatest.run(s.point, s.ts, encodeValue(s.value), kindOf(s.value), s.quality, s.reason ?? null);
      if (this.#latestOnly) return;
      for (const s of samples) {
        st.insert.run(s.point, s.ts, encodeValue(s.value), kindOf(s.value), s.quality, s.reason ?? null);
        const minute = s.ts - (s.ts % MINUTE_MS);
        if (this.#marked.get(s.point) !== minute) {
          st.markPending.run(s.point, minute);
          marks.push([s.point, minute]);
        }
      }
    });
    if (!opts.readOnly && !this.#latestOnly) {
      const every = (ms: number, job: 'rollup' | 'retention') => {
        if (ms <= 0) return;
        const timer = setInterval(() => void this.#runJob(job, opts.onJobError), ms);
        timer.unref();
        this.#timers.push(timer);
      };
      every(opts.rollupEveryMs ?? 10_000, 'rollup');
      every(opts.retentionEveryMs ?? 10 * 60_000, 'retention');
    }
  }

  /** `<dataDir>/timeseries.sqlite`, migrated forward. */
  static open(dataDir: string, opts: SqliteTimeSeriesOptions = {}): SqliteTimeSeriesStore {
    const db = openDatabase(join(dataDir, TIMESERIES_FILE), TIMESERIES_MIGRATIONS, { queryOnly: opts.readOnly });
    return new SqliteTimeSeriesStore(db, opts);
  }

  async write(samples: readonly Sample[]): Promise<void> {
    this.writeSync(samples);
  }

  /** One transaction per batch. */
  writeSync(samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    const marks: Array<[string, number]> = [];
    try {
      this.#writeBatch(samples, marks);
    } catch (err) {
      this.#health.failedWrites++;
      this.#health.lastError = (err as Error).message;
      this.#health.lastErrorAt = this.#now();
      throw err;
    }
    // Only once committed: a rolled-back mark must not be remembered as made.
    for (const [point, minute] of marks) this.#marked.set(point, minute);
  }

  async latest(point: string): Promise<StoredSample | undefined> {
    return this.latestSync(point);
  }

  latestSync(point: string): StoredSample | undefined {
    const row = this.#st.latest.get(point);
    return row ? decode(row) : undefined;
  }

  async history(point: string, from: number, to: number, opts: HistoryOptions = {}): Promise<History> {
    return this.historySync(point, from, to, opts);
  }

  historySync(point: string, from: number, to: number, opts: HistoryOptions = {}): History {
    const limit = clampLimit(opts.limit);
    if (opts.buckets === undefined) return { point, resolution: 'raw', samples: this.#st.history.all(point, from, to, limit).map(decode) };

    const buckets = Math.max(1, Math.min(Math.floor(opts.buckets), MAX_BUCKETS));
    const now = this.#now();
    // Counting stops at buckets + 1: the cost stays bounded however long the range.
    const { n } = this.#st.countRaw.get(point, from, to, buckets + 1)!;
    if (n <= buckets && from >= now - this.retention.rawMs) {
      return { point, resolution: 'raw', samples: this.#st.history.all(point, from, to, Math.min(buckets, limit)).map(decode) };
    }
    const { resolution, bucketMs } = rollupWidth(from, to, buckets, now - this.retention.minuteMs);
    const unit = resolution === '1m' ? MINUTE_MS : HOUR_MS;
    const query = resolution === '1m' ? this.#st.buckets1m : this.#st.buckets1h;
    const rows = query.all({ point, from: from - (from % unit), to, width: bucketMs, limit: buckets + 1 });
    const out: RollupBucket[] = rows.map((r) => ({ ts: r.ts, value: r.sum / r.count, min: r.min, max: r.max, last: r.last, count: r.count }));
    return { point, resolution, bucketMs, buckets: out };
  }

  /**
   * Rolls up at most `maxMinutes` pending minutes in one transaction; returns how many it did.
   * Minutes older than the raw retention are dropped, not recomputed: their raw samples may be gone,
   * and recomputing from the few left would replace a complete bucket with a partial one.
   */
  rollUpChunk(maxMinutes = ROLLUP_CHUNK, before = Number.MAX_SAFE_INTEGER): number {
    const st = this.#st;
    const rawSince = this.#now() - this.retention.rawMs;
    const minuteSince = this.#now() - this.retention.minuteMs;
    const done = this.#db.transaction(() => {
      const pending = st.pending.all(before, maxMinutes);
      const hours = new Map<string, Set<number>>();
      for (const { point, ts } of pending) {
        st.unmarkPending.run(point, ts);
        if (ts + MINUTE_MS <= rawSince) continue;
        rollUp(st.aggregateRaw, st.lastRaw, st.put1m, st.delete1m, point, ts, MINUTE_MS);
        const hour = ts - (ts % HOUR_MS);
        if (hour + HOUR_MS <= minuteSince) continue;
        const set = hours.get(point) ?? new Set<number>();
        set.add(hour);
        hours.set(point, set);
      }
      for (const [point, set] of hours) for (const hour of set) rollUp(st.aggregate1m, st.last1m, st.put1h, st.delete1h, point, hour, HOUR_MS);
      return pending.length;
    })();
    // The chunk removed marks that #marked may still remember; forget them all (cheap: one re-mark per point).
    this.#marked.clear();
    return done;
  }

  /** Rolls up everything pending now (tests, shutdown). */
  rollUp(): number {
    let total = 0;
    for (let n = this.rollUpChunk(); n > 0; n = this.rollUpChunk()) total += n;
    return total;
  }

  /**
   * Deletes at most `maxRows` rows past their retention, for the next few points, in one transaction.
   * `more`: the pass over all points is not finished. Each delete is a range of the (point, ts) key,
   * so no index on ts alone slows every insert down.
   */
  enforceRetentionChunk(maxRows = RETENTION_CHUNK): { deleted: number; more: boolean } {
    const now = this.#now();
    const cuts = [
      [this.#st.expireRaw, now - this.retention.rawMs],
      [this.#st.expire1m, now - this.retention.minuteMs],
      [this.#st.expire1h, now - this.retention.hourMs],
    ] as const;
    return this.#db.transaction(() => {
      let left = maxRows;
      const points = this.#st.pointsAfter.all(this.#retentionCursor, RETENTION_POINTS);
      for (const { point } of points) {
        for (const [expire, cutoff] of cuts) left -= expire.run(point, cutoff, left).changes;
        // Out of budget: this point may have more, so the next chunk starts with it again.
        if (left <= 0) return { deleted: maxRows - left, more: true };
        this.#retentionCursor = point;
      }
      const more = points.length === RETENTION_POINTS;
      if (!more) this.#retentionCursor = '';
      return { deleted: maxRows - left, more };
    })();
  }

  /**
   * Everything past retention, now (tests, `vigil` maintenance). Rollups are brought up to date
   * first, so no raw sample is deleted before it is counted in its minute.
   */
  enforceRetention(): number {
    this.rollUp();
    let total = 0;
    for (;;) {
      const { deleted, more } = this.enforceRetentionChunk();
      total += deleted;
      if (!more) return total;
    }
  }

  /** A background run: chunk by chunk, yielding to ingest between chunks. One job at a time. */
  async #runJob(job: 'rollup' | 'retention', onError?: SqliteTimeSeriesOptions['onJobError']): Promise<void> {
    if (this.#jobsRunning) return;
    const run = async () => {
      try {
        if (job === 'retention') while (this.#db.open && this.rollUpChunk() > 0) await yieldToEvents();
        // Closed minutes only: a minute still filling would be recomputed on every run, and the
        // recompute reads the whole minute, so at 1 Hz per point that would cost ~30 reads per sample.
        const closed = () => this.#now() - MINUTE_MS - ROLLUP_GRACE_MS;
        if (job === 'rollup') while (this.#db.open && this.rollUpChunk(ROLLUP_CHUNK, closed()) > 0) await yieldToEvents();
        else while (this.#db.open && this.enforceRetentionChunk().more) await yieldToEvents();
      } catch (err) {
        if (this.#db.open) onError?.(err, job);
      }
    };
    this.#jobsRunning = run().finally(() => {
      this.#jobsRunning = null;
    });
  }

  health(): TimeSeriesHealth {
    return { ...this.#health, status: this.#db.open ? 'up' : 'degraded' };
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await this.#jobsRunning;
    this.closeSync();
  }

  closeSync(): void {
    for (const t of this.#timers) clearInterval(t);
    if (this.#db.open) this.#db.close();
  }
}

/** Recomputes one bucket from the finer data below it; an empty result deletes the bucket. */
function rollUp(aggregate: Statement<Aggregate>, last: Statement<{ last: number }>, put: Statement, remove: Statement, point: string, ts: number, width: number): void {
  const a = aggregate.get(point, ts, ts + width)!;
  if (a.count === 0) {
    remove.run(point, ts);
    return;
  }
  put.run(point, ts, a.min, a.max, a.sum, a.count, last.get(point, ts, ts + width)!.last);
}

const NUMERIC = `kind IN ('number', 'boolean') AND quality <> 'bad'`;

function prepare(db: Database) {
  const bucketsFrom = (table: string) =>
    db.prepare<{ ts: number; min: number; max: number; sum: number; count: number; last: number }>(`
      SELECT b AS ts, min(min) AS min, max(max) AS max, sum(sum) AS sum, sum(count) AS count,
        (SELECT last FROM ${table} l WHERE l.point = :point AND l.ts >= b AND l.ts < b + :width ORDER BY l.ts DESC LIMIT 1) AS last
      FROM (SELECT ts - ts % :width AS b, min, max, sum, count FROM ${table} WHERE point = :point AND ts >= :from AND ts <= :to)
      GROUP BY b ORDER BY b LIMIT :limit`);
  const aggregateOf = (table: 'samples' | 'rollup_1m') =>
    table === 'samples'
      ? db.prepare<Aggregate>(`SELECT min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count FROM samples WHERE point = ? AND ts >= ? AND ts < ? AND ${NUMERIC}`)
      : db.prepare<Aggregate>('SELECT min(min) AS min, max(max) AS max, sum(sum) AS sum, coalesce(sum(count), 0) AS count FROM rollup_1m WHERE point = ? AND ts >= ? AND ts < ?');
  const expire = (table: string) => db.prepare(`DELETE FROM ${table} WHERE point = ? AND ts < ? LIMIT ?`);
  const put = (table: string) => db.prepare(`INSERT OR REPLACE INTO ${table} (point, ts, min, max, sum, count, last) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  return {
    insert: db.prepare('INSERT OR REPLACE INTO samples (point, ts, value, kind, quality, reason) VALUES (?, ?, ?, ?, ?, ?)'),
    // Only a newer sample replaces the latest value: replays and late batches must not move it back.
    upsertLatest: db.prepare(`
      INSERT INTO latest (point, ts, value, kind, quality, reason) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (point) DO UPDATE SET ts = excluded.ts, value = excluded.value, kind = excluded.kind,
        quality = excluded.quality, reason = excluded.reason
      WHERE excluded.ts >= latest.ts`),
    markPending: db.prepare('INSERT OR IGNORE INTO rollup_pending (point, ts) VALUES (?, ?)'),
    latest: db.prepare<SampleRow>('SELECT point, ts, value, kind, quality, reason FROM latest WHERE point = ?'),
    history: db.prepare<SampleRow>('SELECT point, ts, value, kind, quality, reason FROM samples WHERE point = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?'),
    countRaw: db.prepare<{ n: number }>('SELECT count(*) AS n FROM (SELECT 1 FROM samples WHERE point = ? AND ts >= ? AND ts <= ? LIMIT ?)'),
    buckets1m: bucketsFrom('rollup_1m'),
    buckets1h: bucketsFrom('rollup_1h'),
    pending: db.prepare<{ point: string; ts: number }>('SELECT point, ts FROM rollup_pending WHERE ts < ? LIMIT ?'),
    unmarkPending: db.prepare('DELETE FROM rollup_pending WHERE point = ? AND ts = ?'),
    aggregateRaw: aggregateOf('samples'),
    lastRaw: db.prepare<{ last: number }>(`SELECT value AS last FROM samples WHERE point = ? AND ts >= ? AND ts < ? AND ${NUMERIC} ORDER BY ts DESC LIMIT 1`),
    aggregate1m: aggregateOf('rollup_1m'),
    last1m: db.prepare<{ last: number }>('SELECT last FROM rollup_1m WHERE point = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1'),
    put1m: put('rollup_1m'),
    put1h: put('rollup_1h'),
    delete1m: db.prepare('DELETE FROM rollup_1m WHERE point = ? AND ts = ?'),
    delete1h: db.prepare('DELETE FROM rollup_1h WHERE point = ? AND ts = ?'),
    pointsAfter: db.prepare<{ point: string }>('SELECT point FROM latest WHERE point > ? ORDER BY point LIMIT ?'),
    expireRaw: expire('samples'),
    expire1m: expire('rollup_1m'),
    expire1h: expire('rollup_1h'),
  };
}
