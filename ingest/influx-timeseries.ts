/**
 * The time-series store at scale: InfluxDB (1.8+, 2.x, 3.x; VictoriaMetrics for writes).
 *
 * Schema: one measurement, `vigil_sample`, with the point id as its only tag (one series per point,
 * so a query for one point reads one series) and the value in a field named by its type: `num`
 * (float; booleans are written here too as 0/1 so rollups can average a run status), `bool`, `str`,
 * plus `quality` and `reason` as string fields. Quality is a field, not a tag: a tag would split a
 * point into several series and a replay with another quality would then double the sample.
 * Use one bucket (database) per site.
 *
 * Writes go through @influxdata/influxdb-client's WriteApi; each batch is flushed and awaited, and
 * the store resolves only once InfluxDB has answered 204 for every line of it, so ingest acknowledges
 * nothing InfluxDB has not taken. The WriteApi's own retry buffer is off (`maxRetries: 0`): a batch
 * that cannot be written is not acknowledged, and the gateway's disk outbox is the retry buffer —
 * bounded, ordered and surviving restarts, which an in-memory buffer is not. This store retries a
 * batch itself a few times with exponential backoff (honouring Retry-After in seconds; the client
 * would read it as milliseconds), then fails fast until the backoff has passed, so messages queued
 * in ingest drain quickly instead of each waiting. Only one batch is in memory at a time.
 *
 * Reads use InfluxQL over the v1 `/query` API with plain fetch. The latest value per point stays in
 * the local SQLite `latest` table, so the API's live values do not depend on InfluxDB.
 */
import { InfluxDB, HttpError, Point, type WriteApi } from '@influxdata/influxdb-client';
import type { Sample } from '@vigil/model';
import { SqliteTimeSeriesStore } from './sqlite-timeseries.ts';
import {
  clampLimit,
  HOUR_MS,
  MAX_BUCKETS,
  MINUTE_MS,
  rollupWidth,
  type History,
  type HistoryOptions,
  type RollupBucket,
  type StoredSample,
  type TimeSeriesHealth,
  type TimeSeriesStore,
} from './timeseries.ts';

export interface InfluxOptions {
  /** e.g. http://127.0.0.1:8086 (VIGIL_INFLUX_URL). */
  url: string;
  /** 2.x/3.x: an API token; 1.8 with auth: `user:password` (VIGIL_INFLUX_TOKEN). */
  token?: string;
  /** 2.x: the organisation (VIGIL_INFLUX_ORG); ignored by 1.8 and 3.x. */
  org?: string;
  /** Where writes go: 2.x/3.x bucket, 1.8 `database/retention-policy` (VIGIL_INFLUX_BUCKET). */
  bucket: string;
  /** The InfluxQL database reads use (VIGIL_INFLUX_DATABASE); default: the bucket (2.x: a DBRP mapping to it). */
  database?: string;
}

export const INFLUX_MEASUREMENT = 'vigil_sample';

/** Settings of this store's writes; units in the names. */
export const INFLUX_WRITE_DEFAULTS = {
  batchSize: 5000, // lines per HTTP request
  flushIntervalMs: 1000, // 1 s, not the client's 60 s (only matters if a flush were ever skipped)
  requestTimeoutMs: 10_000,
  attempts: 3, // per batch, before failing fast
  minRetryDelayMs: 250,
  maxRetryDelayMs: 30_000,
};

export class InfluxWriteError extends Error {
  readonly code = 'VIGIL_ERR_INFLUX_WRITE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfluxWriteError';
  }
}

/** The read side alone: the API uses it for history, ingest's store for both. */
export class InfluxHistory {
  readonly #queryUrl: URL;
  readonly #headers: Record<string, string>;

  constructor(readonly options: InfluxOptions) {
    this.#queryUrl = new URL('query', options.url.endsWith('/') ? options.url : options.url + '/');
    this.#queryUrl.searchParams.set('db', options.database ?? options.bucket.split('/')[0]!);
    this.#queryUrl.searchParams.set('epoch', 'ms');
    this.#headers = options.token ? { Authorization: `Token ${options.token}` } : {};
  }

