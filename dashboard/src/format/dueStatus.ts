export interface DueStatus {
  overdue: boolean;
  /** Whole minutes to go (or past due), rounded up so "0 min" never hides a late ticket. */
  minutes: number;
}

export function dueStatus(due: number, now: number): DueStatus {
  const diff = due - now;
  return { overdue: diff < 0, minutes: Math.ceil(Math.abs(diff) / 60_000) };
}
