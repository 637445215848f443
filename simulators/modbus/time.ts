/** Model time for the device models: fixed quanta of simulated time, and the site's time of day. */

/** Longest stretch of simulated time a model catches up on in one step; beyond it, it skips ahead. */
export const MAX_CATCH_UP_MS = 3_600_000; // 1 h

/**
 * Advances a model in fixed quanta of simulated time, whatever the runner's step interval or the
 * clock's speed, so a seed gives the same series at ×1 and at ×60 (sampled at the same times).
 */
export class ModelTime {
  constructor(
    /** Simulated time reached, ms since the epoch. */
    public t: number,
    readonly quantumMs: number,
  ) {}

  advance(now: number, tick: (t: number, dt: number) => void): void {
    if (now - this.t > MAX_CATCH_UP_MS) this.t = Math.floor((now - MAX_CATCH_UP_MS) / this.quantumMs) * this.quantumMs;
    const dt = this.quantumMs / 1000;
    while (this.t + this.quantumMs <= now) {
      this.t += this.quantumMs;
      tick(this.t, dt);
    }
  }
}

/** The hour of the day (0 ≤ h < 24, fractional) in a site's IANA time zone, cached per quarter hour. */
export class SiteClock {
  private readonly format: Intl.DateTimeFormat;
  private offsetMs = 0;
  private validUntil = -Infinity;
  private validFrom = Infinity;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  hourOfDay(t: number): number {
    if (t < this.validFrom || t >= this.validUntil) {
      const p = Object.fromEntries(this.format.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
      const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
      this.offsetMs = wall - Math.floor(t / 1000) * 1000;
      // Zone offsets change on quarter hours at most: recompute at the next one.
      this.validFrom = t;
      this.validUntil = Math.floor(t / 900_000) * 900_000 + 900_000;
    }
    const local = (((t + this.offsetMs) % 86_400_000) + 86_400_000) % 86_400_000;
    return local / 3_600_000;
  }
}

/** A daily curve through (hour, value) knots, linear between them and wrapping at midnight. */
export function dailyCurve(knots: ReadonlyArray<readonly [hour: number, value: number]>): (hour: number) => number {
  const k = [...knots].sort((a, b) => a[0] - b[0]);
  return (hour) => {
    const h = ((hour % 24) + 24) % 24;
    let i = k.findIndex(([kh]) => kh > h);
    if (i === -1) i = k.length;
    const [h0, v0] = i === 0 ? [k[k.length - 1]![0] - 24, k[k.length - 1]![1]] : k[i - 1]!;
    const [h1, v1] = i === k.length ? [k[0]![0] + 24, k[0]![1]] : k[i]!;
    return h1 === h0 ? v0 : v0 + ((v1 - v0) * (h - h0)) / (h1 - h0);
  };
}

/** Fraction of the way from the current value to a target after `dt` s with time constant `tau` s. */
export const settle = (dt: number, tau: number): number => 1 - Math.exp(-dt / tau);
