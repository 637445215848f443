import type { PointValue } from '../../api/types.ts';

/** Latest value per point after a batch arrives; a sample older than the one shown is ignored (refetch races). */
export function mergeSamples(latest: ReadonlyMap<string, PointValue>, samples: readonly PointValue[]): Map<string, PointValue> {
  const next = new Map(latest);
  for (const sample of samples) {
    const current = next.get(sample.point);
    if (!current || current.ts <= sample.ts) next.set(sample.point, sample);
  }
  return next;
}
