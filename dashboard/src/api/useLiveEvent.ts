import { useEffect, useRef } from 'react';
import { useLive } from './useLive.ts';
import type { LiveEventName, LiveEvents } from './LiveConnection.ts';

/** Subscribes to a socket event for the component's lifetime; the latest handler is always used. */
export function useLiveEvent<E extends LiveEventName>(event: E, handler: (payload: LiveEvents[E]) => void): void {
  const live = useLive();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => live.on(event, (payload) => latest.current(payload)), [live, event]);
}
