/**
 * The simulators' side of the bus (DESIGN.md, "Bus topics"): the retained catalog, and fault
 * requests on `…/sim/<device>/inject|clear` answered on `…/sim/<device>/reply`.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient, type IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';
import { parseTopic, simCatalog, simReply, simRequest, topics, type BusOptions, type SimDevice, type SimReply } from '@vigil/model';
import { SimError } from './errors.ts';

/** What the bus drives: the running simulators. */
export interface SimControl {
  catalog(): SimDevice[];
  /** Whether the site file names this device (served here or not). */
  inSite(device: string): boolean;
  /** Whether this process serves the device. */
  serves(device: string): boolean;
  inject(device: string, fault: string, params?: Record<string, number | string | boolean>): SimDevice;
  clear(device: string, fault: string): SimDevice;
}

/** A fault request is a few hundred bytes; anything far larger is refused before it is parsed (16 KiB). */
export const MAX_SIM_REQUEST_BYTES = 16 * 1024;

export interface SimBusCounters {
  requests: number;
  /** Payloads or topics refused (counted, logged once per device, dropped). */
  invalid: number;
  replies: number;
}

export interface SimBusOptions {
  site: string;
  bus: BusOptions;
  log: Logger;
  control: SimControl;
}

export class SimBus {
  readonly counters: SimBusCounters = { requests: 0, invalid: 0, replies: 0 };
  private readonly warned = new Set<string>();

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: SimBusOptions,
  ) {}

  static async connect(opts: SimBusOptions): Promise<SimBus> {
    const client = await mqtt.connectAsync(opts.bus.url, {
      username: opts.bus.username,
      password: opts.bus.password,
      clientId: `vigil-sim-${opts.site}-${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 1000,
    });
    const bus = new SimBus(client, opts);
    client.on('message', (topic, payload, packet) => bus.onMessage(topic, payload, packet));
    client.on('error', (err) => opts.log.warn({ err }, 'sim bus error'));
    // A broker without persistence forgets the retained catalog when it restarts: publish it again.
    client.on('connect', () => bus.publishCatalog());
    await client.subscribeAsync(topics.all.simRequests(opts.site), { qos: 1 });
    bus.publishCatalog();
    opts.log.info({ url: opts.bus.url }, 'simulators on the bus');
    return bus;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The broker's URL: MQTT vendor bridges publish through this client and report its host and port as their endpoint. */
  get url(): string {
    return this.opts.bus.url;
  }

  /** Publishes as a vendor bridge would (MQTT device simulators), on vendor topics outside `vigil/`. */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): void {
    if (!this.client.connected) return; // a bridge that lost its broker drops live events, like a real one
    this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false }).catch((err: unknown) => this.opts.log.debug({ err, topic }, 'vendor publish failed'));
  }

  /** Publishes the retained catalog; called at start and whenever a fault changes. */
  publishCatalog(): void {
    const payload = simCatalog.encode({ ts: Date.now(), devices: this.opts.control.catalog() });
    this.client.publishAsync(topics.simCatalog(this.opts.site), payload, { qos: 1, retain: true }).catch((err: unknown) => this.opts.log.warn({ err }, 'sim catalog not published'));
  }

  /**
   * Clears the retained catalog (an empty retained message, MQTT 3.1.1 §3.3.1.3) and disconnects.
   * The catalog is cleared rather than republished with faults inactive, because the devices are
   * gone: a retained catalog would point the API at ports nobody serves. This bus client is always
   * this process's own, so clearing is ours to do.
   */
  async close(): Promise<void> {
    if (this.client.connected) {
      const cleared = this.client.publishAsync(topics.simCatalog(this.opts.site), '', { qos: 1, retain: true }).catch(() => undefined);
      await Promise.race([cleared, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    await this.client.endAsync(!this.client.connected);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    try {
      const parsed = parseTopic(topic);
      if (!parsed || parsed.site !== this.opts.site || parsed.kind !== 'sim' || parsed.rest.length !== 2) return;
      const [device, action] = parsed.rest as [string, string];
      if (action === 'reply') return; // our own answers (and other simulators')
      if (packet.retain) {
        // MQTT 3.1.1 §3.3.1.3: retain set = a stored message replayed on subscribe, not a live
        // request; acting on it would re-inject an old fault at every start.
        this.refuse(device, 'retained request ignored');
        return;
      }
      if (action !== 'inject' && action !== 'clear') {
        this.refuse(device, `unknown sim action '${action}'`);
        return;
      }
      this.counters.requests++;
      if (payload.length > MAX_SIM_REQUEST_BYTES) {
        // Parsing megabytes of JSON (or a params object of 100,000 keys) is work nobody asked for.
        this.refuse(device, `payload of ${payload.length} bytes is over ${MAX_SIM_REQUEST_BYTES}`);
        return;
      }
      const decoded = simRequest.decode(payload);
      if (!decoded.ok) {
        this.refuse(device, decoded.error);
        // Answer when the request id can be read, so the sender does not wait for a time-out.
        const id = requestId(payload);
        if (id) this.reply(device, { id, ok: false, error: { code: 'invalid', message: decoded.error } });
        return;
      }
      const { id, fault, params } = decoded.value;
      const control = this.opts.control;
      if (control.inSite(device) && !control.serves(device)) {
        // Another simulator process serves it (`vigil sim` can run several): let that one answer.
        this.opts.log.debug({ device }, 'sim request for a device served elsewhere');
        return;
      }
      try {
        const state = action === 'inject' ? control.inject(device, fault, params) : control.clear(device, fault);
        this.reply(device, { id, ok: true, device: state });
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        this.reply(device, { id, ok: false, error: { code: err.code, message: err.message } });
      }
    } catch (err) {
      this.opts.log.error({ err, topic }, 'sim request failed');
    }
  }

  private refuse(device: string, reason: string): void {
    this.counters.invalid++;
    if (this.warned.has(device)) return;
    if (this.warned.size < 1000) this.warned.add(device);
    this.opts.log.warn({ device, reason }, 'sim request dropped (further ones for this device are counted, not logged)');
  }

  private reply(device: string, reply: SimReply): void {
    this.counters.replies++;
    this.client.publishAsync(topics.simReply(this.opts.site, device), simReply.encode(reply), { qos: 1 }).catch((err: unknown) => this.opts.log.warn({ err, device }, 'sim reply not published'));
  }
}

/** The `id` of a request that failed validation, when it is a usable string. */
function requestId(payload: Buffer): string | null {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    if (value && typeof value === 'object' && 'id' in value && typeof value.id === 'string' && value.id.length > 0 && value.id.length <= 64) return value.id;
  } catch {
    // not JSON: nothing to answer to
  }
  return null;
}
