import { createContext } from 'react';
import type { LiveConnection } from './LiveConnection.ts';

/** The session's socket; null outside a signed-in console. */
export const LiveContext = createContext<LiveConnection | null>(null);
