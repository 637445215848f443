import { useContext } from 'react';
import { LiveContext } from './LiveContext.ts';
import type { LiveConnection } from './LiveConnection.ts';

export function useLive(): LiveConnection {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive() outside <LiveProvider>');
  return live;
}
