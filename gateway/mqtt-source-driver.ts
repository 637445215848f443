/**
 * Reads a vendor bridge that publishes JSON over MQTT (access control, CCTV) as the site file maps
 * it: points from `mqtt: { topic, pointer, type }`, device events from `events:`.
 *
 * Mapping rules:
 * - Topics are relative to the device's `topic`; a `+` matches one level. A point takes the value
 *   of every message whose topic matches its own, so a point's topic should name one publisher
 *   (e.g. `door/door-f01-01/state`); a `+` in a point's topic is for a level that carries no
 *   identity (e.g. a vendor's firmware version in the path).
 * - In an event's topic, the level matched by the (first) `+` is the event's asset when `asset: '+'`.
 * - A payload that does not fit (not JSON, a pointer that finds nothing, a value of the wrong type,
 *   an asset the site does not have) is counted per source (the mapping's topic) and logged once
 *   per source and reason. A vendor event key the mapping does not list is ignored (counted apart).
 * - MQTT carries no source timestamps: samples are stamped on receipt; events take the time at
 *   their `ts` pointer when it holds an integer.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { isId, type DeviceEvent, type MqttDevice, type MqttEvent, type MqttPoint, type Sample } from '@vigil/model';
import type { DeviceState, Driver, DriverSink } from './driver.ts';

/** The broker the bridge publishes to, as the gateway's bus client offers it. */
export interface VendorBus {
  /** Subscribes `filter` (now and after every reconnect); its messages go to `onMessage`. */
  subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): void;
  unsubscribe(filter: string): void;
}

export interface MqttSourceDriverOptions {
  device: MqttDevice;
  /** Asset ids of the site: an event's asset must be one of them. */
  assets: ReadonlySet<string>;
  log: Logger;
  /** The Vigil bus; used unless the device names its own `broker`. */
  bus?: VendorBus;
}

export interface MqttSourceStats {
  messages: number;
  samples: number;
  events: number;
  /** Messages under the device's topic that no mapping names, and event keys a mapping does not list. */
  ignored: number;
  /** Payloads that did not fit, per source (the mapping's topic). */
  unfit: Record<string, number>;
}

/** RFC 6901: the value a JSON pointer names, or undefined. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return node;
}

/** The levels a `+` matched, or null when `topic` does not match `filter` (`+` only; no `#`). */
export function matchTopic(filter: string, topic: string): string[] | null {
  const f = filter.split('/');
  const t = topic.split('/');
  if (f.length !== t.length) return null;
  const bound: string[] = [];
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '+') bound.push(t[i]!);
    else if (f[i] !== t[i]) return null;
  }
  return bound;
}

class Unfit extends Error {}

export class MqttSourceDriver implements Driver {
  readonly device: string;
  private readonly config: MqttDevice;
  private readonly assets: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly bus: VendorBus | undefined;
  private readonly filter: string;
  private readonly stats_: MqttSourceStats = { messages: 0, samples: 0, events: 0, ignored: 0, unfit: {} };
  private readonly logged = new Set<string>();
  private sink: DriverSink | null = null;
  private client: MqttClient | null = null;
  private commState: DeviceState | null = null;
  private heardAt = 0;
  private silenceTimer: NodeJS.Timeout | null = null;

  constructor(opts: MqttSourceDriverOptions) {
    this.config = opts.device;
    this.device = opts.device.id;
    this.assets = opts.assets;
    this.log = opts.log.child({ device: opts.device.id });
    this.bus = opts.bus;
    this.filter = `${opts.device.topic.replace(/\/+$/, '')}/#`;
    for (const e of opts.device.events) {
      if (e.asset === '+' && !e.topic.split('/').includes('+')) this.log.error({ topic: e.topic }, "event mapping takes its asset from '+' but its topic has none: its events carry no asset");
    }
  }

  stats(): MqttSourceStats {
    return { ...this.stats_, unfit: { ...this.stats_.unfit } };
  }

  start(sink: DriverSink): void {
    if (this.sink) return;
    this.sink = sink;
    const onMessage = (topic: string, payload: Buffer) => this.receive(topic, payload);
    if (this.config.broker) {
      // The bridge publishes to a broker of its own: one client for this device.
      const client = mqtt.connect(this.config.broker, { protocolVersion: 4, clean: true, reconnectPeriod: 1000, connectTimeout: 5000, clientId: `vigil-source-${this.device}-${Math.random().toString(16).slice(2, 8)}` });
      client.on('connect', () => void client.subscribeAsync(this.filter, { qos: 1 }).catch((err: Error) => this.log.warn({ err: err.message }, 'vendor subscribe failed')));
      client.on('message', onMessage);
      client.on('error', (err) => this.log.warn({ err: err.message, broker: this.config.broker }, 'vendor broker error'));
      this.client = client;
    } else if (this.bus) {
      this.bus.subscribe(this.filter, onMessage);
    } else {
      this.log.error('no broker: the device names none and the gateway has no bus');
    }
    // Silence: a bridge republishes its retained state at least every heartbeat; three missed is lost.
    const silenceMs = 3 * this.config.heartbeatMs;
    this.heardAt = Date.now();
    this.silenceTimer = setInterval(() => {
      if (Date.now() - this.heardAt > silenceMs) this.lost();
    }, Math.min(5000, this.config.heartbeatMs));
    this.silenceTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    if (this.client) await this.client.endAsync(true).catch(() => undefined);
    else this.bus?.unsubscribe(this.filter);
  }

