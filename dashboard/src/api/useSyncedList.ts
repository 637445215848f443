import { useCallback, useEffect, useRef, useState } from 'react';
import type { LiveEvents } from './LiveConnection.ts';
import { useLiveEvent } from './useLiveEvent.ts';
import { useResync } from './useResync.ts';

type RecordEvent = 'alarm' | 'ticket';

export interface SyncedList<T> {
  /** null until the first load answers. */
  items: T[] | null;
  /** The last load's failure, cleared by the next success. */
  error: unknown;
  reload: () => void;
  /** Merges a record the API answered with (ack, move) without waiting for its event. */
  apply: (item: T) => void;
}

/**
 * A list loaded over HTTP and kept current by socket events, refetched after every reconnect.
 * Events that arrive while a load is in flight are replayed on top of its answer, so a refetch
 * never rolls the screen back; `merge` decides what "newer" means.
 */
export function useSyncedList<E extends RecordEvent>(
  event: E,
  load: () => Promise<LiveEvents[E][]>,
  merge: (list: readonly LiveEvents[E][], item: LiveEvents[E]) => LiveEvents[E][],
): SyncedList<LiveEvents[E]> {
  type T = LiveEvents[E];
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const inFlight = useRef<{ generation: number; events: T[] } | null>(null);
  const generation = useRef(0);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    inFlight.current = { generation: mine, events: [] };
    load().then(
      (fetched) => {
        if (generation.current !== mine) return;
        const missed = inFlight.current?.events ?? [];
        inFlight.current = null;
        setItems([...fetched, ...missed].reduce<T[]>((list, item) => merge(list, item), []));
        setError(null);
      },
      (failure: unknown) => {
        if (generation.current !== mine) return;
        inFlight.current = null;
        setError(failure);
      },
    );
  }, [load, merge]);

  const apply = useCallback((item: T) => setItems((list) => (list ? merge(list, item) : list)), [merge]);

  useEffect(() => reload(), [reload]);
  useResync(reload);
  useLiveEvent(event, (item) => {
    inFlight.current?.events.push(item);
    apply(item);
  });

  return { items, error, reload, apply };
}
