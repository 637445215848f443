/**
 * The API's link to the MQTT bus (DESIGN.md, "Bus topics"): it keeps the retained status it needs
 * for health and the simulator catalog, relays alarm, ticket and telemetry events, and sends
 * commands and simulator requests, matching each answer to its request by id.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  alarmChange,
  commandResult,
  componentHealth,
  gatewayStatus,
  healthTopic,
  parseTopic,
  simCatalog,
  simReply,
  telemetryBatch,
  ticketChange,
  topics,
  type Alarm,
  type BusOptions,
  type CommandKind,
  type CommandResult,
  type ComponentHealth,
  type GatewayStatus,
  type Sample,
  type SimCatalog,
  type SimReply,
  type Ticket,
} from '@vigil/model';
import { ApiError } from './errors.ts';

export interface BusLinkOptions {
  site: string;
  bus: BusOptions;
  log: Logger;
  commandTimeoutMs: number;
}

export interface BusLinkEvents {
  alarm: [Alarm];
  ticket: [Ticket];
  points: [Sample[]];
}

interface Pending<T> {
  resolve(value: T): void;
  timer: NodeJS.Timeout;
}

export class BusLink extends EventEmitter<BusLinkEvents> {
  private readonly client: MqttClient;
  private readonly site: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private subscribed = false;
  private ingest: ComponentHealth | undefined;
  private readonly gatewayStates = new Map<string, GatewayStatus>();
  private simCatalog: SimCatalog | undefined;
  private readonly commands = new Map<string, Pending<CommandResult>>();
  private readonly simRequests = new Map<string, Pending<SimReply>>();
  /** Invalid messages per topic kind; each topic is logged once. */
  readonly invalid = new Map<string, number>();
  private readonly loggedInvalid = new Set<string>();

  constructor(opts: BusLinkOptions) {
    super();
    this.site = opts.site;
    this.log = opts.log;
    this.timeoutMs = opts.commandTimeoutMs;
    const clientId = `vigil-api-${opts.site}-${randomBytes(4).toString('hex')}`;
    // connect, not connectAsync: the API must serve (and report the bus down) while the broker is away.
    this.client = mqtt.connect(opts.bus.url, {
      clientId,
      reconnectPeriod: 1000,
      resubscribe: false, // we subscribe on every connect without a session ourselves
      ...(opts.bus.username === undefined ? {} : { username: opts.bus.username }),
      ...(opts.bus.password === undefined ? {} : { password: opts.bus.password }),
    });
    let wasUp = false;
    this.client.on('connect', (connack) => {
      wasUp = true;
      this.log.info({ url: opts.bus.url, clientId }, 'connected to the bus');
      if (!connack.sessionPresent) this.subscribe();
    });
    this.client.on('close', () => {
      this.subscribed = false;
      // client.disconnecting: our own close(), not a lost broker.
      if (wasUp && !this.client.disconnecting) this.log.warn({ url: opts.bus.url }, 'lost the bus; reconnecting');
      wasUp = false;
    });
    // Without a listener an 'error' event would throw and end the process.
    this.client.on('error', (err) => this.log.debug({ err: err.message }, 'bus connection error'));
    this.client.on('message', (topic, payload) => {
      try {
        this.onMessage(topic, payload);
      } catch (err) {
        this.log.error({ err, topic }, 'bus message handler failed');
      }
    });
  }

  private subscribe(): void {
    const s = this.site;
    this.client.subscribe(
      {
        [topics.all.commandResults(s)]: { qos: 1 },
        [topics.all.simReplies(s)]: { qos: 1 },
        [topics.simCatalog(s)]: { qos: 1 },
        [topics.all.status(s)]: { qos: 1 },
        [healthTopic(s, 'ingest')]: { qos: 1 },
        [topics.alarms(s)]: { qos: 1 },
        [topics.tickets(s)]: { qos: 1 },
        // Live values are replaced by the next ones within seconds: QoS 0 keeps the broker light.
        [topics.all.telemetry(s)]: { qos: 0 },
      },
      (err) => {
        if (err) this.log.error({ err: err.message }, 'bus subscription failed');
        else this.subscribed = true;
      },
    );
  }

  /** Connected and subscribed: a command sent now can have its answer heard. */
  get ready(): boolean {
    return this.client.connected && this.subscribed;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  ingestHealth(): ComponentHealth | undefined {
    return this.ingest;
  }

  gateways(): ReadonlyMap<string, GatewayStatus> {
    return this.gatewayStates;
  }

  catalog(): SimCatalog | undefined {
    return this.simCatalog;
  }

  private dropInvalid(kind: string, topic: string, error: string): void {
    this.invalid.set(kind, (this.invalid.get(kind) ?? 0) + 1);
    if (this.loggedInvalid.has(topic) || this.loggedInvalid.size > 1000) return;
    this.loggedInvalid.add(topic);
    this.log.warn({ topic, error }, 'dropped an invalid bus message (logged once per topic)');
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.site !== this.site) return;
    const { kind, rest } = parsed;
    const decode = <T>(codec: { decode(p: Buffer): { ok: true; value: T } | { ok: false; error: string } }): T | undefined => {
      const d = codec.decode(payload);
      if (d.ok) return d.value;
      this.dropInvalid(kind, topic, d.error);
      return undefined;
    };

    if (kind === 'telemetry') {
      const batch = decode(telemetryBatch);
      if (batch) this.emit('points', batch.samples);
    } else if (kind === 'alarms' && rest.length === 0) {
      const alarm = decode(alarmChange);
      if (alarm) this.emit('alarm', alarm);
    } else if (kind === 'tickets' && rest.length === 0) {
      const ticket = decode(ticketChange);
      if (ticket) this.emit('ticket', ticket);
    } else if (kind === 'commands' && rest[0] === 'result' && rest.length === 2) {
      const result = decode(commandResult);
      if (!result) return;
      const pending = this.commands.get(result.id);
      if (!pending) return; // another API node's command, or one we gave up on
      this.commands.delete(result.id);
      clearTimeout(pending.timer);
      pending.resolve(result);
    } else if (kind === 'sim' && rest.length === 2 && rest[1] === 'reply') {
      const reply = decode(simReply);
      if (!reply) return;
      const pending = this.simRequests.get(reply.id);
      if (!pending) return;
      this.simRequests.delete(reply.id);
      clearTimeout(pending.timer);
      pending.resolve(reply);
    } else if (kind === 'sim' && rest.length === 1 && rest[0] === 'catalog') {
      if (payload.length === 0) return void (this.simCatalog = undefined); // retained message cleared
      const catalog = decode(simCatalog);
      if (catalog) this.simCatalog = catalog;
    } else if (kind === 'status' && rest.length === 1) {
      if (payload.length === 0) return void this.gatewayStates.delete(rest[0]!);
      const status = decode(gatewayStatus);
      if (status) this.gatewayStates.set(rest[0]!, status);
    } else if (kind === 'health' && rest[0] === 'ingest') {
      if (payload.length === 0) return void (this.ingest = undefined);
      const health = decode(componentHealth);
      if (health) this.ingest = health;
    }
  }

  /** Sends `message` and waits for the answer with its id; 503 if the bus is down, 504 on time-out. */
  private async request<T>(pendingMap: Map<string, Pending<T>>, topic: string, id: string, message: object, what: string): Promise<T> {
    if (!this.ready) throw new ApiError('VIGIL_ERR_BUS_UNAVAILABLE', `the API is not connected to the bus, so the ${what} was not sent; try again shortly`);
    const answer = new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        pendingMap.delete(id);
        resolve(undefined as T); // settled as "no answer" below
      }, this.timeoutMs);
      pendingMap.set(id, { resolve, timer });
    });
    try {
      await this.client.publishAsync(topic, JSON.stringify(message), { qos: 1 });
    } catch (err) {
      const pending = pendingMap.get(id);
      if (pending) clearTimeout(pending.timer);
      pendingMap.delete(id);
      throw new ApiError('VIGIL_ERR_BUS_UNAVAILABLE', `the ${what} could not be sent: ${(err as Error).message}`);
    }
    const result = await answer;
    if (result === undefined) throw new ApiError('VIGIL_ERR_COMMAND_TIMEOUT', `the ${what} was not answered within ${this.timeoutMs} ms; it may still be applied`);
    return result;
  }

  /** An operator command to ingest (`commands/<kind>`), answered on `commands/result/<id>`. */
  command(kind: CommandKind, body: { user: string; reason?: string } & Record<string, unknown>): Promise<CommandResult> {
    const id = randomUUID();
    return this.request(this.commands, topics.command(this.site, kind), id, { id, ...body }, `${kind} command`);
  }

  /** A fault injection or clear for a simulated device, answered on `sim/<device>/reply`. */
  simulator(device: string, action: 'inject' | 'clear', body: { fault: string; params?: Record<string, number | string | boolean> }): Promise<SimReply> {
    const id = randomUUID();
    const topic = action === 'inject' ? topics.simInject(this.site, device) : topics.simClear(this.site, device);
    return this.request(this.simRequests, topic, id, { id, ...body }, `simulator ${action} request`);
  }

  async close(): Promise<void> {
    for (const map of [this.commands, this.simRequests] as Map<string, Pending<unknown>>[]) {
      for (const pending of map.values()) {
        clearTimeout(pending.timer);
        pending.resolve(undefined);
      }
      map.clear();
    }
    this.removeAllListeners();
    await this.client.endAsync(true);
  }
}
