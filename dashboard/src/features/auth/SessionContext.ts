import { createContext } from 'react';
import type { ApiClient } from '../../api/ApiClient.ts';
import type { User } from '../../api/types.ts';

export interface Session {
  token: string;
  user: User;
  api: ApiClient;
  onSignOut: () => void;
  /** The session is no longer valid (a 401, or the socket refused the token). */
  onUnauthorized: () => void;
}

export const SessionContext = createContext<Session | null>(null);
