/**
 * What the MQTT vendor-bridge models share: an agenda in simulated time, the site's local time of
 * day, the publisher that skips while the broker is away, and fault-parameter parsing.
 */
import type { MqttDevice } from '@vigil/model';
import type { FaultParams, FaultSpec, SimulatedDevice, SimulatorContext, VendorPublisher } from '../device.ts';
import { SimError } from '../errors.ts';
import { hashString, Noise } from '../prng.ts';

/**
 * Things to do at simulated times, run in time order (ties in the order scheduled). Everything a
 * bridge does happens here, so its output depends on simulated time only, not on how often the
 * runner happens to call `step()`: the same seed gives the same events at ×1 and at ×600.
 */
export class Agenda {
  private items: Array<{ at: number; order: number; run: (at: number) => void; cancelled: boolean }> = [];
  private order = 0;

  at(at: number, run: (at: number) => void): { cancel(): void } {
    const item = { at, order: this.order++, run, cancelled: false };
    // Binary search for the insertion point: the agenda stays sorted by (at, order).
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.items[mid]!;
      if (m.at < at || (m.at === at && m.order < item.order)) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
    return { cancel: () => void (item.cancelled = true) };
  }

  /** Runs everything due at or before `now`, including what those items schedule before `now`. */
  runUntil(now: number): void {
    while (this.items.length > 0 && this.items[0]!.at <= now) {
      const item = this.items.shift()!;
      if (!item.cancelled) item.run(item.at);
    }
  }
}

/** The site's wall clock (IANA time zone): daily traffic follows it, not UTC. */
export class LocalTime {
  private readonly format: Intl.DateTimeFormat;
  private cached = { minute: NaN, offsetMs: 0, weekday: 0 };

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
  }

  /** Offset of local time from UTC at `ts`, in ms (+08:00 → 28 800 000). */
  offsetMs(ts: number): number {
    return this.at(ts).offsetMs;
  }

  /** Hour of the local day, fractional (13.5 = 13:30). */
  hour(ts: number): number {
    const local = ts + this.offsetMs(ts);
    return (((local % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
  }

  /** 0 Sunday … 6 Saturday, local. */
  weekday(ts: number): number {
    return this.at(ts).weekday;
  }

  /** ISO 8601 with the local offset, as Hikvision's `dateTime` (`2017-07-19T10:06:41+08:00`). */
  iso(ts: number): string {
    const offset = this.offsetMs(ts);
    const local = new Date(ts + offset).toISOString().slice(0, 19);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset) / 60_000;
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }

  /** The first time at or after `ts` whose local time of day is a multiple of `periodMs` (e.g. every 2 h from midnight). */
  nextMultiple(ts: number, periodMs: number): number {
    const offset = this.offsetMs(ts);
    return Math.ceil((ts + offset) / periodMs) * periodMs - offset;
  }

  private at(ts: number): { offsetMs: number; weekday: number } {
    // Formatting is slow next to a simulator step: one answer per minute is plenty (zone changes fall on whole minutes).
    const minute = Math.floor(ts / 60_000);
    if (minute === this.cached.minute) return this.cached;
    const parts = Object.fromEntries(this.format.formatToParts(minute * 60_000).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
    const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!);
    this.cached = { minute, offsetMs: asUtc - minute * 60_000, weekday };
    return this.cached;
  }
}

/** Publishes below the bridge's base topic; counts what went out and what was dropped with no broker. */
export class BridgeOutput {
  readonly counters = { published: 0, skipped: 0, events: 0 };
  private seq = 0;

  constructor(
    private readonly vendor: VendorPublisher | null,
    readonly base: string,
  ) {}

  get online(): boolean {
    return this.vendor !== null && this.vendor.connected;
  }

  /** Retained state (QoS 1: the latest state must arrive; the broker keeps it for late subscribers). */
  state(subtopic: string, body: object): void {
    this.send(subtopic, JSON.stringify(body), { retain: true, qos: 1 });
  }

  /**
   * An event as it happens (QoS 0, like most bridges). `seq` rises by one per event whether or not a
   * broker was there to take it, so a consumer can see the gap a broker outage leaves.
   */
  event(subtopic: string, body: object): void {
    this.seq++;
    this.counters.events++;
    this.send(subtopic, JSON.stringify({ seq: this.seq, ...body }), { qos: 0 });
  }

  private send(subtopic: string, payload: string, opts: { retain?: boolean; qos: 0 | 1 }): void {
    if (!this.online) {
      // A bridge that lost its broker drops live events, like a real one (no store-and-forward).
      this.counters.skipped++;
      return;
    }
    this.vendor!.publish(`${this.base}/${subtopic}`, payload, opts);
    this.counters.published++;
  }
}

/**
 * Host and port of the broker the bridge publishes to: parsed from the publisher's URL when it
 * exposes one (the SimBus does), else 127.0.0.1:0, meaning "not known here".
 */
export function brokerAddress(vendor: VendorPublisher | null): { host: string; port: number } {
  const url = vendor?.url ?? null;
  if (url) {
    try {
      const parsed = new URL(url);
      const defaults: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
      return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : (defaults[parsed.protocol] ?? 0) };
    } catch {
      // an unparsable URL: fall through
    }
  }
  return { host: '127.0.0.1', port: 0 };
}

