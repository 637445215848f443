import { useEffect, useRef } from 'react';
import { useLive } from './useLive.ts';

/** Runs `handler` after every socket reconnect, when events may have been missed. */
export function useResync(handler: () => void): void {
  const live = useLive();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => live.onResync(() => latest.current()), [live]);
}
