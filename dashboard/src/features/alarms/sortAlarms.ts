import type { Alarm } from '../../model.ts';

/** Console order: priority first (1 critical on top), then the newest raised. Ties by id keep rows still. */
export function compareAlarms(a: Alarm, b: Alarm): number {
  return a.priority - b.priority || b.raisedAt - a.raisedAt || a.id.localeCompare(b.id);
}

export function sortAlarms(alarms: readonly Alarm[]): Alarm[] {
  return [...alarms].sort(compareAlarms);
}
