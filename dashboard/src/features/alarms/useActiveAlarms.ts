import { useCallback, useMemo } from 'react';
import { useSyncedList } from '../../api/useSyncedList.ts';
import type { Alarm } from '../../model.ts';
import { useSession } from '../auth/useSession.ts';
import { mergeAlarm } from './mergeAlarm.ts';
import { sortAlarms } from './sortAlarms.ts';

/** The annunciated alarms in console order, live. */
export function useActiveAlarms() {
  const { api } = useSession();
  const load = useCallback(() => api.activeAlarms(), [api]);
  const list = useSyncedList('alarm', load, mergeAlarm);
  const sorted = useMemo<Alarm[] | null>(() => (list.items ? sortAlarms(list.items) : null), [list.items]);
  return { ...list, alarms: sorted };
}
