/**
 * Simulated time. Device models read the time of day from here (daily traffic, occupancy), so a
 * simulation can run faster than real time (`speed` 60: an hour a minute) for soak tests and replays.
 */
export interface SimClock {
  /** Simulated wall time, ms since the epoch. */
  now(): number;
  /** Simulated milliseconds per real millisecond. */
  readonly speed: number;
}

export interface SimClockOptions {
  /** Simulated time at start (ms since the epoch); default: the real time. */
  start?: number;
  /** Default 1 (real time). */
  speed?: number;
  /** The real clock, for tests. */
  realNow?: () => number;
}

export function createSimClock(opts: SimClockOptions = {}): SimClock {
  const realNow = opts.realNow ?? Date.now;
  const speed = opts.speed ?? 1;
  if (!(speed > 0 && speed <= 10_000)) throw new RangeError(`simulation speed must be in (0, 10000], got ${speed}`);
  const realStart = realNow();
  const start = opts.start ?? realStart;
  return { speed, now: () => start + (realNow() - realStart) * speed };
}
