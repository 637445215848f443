import { useCallback, useMemo } from 'react';
import { useSyncedList } from '../../api/useSyncedList.ts';
import type { Ticket } from '../../model.ts';
import { useSession } from '../auth/useSession.ts';
import { mergeTicket } from './mergeTicket.ts';
import { sortTickets } from './sortTickets.ts';

/** Every ticket the API shows this user, open work first, live. */
export function useTickets() {
  const { api } = useSession();
  const load = useCallback(() => api.tickets(), [api]);
  const list = useSyncedList('ticket', load, mergeTicket);
  const sorted = useMemo<Ticket[] | null>(() => (list.items ? sortTickets(list.items) : null), [list.items]);
  return { ...list, tickets: sorted };
}
