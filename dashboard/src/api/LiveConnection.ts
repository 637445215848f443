import { io, type Socket } from 'socket.io-client';
import type { Alarm, PointValue, Ticket } from './types.ts';

/** What arrives on the socket (DESIGN.md data flow: ingest → api → dashboard). */
export interface LiveEvents {
  alarm: Alarm;
  ticket: Ticket;
  points: PointValue[];
}
export type LiveEventName = keyof LiveEvents;

/** 'connecting' during the first attempt; 'reconnecting' whenever the screen may be stale. */
export type LiveState = 'connecting' | 'live' | 'reconnecting';
export interface LiveStatus {
  state: LiveState;
  /** When the data on screen stopped being live (ms since the epoch), while not live. */
  staleSince: number | null;
}

/** Wait before re-dialling after the server itself refused or dropped us. */
const MANUAL_RECONNECT_MS = 3000; // 3 s

/** The one socket.io connection of a session, with typed events and a resync signal. */
export class LiveConnection {
  readonly #socket: Socket;
  #status: LiveStatus = { state: 'connecting', staleSince: null };
  #connectedOnce = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #statusListeners = new Set<() => void>();
  readonly #resyncListeners = new Set<() => void>();

  constructor(token: string, onUnauthorized: () => void) {
    this.#socket = io({ path: '/socket.io', auth: { token } });
    this.#socket.on('connect', () => {
      this.#setStatus({ state: 'live', staleSince: null });
      // Events sent while we were away are lost: whoever holds a list fetches it again.
      if (this.#connectedOnce) for (const listener of this.#resyncListeners) listener();
      this.#connectedOnce = true;
    });
    this.#socket.on('disconnect', (reason) => {
      this.#markStale();
      // The server hung up on purpose: socket.io does not redial by itself in that case.
      if (reason === 'io server disconnect') this.#redialLater();
    });
    this.#socket.on('connect_error', (error) => {
      if (error.message === 'unauthorized') {
        onUnauthorized();
        return;
      }
      this.#markStale();
      // A refusal from the server's middleware leaves the socket inactive; a network error does not.
      if (!this.#socket.active) this.#redialLater();
    });
  }

  get status(): LiveStatus {
    return this.#status;
  }

  onStatus(listener: () => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called after every reconnect (not the first connect): refetch what events may have been missed. */
  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => this.#resyncListeners.delete(listener);
  }

  on<E extends LiveEventName>(event: E, listener: (payload: LiveEvents[E]) => void): () => void {
    const handler = (payload: LiveEvents[E]) => listener(payload);
    this.#socket.on(event as string, handler);
    return () => {
      this.#socket.off(event as string, handler);
    };
  }

  close(): void {
    clearTimeout(this.#retry);
    this.#socket.removeAllListeners();
    this.#socket.disconnect();
    this.#statusListeners.clear();
    this.#resyncListeners.clear();
  }

  #markStale(): void {
    // A failed first attempt counts too: the operator must not take an empty console for a quiet plant.
    this.#setStatus({ state: 'reconnecting', staleSince: this.#status.staleSince ?? Date.now() });
  }

  #redialLater(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#socket.connect(), MANUAL_RECONNECT_MS);
  }

  #setStatus(status: LiveStatus): void {
    if (status.state === this.#status.state && status.staleSince === this.#status.staleSince) return;
    this.#status = status;
    for (const listener of this.#statusListeners) listener();
  }
}
