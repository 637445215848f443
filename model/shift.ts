/** Shifts in the site's time zone: who is on duty at a given instant. */
import type { Shift } from './site-schema.ts';

/** Minutes since local midnight in an IANA time zone. */
export function localMinutes(ts: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ts));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/** Whether a shift covers an instant; a shift whose end is before its start runs past midnight. */
export function isOnShift(shift: Shift, ts: number, timeZone: string): boolean {
  const toMin = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const now = localMinutes(ts, timeZone);
  const start = toMin(shift.start);
  const end = toMin(shift.end);
  return start <= end ? now >= start && now < end : now >= start || now < end;
}