/**
 * A pseudonym for a person or credential: a stable hash, never a real-looking card number
 * (`card-5f3a9b2e`). The same input always gives the same pseudonym.
 */
export function pseudonym(prefix: string, text: string): string {
  return `${prefix}-${hashString(text).toString(16).padStart(8, '0')}`;
}

/** Independent noise streams of one device, so drawing for a fault never shifts the normal traffic. */
export function streams<K extends string>(seed: number, names: readonly K[]): Record<K, Noise> {
  return Object.fromEntries(names.map((n) => [n, new Noise((seed ^ hashString(n)) >>> 0)])) as Record<K, Noise>;
}

/** Exponential gap of a Poisson process with `perHour` events per hour, in ms. */
export function poissonGap(noise: Noise, perHour: number): number {
  return (-Math.log(1 - noise.unit()) / perHour) * 3_600_000;
}

/** A value quoted in an error message, cut short: the message goes back on the bus. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Fault and model parameters, checked with a message that names the parameter. */
export const param = {
  /** One of `allowed` (asset ids, kinds …); `fallback` when absent. */
  choice(params: FaultParams, name: string, allowed: readonly string[], fallback: string): string {
    const value = params[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !allowed.includes(value)) {
      const list = allowed.length > 8 ? `${allowed.slice(0, 8).join(', ')} … (${allowed.length})` : allowed.join(', ');
      throw new SimError('invalid', `param '${name}' must be one of ${list}; got ${shown(value)}`);
    }
    return value;
  },
  integer(params: FaultParams, name: string, min: number, max: number, fallback: number): number {
    const value = params[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SimError('invalid', `param '${name}' must be an integer from ${min} to ${max}; got ${shown(value)}`);
    }
    return value;
  },
  /** Refuses parameters the fault does not take (a typo would otherwise be silently ignored). */
  only(params: FaultParams, fault: string, names: readonly string[]): void {
    const extra = Object.keys(params).filter((k) => !names.includes(k));
    if (extra.length > 0) {
      const named = extra.slice(0, 5).map((n) => `'${n.slice(0, 64)}'`).join(', ') + (extra.length > 5 ? ` … (${extra.length})` : '');
      throw new SimError('invalid', `fault '${fault}' takes ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'no params'}; not ${named}`);
    }
  },
};

/**
 * Share of the peak headcount in a mixed-use tower at a local hour (0–1): quiet nights, a morning
 * peak at 08:00–09:00, lunch, an evening peak at 17:00–19:00; weekends at about a fifth. A plausible
 * shape for a demo, not a measured one (unverified).
 */
export function occupancy(hour: number, weekday: number): number {
  const weekdayCurve = [0.03, 0.02, 0.02, 0.02, 0.02, 0.04, 0.1, 0.45, 1, 0.85, 0.55, 0.6, 0.9, 0.8, 0.55, 0.5, 0.55, 0.9, 0.85, 0.45, 0.25, 0.15, 0.08, 0.05];
  const h = Math.floor(hour) % 24;
  const base = weekdayCurve[h]!;
  return weekday === 0 || weekday === 6 ? Math.max(0.02, base * 0.2) : base;
}

/** What a vendor bridge model implements; `simulatedBridge` turns it into a simulated device. */
export interface Bridge {
  faults(): Array<FaultSpec & { active: boolean }>;
  inject(fault: string, params: FaultParams, now: number): void;
  clear(fault: string, now: number): void;
  step(now: number): void;
}

/**
 * A bridge as a SimulatedDevice: reached at the broker's address under its topic; on close it
 * publishes what its last will would say, so the retained status never claims a bridge that is gone.
 */
export function simulatedBridge(ctx: SimulatorContext<MqttDevice>, model: string, out: BridgeOutput, bridge: Bridge, statusTopic: string): SimulatedDevice {
  const { device, clock } = ctx;
  const { host, port } = brokerAddress(ctx.vendor);
  return {
    endpoint: { device: device.id, protocol: 'mqtt', host, port, topic: device.topic, model },
    faults: () => bridge.faults(),
    inject: (fault, params) => bridge.inject(fault, params ?? {}, clock.now()),
    clear: (fault) => bridge.clear(fault, clock.now()),
    step: (now) => bridge.step(now),
    counters: () => ({ ...out.counters }),
    async close() {
      out.state(statusTopic, { ts: clock.now(), online: false });
    },
  };
}

/** The end of a bridge model's reference: its params with defaults, then its faults. */
export function paramsAndFaultsMarkdown(defaults: Record<string, unknown>, faults: Record<string, { description: string }>): string[] {
  return [
    'Model params (`simulator.params`): ' + Object.entries(defaults).map(([k, v]) => `\`${k}\` (${String(v)})`).join(', ') + '.',
    '',
    '| fault | effect |',
    '| --- | --- |',
    ...Object.entries(faults).map(([n, f]) => `| \`${n}\` | ${f.description} |`),
    '',
  ];
}
