import { useCallback, useSyncExternalStore } from 'react';
import { useLive } from './useLive.ts';
import type { LiveStatus } from './LiveConnection.ts';

export function useLiveStatus(): LiveStatus {
  const live = useLive();
  const subscribe = useCallback((onChange: () => void) => live.onStatus(onChange), [live]);
  return useSyncExternalStore(subscribe, () => live.status);
}
