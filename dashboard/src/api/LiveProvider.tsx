import { useEffect, useState, type ReactNode } from 'react';
import { LiveConnection } from './LiveConnection.ts';
import { LiveContext } from './LiveContext.ts';

interface LiveProviderProps {
  token: string;
  onUnauthorized: () => void;
  children: ReactNode;
}

/** Opens one socket per signed-in session and closes it on sign-out. */
export function LiveProvider({ token, onUnauthorized, children }: LiveProviderProps) {
  const [connection, setConnection] = useState<LiveConnection | null>(null);

  useEffect(() => {
    const live = new LiveConnection(token, onUnauthorized);
    setConnection(live);
    return () => live.close();
  }, [token, onUnauthorized]);

  // Children mount only with a connection, so their hooks can subscribe unconditionally.
  if (!connection) return null;
  return <LiveContext.Provider value={connection}>{children}</LiveContext.Provider>;
}
