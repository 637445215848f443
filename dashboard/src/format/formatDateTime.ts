/** Formatters are costly to build and a table calls this per cell: one per time zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    const options: Intl.DateTimeFormatOptions = {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    };
    try {
      formatter = new Intl.DateTimeFormat('en-GB', { ...options, timeZone });
    } catch {
      // An unknown zone from a bad site file: UTC is still a true time, and better than nothing.
      formatter = new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** `YYYY-MM-DD HH:mm:ss` in the site's time zone: the same in every language, sortable by eye. */
export function formatDateTime(ts: number, timeZone: string): string {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ts))) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** `HH:mm:ss` in the site's time zone. */
export function formatTime(ts: number, timeZone: string): string {
  return formatDateTime(ts, timeZone).slice(11);
}

/** Time only for today's samples (site-local day), the full date for anything older: an old value must look old. */
export function formatRecent(ts: number, now: number, timeZone: string): string {
  const full = formatDateTime(ts, timeZone);
  return full.slice(0, 10) === formatDateTime(now, timeZone).slice(0, 10) ? full.slice(11) : full;
}
