/** A figure for `vigil bench`: how many samples per second a time-series store takes. */
import type { Sample } from '@vigil/model';
import type { TimeSeriesStore } from './timeseries.ts';

export interface StoreBenchmark {
  samples: number;
  batches: number;
  seconds: number;
  samplesPerSec: number;
}

/**
 * Writes `samples` samples over `points` points in batches of `batchSize` (a gateway's batch is one
 * device's poll: tens of samples), one awaited write at a time as ingest does, 1 s of sample time
 * apart per point. The store should be fresh; `startTs` places the data (default: now − samples/points s).
 */
export async function benchmarkStore(
  store: TimeSeriesStore,
  opts: { points: number; samples: number; batchSize?: number; startTs?: number; onProgress?: (written: number) => void },
): Promise<StoreBenchmark> {
  const batchSize = opts.batchSize ?? 50;
  const perPoint = Math.ceil(opts.samples / opts.points);
  const start = opts.startTs ?? Date.now() - perPoint * 1000;
  const ids = Array.from({ length: opts.points }, (_, i) => `bench-${Math.floor(i / 10)}.p${i % 10}`);
  let written = 0;
  let batches = 0;
  const began = process.hrtime.bigint();
  while (written < opts.samples) {
    const batch: Sample[] = [];
    for (let i = 0; i < batchSize && written + i < opts.samples; i++) {
      const n = written + i;
      batch.push({ point: ids[n % opts.points]!, ts: start + Math.floor(n / opts.points) * 1000, value: Math.sin(n / 100) * 10, quality: 'good' });
    }
    await store.write(batch);
    written += batch.length;
    batches++;
    if (batches % 1000 === 0) opts.onProgress?.(written);
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  return { samples: written, batches, seconds, samplesPerSec: Math.round(written / seconds) };
}
