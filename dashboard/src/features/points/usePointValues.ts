import { useCallback, useEffect, useState } from 'react';
import type { PointValue } from '../../api/types.ts';
import { useLiveEvent } from '../../api/useLiveEvent.ts';
import { useResync } from '../../api/useResync.ts';
import { mapWithLimit } from '../../core/mapWithLimit.ts';
import { useSession } from '../auth/useSession.ts';
import { mergeSamples } from './mergeSamples.ts';

/** Parallel `latest` requests: enough to fill a page quickly, few enough to leave room for the rest. */
const FETCH_CONCURRENCY = 6;

/**
 * The latest value of each point: fetched one by one at start and after a reconnect, then kept
 * current by 'points' events. A point without a value yet (404) is simply absent.
 */
export function usePointValues(pointIds: readonly string[]) {
  const { api } = useSession();
  const [values, setValues] = useState<ReadonlyMap<string, PointValue>>(new Map());
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(() => {
    let firstError: unknown = null;
    setError(null);
    void mapWithLimit(pointIds, FETCH_CONCURRENCY, (id) =>
      api.latest(id).catch((failure: unknown) => {
        firstError ??= failure;
        return null;
      }),
    ).then((fetched) => {
      // Samples carry their time, so fetched values merge under newer events without a race.
      setValues((current) => mergeSamples(current, fetched.filter((v): v is PointValue => v !== null)));
      if (firstError) setError(firstError);
    });
  }, [api, pointIds]);

  useEffect(reload, [reload]);
  useResync(reload);
  useLiveEvent('points', (samples) => setValues((current) => mergeSamples(current, samples)));

  return { values, error, reload };
}
