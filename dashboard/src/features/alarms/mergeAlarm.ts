import { ANNUNCIATED_STATES, type Alarm, type AlarmState } from '../../model.ts';

export function isAnnunciated(state: AlarmState): boolean {
  return ANNUNCIATED_STATES.includes(state);
}

export function isUnacknowledged(state: AlarmState): boolean {
  return state === 'unacknowledged-active' || state === 'unacknowledged-returned';
}

/**
 * The console's list after one alarm record arrives (socket event, ack answer or refetch):
 * inserted or replaced while annunciated, removed when it leaves those states. A record older
 * than the one shown is ignored, so a slow answer cannot undo a newer event.
 */
export function mergeAlarm(alarms: readonly Alarm[], incoming: Alarm): Alarm[] {
  const index = alarms.findIndex((a) => a.id === incoming.id);
  const current = index === -1 ? undefined : alarms[index];
  if (current && current.changedAt > incoming.changedAt) return alarms as Alarm[];
  if (!isAnnunciated(incoming.state)) return index === -1 ? (alarms as Alarm[]) : alarms.filter((a) => a.id !== incoming.id);
  if (index === -1) return [...alarms, incoming];
  const next = [...alarms];
  next[index] = incoming;
  return next;
}
