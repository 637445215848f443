/**
 * Where samples go, behind one interface: SQLite (sqlite-timeseries.ts) is the embedded default,
 * InfluxDB (influx-timeseries.ts) the choice at scale. timeseries-contract.ts holds the tests both pass.
 */
import type { Quality, Sample } from '@vigil/model';

export interface StoredSample {
  point: string;
  ts: number;
  value: number | boolean | string | null;
  quality: Quality;
  reason?: string;
}

/** `raw` samples, or rollups of 1-minute or 1-hour buckets. */
export type Resolution = 'raw' | '1m' | '1h';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const RESOLUTION_MS = { '1m': MINUTE_MS, '1h': HOUR_MS } as const;

/**
 * One bucket of a rollup: the numeric samples (booleans as 0 and 1; strings, nulls and `bad` quality
 * left out) whose ts lies in [ts, ts + bucketMs).
 */
export interface RollupBucket {
  ts: number;
  /** The mean. */
  value: number;
  min: number;
  max: number;
  /** The value of the newest sample in the bucket. */
  last: number;
  count: number;
}

export type History =
  | { point: string; resolution: 'raw'; samples: StoredSample[] }
  | { point: string; resolution: '1m' | '1h'; bucketMs: number; buckets: RollupBucket[] };

export interface HistoryOptions {
  /**
   * How many points the caller wants to draw. Given: raw samples when there are at most that many in
   * the range, else rollups, merged into buckets wide enough that at most `buckets` (+1) come back.
   * Not given: raw samples, up to `limit`.
   */
  buckets?: number;
  /** Cap on raw samples (default and maximum HISTORY_LIMIT). */
  limit?: number;
}

/** Default and maximum of one history read, so a careless query cannot exhaust memory. */
export const HISTORY_LIMIT = 10_000;
export const MAX_BUCKETS = 10_000;

/** How long each resolution is kept; older data is deleted by a periodic, bounded job. */
export interface Retention {
  rawMs: number;
  minuteMs: number;
  hourMs: number;
}

export const DEFAULT_RETENTION: Retention = {
  rawMs: 30 * DAY_MS, // 30 days
  minuteMs: 365 * DAY_MS, // 1 year
  hourMs: 10 * 365 * DAY_MS, // 10 years
};

export interface TimeSeriesHealth {
  status: 'up' | 'degraded';
  /** Writes that failed (the batch was not acknowledged, so the gateway sends it again). */
  failedWrites: number;
  lastError?: string;
  lastErrorAt?: number;
}

export interface TimeSeriesStore {
  /**
   * Stores one batch; resolves only once the store has accepted all of it (ingest acknowledges the
   * batch after that). Idempotent per (point, ts): a batch replayed after a crash between this write
   * and the commit of its `seq` overwrites itself instead of doubling.
   */
  write(samples: readonly Sample[]): Promise<void>;
  /** The newest sample of a point; a late or replayed older sample never replaces it. */
  latest(point: string): Promise<StoredSample | undefined>;
  /** Samples or buckets with from ≤ ts ≤ to, oldest first; the answer names the resolution used. */
  history(point: string, from: number, to: number, opts?: HistoryOptions): Promise<History>;
  health(): TimeSeriesHealth;
  close(): Promise<void>;
}

export function clampLimit(limit: number | undefined): number {
  return limit !== undefined && Number.isFinite(limit) ? Math.max(0, Math.min(Math.floor(limit), HISTORY_LIMIT)) : HISTORY_LIMIT;
}

/**
 * The rollup resolution and bucket width for a range drawn in `buckets` points: the finest resolution
 * still kept for `from` (`minuteSince`: the oldest time 1-minute rollups exist for), widened to a
 * whole multiple of it so that at most `buckets` buckets cover the range.
 */
export function rollupWidth(from: number, to: number, buckets: number, minuteSince = -Infinity): { resolution: '1m' | '1h'; bucketMs: number } {
  const wanted = Math.max(1, Math.ceil((to - from + 1) / Math.max(1, buckets)));
  const resolution = wanted < HOUR_MS && from >= minuteSince ? '1m' : '1h';
  const unit = RESOLUTION_MS[resolution];
  return { resolution, bucketMs: Math.ceil(wanted / unit) * unit };
}