  async history(point: string, from: number, to: number, opts: HistoryOptions = {}): Promise<History> {
    const where = `"point" = ${literal(point)} AND time >= ${Math.floor(from)}ms AND time <= ${Math.floor(to)}ms`;
    const raw = async (limit: number): Promise<History> => {
      const rows = await this.query(`SELECT "num", "bool", "str", "quality", "reason" FROM ${INFLUX_MEASUREMENT} WHERE ${where} ORDER BY time ASC LIMIT ${limit}`);
      return { point, resolution: 'raw', samples: rows.map((r) => decode(point, r)) };
    };
    const limit = clampLimit(opts.limit);
    if (opts.buckets === undefined) return raw(limit);

    const buckets = Math.max(1, Math.min(Math.floor(opts.buckets), MAX_BUCKETS));
    const [count] = await this.query(`SELECT count("quality") FROM ${INFLUX_MEASUREMENT} WHERE ${where}`);
    if (Number(count?.count ?? 0) <= buckets) return raw(Math.min(buckets, limit));

    // InfluxDB aggregates raw data on the fly; buckets start at whole minutes or hours like SQLite's rollups.
    const { resolution, bucketMs } = rollupWidth(from, to, buckets);
    const unit = resolution === '1m' ? MINUTE_MS : HOUR_MS;
    const aligned = from - (from % unit);
    const rows = await this.query(
      `SELECT min("num"), max("num"), mean("num"), last("num"), count("num") FROM ${INFLUX_MEASUREMENT} ` +
        `WHERE "point" = ${literal(point)} AND "quality" != 'bad' AND time >= ${aligned}ms AND time <= ${Math.floor(to)}ms ` +
        `GROUP BY time(${bucketMs}ms) fill(none) LIMIT ${buckets + 1}`,
    );
    const out: RollupBucket[] = rows
      .filter((r) => Number(r.count) > 0)
      .map((r) => ({ ts: Number(r.time), value: Number(r.mean), min: Number(r.min), max: Number(r.max), last: Number(r.last), count: Number(r.count) }));
    return { point, resolution, bucketMs, buckets: out };
  }

  /** One InfluxQL statement; its rows as objects keyed by column. */
  async query(q: string): Promise<Array<Record<string, unknown>>> {
    const url = new URL(this.#queryUrl);
    url.searchParams.set('q', q);
    const res = await fetch(url, { headers: this.#headers, signal: AbortSignal.timeout(INFLUX_WRITE_DEFAULTS.requestTimeoutMs) });
    const text = await res.text();
    let body: { error?: string; results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }> };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`InfluxDB /query answered ${res.status}: ${text.slice(0, 200)}`);
    }
    const error = body.error ?? body.results?.[0]?.error;
    if (!res.ok || error) throw new Error(`InfluxDB /query answered ${res.status}: ${error ?? text.slice(0, 200)}`);
    const rows: Array<Record<string, unknown>> = [];
    for (const series of body.results?.[0]?.series ?? []) {
      for (const values of series.values) rows.push(Object.fromEntries(series.columns.map((c, i) => [c, values[i]])));
    }
    return rows;
  }
}

function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function decode(point: string, r: Record<string, unknown>): StoredSample {
  const value = r.bool !== null && r.bool !== undefined ? Boolean(r.bool) : r.num !== null && r.num !== undefined ? Number(r.num) : r.str !== null && r.str !== undefined ? String(r.str) : null;
  const out: StoredSample = { point, ts: Number(r.time), value, quality: (r.quality as StoredSample['quality']) ?? 'good' };
  if (typeof r.reason === 'string') out.reason = r.reason;
  return out;
}

function toPoint(s: Sample): Point {
  const p = new Point(INFLUX_MEASUREMENT).tag('point', s.point).timestamp(s.ts).stringField('quality', s.quality);
  if (typeof s.value === 'number') p.floatField('num', s.value);
  else if (typeof s.value === 'boolean') p.booleanField('bool', s.value).floatField('num', s.value ? 1 : 0);
  else if (typeof s.value === 'string') p.stringField('str', s.value);
  if (s.reason !== undefined) p.stringField('reason', s.reason);
  return p;
}