  /** One vendor message; nothing in it can throw past here. */
  receive(topic: string, payload: Buffer): void {
    try {
      this.handle(topic, payload);
    } catch (err) {
      this.log.error({ err, topic }, 'vendor message handling failed; message dropped');
    }
  }

  private handle(topic: string, payload: Buffer): void {
    const base = this.config.topic.replace(/\/+$/, '');
    if (!topic.startsWith(`${base}/`)) return;
    const relative = topic.slice(base.length + 1);
    const points = this.config.points.filter((p) => matchTopic(p.mqtt.topic, relative));
    const events = this.config.events.map((e) => ({ mapping: e, bound: matchTopic(e.topic, relative) })).filter((m) => m.bound);
    if (points.length === 0 && events.length === 0) {
      this.stats_.ignored++;
      return;
    }
    this.stats_.messages++;
    const source = points[0]?.mqtt.topic ?? events[0]!.mapping.topic;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      this.unfit(source, 'payload is not JSON');
      return;
    }
    const ts = Date.now();
    this.heard(ts);

    const samples: Sample[] = [];
    for (const p of points) {
      try {
        samples.push({ point: p.id, ts, value: this.valueOf(p, body), quality: 'good' });
      } catch (err) {
        if (!(err instanceof Unfit)) throw err;
        this.unfit(p.mqtt.topic, err.message);
      }
    }
    if (samples.length > 0) {
      this.stats_.samples += samples.length;
      this.sink?.cycle({ device: this.device, ts, samples, kind: 'poll' });
    }

    const out: DeviceEvent[] = [];
    for (const { mapping, bound } of events) {
      try {
        const event = this.eventOf(mapping, bound!, body, ts);
        if (event) out.push(event);
        else this.stats_.ignored++;
      } catch (err) {
        if (!(err instanceof Unfit)) throw err;
        this.unfit(mapping.topic, err.message);
      }
    }
    if (out.length > 0) {
      this.stats_.events += out.length;
      this.sink?.events(this.device, out);
    }
  }

  private valueOf(p: MqttPoint, body: unknown): Sample['value'] {
    const raw = resolvePointer(body, p.mqtt.pointer);
    if (raw === undefined) throw new Unfit(`pointer '${p.mqtt.pointer}' finds nothing`);
    switch (p.mqtt.type) {
      case 'number':
        if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new Unfit(`'${p.mqtt.pointer}' is not a number`);
        return raw * p.scale + p.offset;
      case 'boolean':
        if (typeof raw !== 'boolean') throw new Unfit(`'${p.mqtt.pointer}' is not a boolean`);
        return raw;
      case 'string':
        if (typeof raw !== 'string') throw new Unfit(`'${p.mqtt.pointer}' is not a string`);
        return raw.slice(0, 1024);
    }
  }

  /** The Vigil event, null for a vendor key the mapping does not list; throws Unfit. */
  private eventOf(m: MqttEvent, bound: string[], body: unknown, receivedAt: number): DeviceEvent | null {
    const parts = m.key.map((k) => resolvePointer(body, k)).filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
    if (parts.length === 0) throw new Unfit(`no event key at ${m.key.join(', ')}`);
    const type = m.types[parts.map(String).join(':')];
    if (!type) return null;
    const event: DeviceEvent = { ts: receivedAt, type };
    if (m.asset !== undefined) {
      const asset = m.asset === '+' ? bound[0] : resolvePointer(body, m.asset);
      if (typeof asset !== 'string' || !isId(asset) || !this.assets.has(asset)) throw new Unfit(`asset '${String(asset).slice(0, 64)}' is not in the site`);
      event.asset = asset;
    }
    if (m.ts !== undefined) {
      const t = resolvePointer(body, m.ts);
      if (Number.isSafeInteger(t) && (t as number) >= 0) event.ts = t as number;
    }
    const data: NonNullable<DeviceEvent['data']> = {};
    for (const [name, pointer] of Object.entries(m.data)) {
      const v = resolvePointer(body, pointer);
      if (typeof v === 'string') data[name] = v.slice(0, 256);
      else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || v === null) data[name] = v;
    }
    if (Object.keys(data).length > 0) event.data = data;
    return event;
  }

  private unfit(source: string, reason: string): void {
    this.stats_.unfit[source] = (this.stats_.unfit[source] ?? 0) + 1;
    const key = `${source}|${reason}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log.warn({ source, reason }, 'vendor payload does not fit the mapping; dropped (logged once per source and reason)');
  }

  private heard(ts: number): void {
    this.heardAt = ts;
    if (this.commState?.state !== 'online') this.setState({ state: 'online', since: ts });
  }

  /** Silence past the bound: offline, one comm-lost sample per point, on the transition only. */
  private lost(): void {
    if (this.commState?.state === 'offline') return;
    const ts = Date.now();
    this.log.warn({ topic: this.config.topic }, 'vendor bridge silent: communication lost');
    this.setState({ state: 'offline', reason: 'comm-lost', since: ts });
    this.sink?.error(this.device, 'comm-lost');
    if (this.config.points.length > 0) this.sink?.cycle({ device: this.device, ts, samples: this.config.points.map((p) => ({ point: p.id, ts, value: null, quality: 'bad' as const, reason: 'comm-lost' })), kind: 'comm-lost' });
  }

  private setState(next: DeviceState): void {
    this.commState = next;
    this.sink?.state(this.device, next);
  }
}
