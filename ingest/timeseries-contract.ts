/**
 * What every TimeSeriesStore must do, as one suite any backend registers with a few lines
 * (aedes-persistence's abstract.js habit): call `timeSeriesContract(peer)` inside a `describe`.
 * Test support only; never imported by production code.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Sample } from '@vigil/model';
import { HOUR_MS, MINUTE_MS, type History, type TimeSeriesStore } from './timeseries.ts';

export interface TimeSeriesPeer {
  /** A fresh, empty store; the suite closes it. */
  open(): Promise<TimeSeriesStore>;
  /** Makes what was written visible to reads (SQLite: roll up; VictoriaMetrics: flush). */
  settle?(store: TimeSeriesStore): Promise<void>;
  /**
   * Numeric values read back another way than the store's own history, for a backend whose reads
   * cannot be trusted (VictoriaMetrics answers InfluxQL with a stub): then only the write path and
   * `latest` are checked.
   */
  readBack?(point: string, from: number, to: number): Promise<Array<{ ts: number; value: number }>>;
}

export function timeSeriesContract(peer: TimeSeriesPeer): void {
  let store: TimeSeriesStore;
  // Recent sample times, whole hours: inside every default retention, and bucket edges are predictable.
  const T = Math.floor((Date.now() - 2 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  const full = !peer.readBack;
  let n = 0;
  /** A point id of its own per test: some backends are shared between tests. */
  const fresh = () => `contract-${process.pid}-${Date.now() % 100_000}-${n++}.value`;

  beforeEach(async () => {
    store = await peer.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const settle = async () => peer.settle?.(store);
  const raw = (h: History) => {
    if (h.resolution !== 'raw') throw new Error(`expected raw samples, got ${h.resolution}`);
    return h.samples;
  };
  const readNumbers = async (point: string, from: number, to: number) =>
    peer.readBack ? peer.readBack(point, from, to) : raw(await store.history(point, from, to)).map((s) => ({ ts: s.ts, value: s.value as number }));

  it('stores a batch and reads it back, oldest first, within [from, to]', async () => {
    const point = fresh();
    await store.write([30, 10, 20, 40].map((s) => ({ point, ts: T + s * 1000, value: s / 10, quality: 'good' })));
    await settle();
    expect(await readNumbers(point, T + 10_000, T + 30_000)).toEqual([
      { ts: T + 10_000, value: 1 },
      { ts: T + 20_000, value: 2 },
      { ts: T + 30_000, value: 3 },
    ]);
  });

  it('a replayed batch overwrites itself instead of doubling', async () => {
    const point = fresh();
    const batch: Sample[] = [1, 2, 3].map((s) => ({ point, ts: T + s * 1000, value: s, quality: 'good' }));
    await store.write(batch);
    await store.write(batch);
    await settle();
    expect(await readNumbers(point, T, T + 10_000)).toHaveLength(3);
  });

  it('latest is the newest sample; a late or replayed older one does not move it back', async () => {
    const point = fresh();
    await store.write([{ point, ts: T + 2000, value: 2, quality: 'good' }]);
    await store.write([{ point, ts: T + 1000, value: 1, quality: 'uncertain' }]);
    expect(await store.latest(point)).toEqual({ point, ts: T + 2000, value: 2, quality: 'good' });
    expect(await store.latest(fresh())).toBeUndefined();
  });

  it.skipIf(!full)('keeps value types, quality and reason', async () => {
    const p = fresh().replace('.value', '');
    const batch: Sample[] = [
      { point: `${p}.num`, ts: T, value: 0.75, quality: 'good' },
      { point: `${p}.int`, ts: T, value: 3, quality: 'good' },
      { point: `${p}.bool`, ts: T, value: false, quality: 'good' },
      { point: `${p}.text`, ts: T, value: '1', quality: 'uncertain' },
      { point: `${p}.null`, ts: T, value: null, quality: 'bad', reason: 'timeout' },
    ];
    await store.write(batch);
    await settle();
    for (const s of batch) {
      expect(raw(await store.history(s.point, T, T)), s.point).toEqual([s]);
      expect(await store.latest(s.point), s.point).toEqual(s);
    }
  });

  it.skipIf(!full)('caps raw history at the limit, and answers an unknown point with nothing', async () => {
    const point = fresh();
    await store.write([1, 2, 3, 4].map((s) => ({ point, ts: T + s * 1000, value: s, quality: 'good' })));
    await settle();
    expect(raw(await store.history(point, T, T + 10_000, { limit: 2 })).map((s) => s.value)).toEqual([1, 2]);
    expect(await store.history(fresh(), T, T + 10_000)).toEqual({ point: expect.any(String), resolution: 'raw', samples: [] });
    expect(await store.history(fresh(), T, T + 10 * HOUR_MS, { buckets: 10 })).toMatchObject({ resolution: 'raw', samples: [] });
  });

  it.skipIf(!full)('with buckets: raw samples while they fit, else rollups (min, max, mean, last, count) that say their resolution', async () => {
    const point = fresh();
    // Three minutes of one sample per 10 s, value i; plus what rollups leave out: bad quality, text.
    const batch: Sample[] = Array.from({ length: 18 }, (_, i) => ({ point, ts: T + i * 10_000, value: i, quality: i === 7 ? 'uncertain' : 'good' }));
    batch.push({ point, ts: T + 5000, value: 1000, quality: 'bad', reason: 'out-of-range' });
    batch.push({ point, ts: T + 6000, value: 'n/a', quality: 'good' });
    await store.write(batch);
    await settle();

    const few = await store.history(point, T, T + 3 * MINUTE_MS, { buckets: 100 });
    expect(few.resolution).toBe('raw');
    expect(raw(few)).toHaveLength(20);

    expect(await store.history(point, T, T + 3 * MINUTE_MS - 1, { buckets: 3 })).toEqual({
      point,
      resolution: '1m',
      bucketMs: MINUTE_MS,
      buckets: [
        { ts: T, value: 2.5, min: 0, max: 5, last: 5, count: 6 },
        { ts: T + MINUTE_MS, value: 8.5, min: 6, max: 11, last: 11, count: 6 },
        { ts: T + 2 * MINUTE_MS, value: 14.5, min: 12, max: 17, last: 17, count: 6 },
      ],
    });

    // Ten hours in 5 buckets: 2 h each at least, so whole hours (3 h: the next whole multiple).
    const wide = await store.history(point, T, T + 10 * HOUR_MS, { buckets: 5 });
    expect(wide).toEqual({ point, resolution: '1h', bucketMs: 3 * HOUR_MS, buckets: [{ ts: T - (T % (3 * HOUR_MS)), value: 8.5, min: 0, max: 17, last: 17, count: 18 }] });
  });
}