/** Retry-After in seconds or as an HTTP date (RFC 9110, 10.2.3); undefined when absent. */
function retryAfterMs(err: unknown, now: number): number | undefined {
  if (!(err instanceof HttpError)) return undefined;
  const header = err.headers?.['retry-after'];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Worth trying again: no answer, 429 or 5xx. A 4xx (bad line protocol, no such bucket, no rights) will not heal by itself. */
function retriable(err: unknown): boolean {
  return !(err instanceof HttpError) || err.statusCode === 429 || err.statusCode >= 500;
}

export interface InfluxStoreOptions {
  /** Wall clock, for backoff. */
  now?: () => number;
  /** Overrides of INFLUX_WRITE_DEFAULTS (tests use short delays). */
  write?: Partial<typeof INFLUX_WRITE_DEFAULTS>;
}

export class InfluxTimeSeriesStore implements TimeSeriesStore {
  readonly #reads: InfluxHistory;
  readonly #latest: SqliteTimeSeriesStore;
  readonly #writeApi: WriteApi;
  readonly #settings: typeof INFLUX_WRITE_DEFAULTS;
  readonly #now: () => number;
  /** The batch being written: lines InfluxDB has not answered for yet, and the first failure. */
  #inflight: { lines: number; error?: unknown; settle: (error?: unknown) => void } | null = null;
  #queue: Promise<void> = Promise.resolve();
  #failures = 0;
  #unavailableUntil = 0;
  readonly #health: TimeSeriesHealth = { status: 'up', failedWrites: 0 };

  private constructor(dataDir: string, readonly options: InfluxOptions, opts: InfluxStoreOptions) {
    this.#now = opts.now ?? Date.now;
    this.#settings = { ...INFLUX_WRITE_DEFAULTS, ...opts.write };
    this.#reads = new InfluxHistory(options);
    this.#latest = SqliteTimeSeriesStore.open(dataDir, { latestOnly: true });
    const influx = new InfluxDB({ url: options.url, token: options.token, timeout: this.#settings.requestTimeoutMs });
    this.#writeApi = influx.getWriteApi(options.org ?? '', options.bucket, 'ms', {
      batchSize: this.#settings.batchSize,
      flushInterval: this.#settings.flushIntervalMs,
      maxRetries: 0,
      maxBufferLines: this.#settings.batchSize,
      gzipThreshold: 1000,
      writeSuccess: (lines) => this.#answered(lines.length),
      // Returning a promise tells the client the failure is handled: it neither logs nor buffers the lines.
      writeFailed: (error, lines) => {
        this.#answered(lines.length, error);
        return Promise.reject(error);
      },
    });
  }

  static open(dataDir: string, options: InfluxOptions, opts: InfluxStoreOptions = {}): InfluxTimeSeriesStore {
    return new InfluxTimeSeriesStore(dataDir, options, opts);
  }

  #answered(lines: number, error?: unknown): void {
    const batch = this.#inflight;
    if (!batch) return;
    if (error && batch.error === undefined) batch.error = error;
    batch.lines -= lines;
    if (batch.lines <= 0) batch.settle(batch.error);
  }

  /** One attempt: all lines posted (in chunks of batchSize) and every chunk answered. */
  async #send(points: Point[]): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => {
      this.#inflight = { lines: points.length, settle: (error) => (error === undefined ? resolve() : reject(error)) };
    });
    try {
      this.#writeApi.writePoints(points);
      this.#writeApi.flush().catch(() => {}); // its outcome arrives through writeSuccess / writeFailed
      await answered;
    } finally {
      this.#inflight = null;
    }
  }

  write(samples: readonly Sample[]): Promise<void> {
    // One batch at a time: the line accounting above is per batch.
    const next = this.#queue.then(() => this.#write(samples));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    const started = this.#now();
    if (started < this.#unavailableUntil) {
      this.#health.failedWrites++;
      throw new InfluxWriteError(`InfluxDB is failing (${this.#health.lastError}); next attempt after ${new Date(this.#unavailableUntil).toISOString()}`);
    }
    const points = samples.map(toPoint);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#send(points);
        break;
      } catch (err) {
        this.#failures++;
        const now = this.#now();
        const backoff = Math.min(this.#settings.maxRetryDelayMs, this.#settings.minRetryDelayMs * 2 ** (this.#failures - 1) * (0.8 + Math.random() * 0.4));
        const delay = Math.max(backoff, retryAfterMs(err, now) ?? 0);
        Object.assign(this.#health, { status: 'degraded', lastError: (err as Error).message, lastErrorAt: now });
        if (attempt >= this.#settings.attempts || !retriable(err)) {
          this.#health.failedWrites++;
          this.#unavailableUntil = now + delay;
          throw new InfluxWriteError(`InfluxDB write of ${samples.length} samples failed: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.#failures = 0;
    this.#health.status = 'up';
    this.#latest.writeSync(samples);
  }

  async latest(point: string): Promise<StoredSample | undefined> {
    return this.#latest.latestSync(point);
  }

  history(point: string, from: number, to: number, opts?: HistoryOptions): Promise<History> {
    return this.#reads.history(point, from, to, opts);
  }

  health(): TimeSeriesHealth {
    return { ...this.#health };
  }

  async close(): Promise<void> {
    await this.#queue;
    // Nothing is left to send: every batch was flushed and awaited.
    this.#writeApi.dispose();
    await this.#latest.close();
  }
}
