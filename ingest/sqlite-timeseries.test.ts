import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../testing/index.ts';
import { openDatabase } from './sqlite.ts';
import { SqliteTimeSeriesStore, TIMESERIES_FILE, TIMESERIES_MIGRATIONS } from './sqlite-timeseries.ts';
import { timeSeriesContract } from './timeseries-contract.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './timeseries.ts';

describe('SqliteTimeSeriesStore: the TimeSeriesStore contract', () => {
  const dirs: Array<ReturnType<typeof tempDir>> = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
  timeSeriesContract({
    open: async () => {
      const dir = tempDir();
      dirs.push(dir);
      return SqliteTimeSeriesStore.open(dir.path, { rollupEveryMs: 0, retentionEveryMs: 0 });
    },
    settle: async (store) => void (store as SqliteTimeSeriesStore).rollUp(),
  });
});

describe('SqliteTimeSeriesStore: rollups and retention', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SqliteTimeSeriesStore;
  const now = Date.now();
  const H = Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS; // an hour ago, whole
  beforeEach(() => {
    dir = tempDir();
    store = SqliteTimeSeriesStore.open(dir.path, { rollupEveryMs: 0, retentionEveryMs: 0, retention: { rawMs: 2 * DAY_MS, minuteMs: 10 * DAY_MS, hourMs: 100 * DAY_MS } });
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });
  const buckets = (from: number, to: number, n: number) => {
    const h = store.historySync('a.p', from, to, { buckets: n });
    return h.resolution === 'raw' ? [] : h.buckets;
  };

  it('a replay with other values and a late sample give the same rollups as a recompute from raw', () => {
    store.writeSync([0, 1, 2].map((i) => ({ point: 'a.p', ts: H + i * 1000, value: i, quality: 'good' as const })));
    store.rollUp();
    store.writeSync([0, 1, 2].map((i) => ({ point: 'a.p', ts: H + i * 1000, value: i * 10, quality: 'good' as const }))); // replayed, changed
    store.writeSync([{ point: 'a.p', ts: H + 500, value: -5, quality: 'good' }]); // late
    expect(store.rollUp()).toBe(1);
    expect(buckets(H, H + MINUTE_MS - 1, 1)).toEqual([{ ts: H, value: 25 / 4, min: -5, max: 20, last: 20, count: 4 }]);
    expect(buckets(H, H + 5 * HOUR_MS, 1)).toEqual([{ ts: H - (H % (6 * HOUR_MS)), value: 25 / 4, min: -5, max: 20, last: 20, count: 4 }]);
  });

  it('rolls up in bounded chunks', () => {
    for (let m = 0; m < 12; m++) store.writeSync([{ point: 'a.p', ts: H + m * MINUTE_MS, value: m, quality: 'good' }]);
    expect(store.rollUpChunk(5)).toBe(5);
    expect(store.rollUpChunk(5)).toBe(5);
    expect(store.rollUpChunk(5)).toBe(2);
    expect(store.rollUpChunk(5)).toBe(0);
    // Six buckets over the hour: 10-minute buckets merged from the 1-minute rollups.
    expect(buckets(H, H + HOUR_MS - 1, 6)).toEqual([
      { ts: H, value: 4.5, min: 0, max: 9, last: 9, count: 10 },
      { ts: H + 10 * MINUTE_MS, value: 10.5, min: 10, max: 11, last: 11, count: 2 },
    ]);
  });

  it('deletes each resolution past its retention, in bounded chunks, keeping the coarser rollups', () => {
    const old = Math.floor((now - 5 * DAY_MS) / HOUR_MS) * HOUR_MS; // raw gone, 1-minute kept
    const older = Math.floor((now - 50 * DAY_MS) / HOUR_MS) * HOUR_MS; // only 1-hour kept
    for (const t0 of [older, old, H]) store.writeSync(Array.from({ length: 30 }, (_, i) => ({ point: 'a.p', ts: t0 + i * 1000, value: i, quality: 'good' as const })));
    store.writeSync([{ point: 'b.p', ts: older, value: 1, quality: 'good' }]);
    // Rolled up back then, by a store whose clock says so: minutes already past the raw retention are not recomputed.
    const past = SqliteTimeSeriesStore.open(dir.path, { rollupEveryMs: 0, retentionEveryMs: 0, now: () => older });
    past.rollUp();
    past.closeSync();

    let chunks = 0;
    let deleted = 0;
    for (;;) {
      const c = store.enforceRetentionChunk(20);
      chunks++;
      deleted += c.deleted;
      expect(c.deleted).toBeLessThanOrEqual(20);
      if (!c.more) break;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(deleted).toBeGreaterThanOrEqual(60);
    expect(store.historySync('a.p', old, old + MINUTE_MS)).toMatchObject({ resolution: 'raw', samples: [] });
    expect(store.historySync('a.p', H, H + MINUTE_MS)).toMatchObject({ resolution: 'raw', samples: expect.toSatisfy((x: unknown[]) => x.length === 30) });
    // Older than the 1-minute retention: the choice falls to 1-hour rollups, which are still there.
    expect(store.historySync('a.p', older, older + HOUR_MS - 1, { buckets: 60 })).toEqual({
      point: 'a.p',
      resolution: '1h',
      bucketMs: HOUR_MS,
      buckets: [{ ts: older, value: 14.5, min: 0, max: 29, last: 29, count: 30 }],
    });
    expect(store.latestSync('b.p')?.ts).toBe(older); // the latest value is never expired
  });

  it('a sample older than the raw retention does not replace a complete minute with a partial one', () => {
    const old = Math.floor((now - 5 * DAY_MS) / HOUR_MS) * HOUR_MS;
    store.writeSync([1, 2, 3].map((v) => ({ point: 'a.p', ts: old + v * 1000, value: v, quality: 'good' as const })));
    // Rolled up while still raw (the store's clock says: then).
    const then = SqliteTimeSeriesStore.open(dir.path, { rollupEveryMs: 0, retentionEveryMs: 0, now: () => old + MINUTE_MS });
    then.rollUp();
    then.closeSync();
    store.enforceRetention();
    store.writeSync([{ point: 'a.p', ts: old + 4000, value: 100, quality: 'good' }]);
    store.rollUp();
    expect(store.historySync('a.p', old, old + MINUTE_MS - 1, { buckets: 1 })).toMatchObject({ resolution: '1m', buckets: [{ count: 3, max: 3 }] });
  });
});

describe('time-series schema migration', () => {
  it('version 2 rolls up the samples a version-1 database already held', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, TIMESERIES_FILE);
      const v1 = openDatabase(file, TIMESERIES_MIGRATIONS.slice(0, 1));
      const T = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS;
      const insert = v1.prepare("INSERT INTO samples (point, ts, value, kind, quality) VALUES ('a.p', ?, ?, 'number', 'good')");
      for (let i = 0; i < 5; i++) insert.run(T + i * 1000, i);
      v1.close();
      const store = SqliteTimeSeriesStore.open(dir.path, { rollupEveryMs: 0, retentionEveryMs: 0 });
      expect(store.rollUp()).toBe(1);
      expect(store.historySync('a.p', T, T + MINUTE_MS - 1, { buckets: 1 })).toMatchObject({ resolution: '1m', buckets: [{ ts: T, count: 5, value: 2 }] });
      store.closeSync();
    } finally {
      dir.remove();
    }
  });
});
