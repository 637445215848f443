/**
 * The gateway: drivers poll devices, report-by-exception keeps what is news, each cycle becomes one
 * numbered batch in the outbox, and the outbox is published over MQTT until ingest acknowledges it.
 * Device events (from MQTT vendor sources) take the same path in a stream of their own per device,
 * `<device>:events`, with its own seq: the key ingest acknowledges them under.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientPublishOptions } from 'mqtt';
import type { Logger } from 'pino';
import {
  ack,
  deviceEventBatch,
  eventsAckKey,
  gatewayStatus,
  isId,
  telemetryBatch,
  topics,
  type BusOptions,
  type DeviceEvent,
  type DeviceEventBatch,
  type Site,
  type TelemetryBatch,
} from '@vigil/model';
import type { DeviceState, Driver, DriverErrorKind, DriverSink, PollCycle } from './driver.ts';
import { ModbusDriver, type Backoff } from './modbus-driver.ts';
import { BacnetDriver } from './bacnet-driver.ts';
import { BacnetLink, type BacnetBinding } from './bacnet-link.ts';
import type { BacnetTransportCounters } from './bacnet-transport.ts';
import { matchTopic, MqttSourceDriver, type MqttSourceStats, type VendorBus } from './mqtt-source-driver.ts';
import { DiskOutbox } from './disk-outbox.ts';
import type { Outbox, OutboxBacklog } from './outbox.ts';
import { ReportByException } from './report-by-exception.ts';

export interface GatewayOptions {
  site: Site;
  gatewayId: string;
  bus: BusOptions;
  /**
   * The gateway keeps its outbox (and with it every device's seq) in `<dataDir>/gateway-<gatewayId>/outbox/`;
   * a `seq.json` there from an older gateway is taken over once.
   */
  dataDir: string;
  log: Logger;
  /** Re-send a batch that ingest has not acknowledged within this long. Default 10 s. */
  resendAfterMs?: number;
  /** Republish the status this often. Default 30 s. */
  statusEveryMs?: number;
  /** Outbox bounds; past them the oldest batches are dropped, counted and reported. */
  outbox?: {
    /** Default 512 MiB. */
    maxBytes?: number;
    /** Default 7 days. */
    maxAgeMs?: number;
    /** Default 16 MiB (at most maxBytes / 4). */
    segmentBytes?: number;
  };
  /**
   * Batches published and not yet acknowledged, at most (all devices together). Enough to drain a
   * backlog fast, few enough that no broker queue overflows (Mosquitto drops past 1000). Default 64.
   */
  maxInFlight?: number;
  /** Modbus reconnect delay. Default 1 s doubling to 30 s. */
  reconnect?: Backoff;
  /**
   * Where the gateway's one BACnet/IP client binds. Default: 127.0.0.1, an ephemeral port, no
   * broadcast. A deployment names its real interface (and broadcast address) here.
   */
  bacnet?: BacnetBinding & {
    /** SubscribeCOV lifetime, seconds; renewed at half of it. Default 300 (5 minutes). */
    covLifetimeS?: number;
  };
}

export interface GatewayStats {
  /** Poll cycles that talked to a device. */
  polls: number;
  /** Failed reads by kind; `comm-lost` counts losses of a connection (and failed first connects). */
  errors: Record<DriverErrorKind, number>;
  /** Batch publishes, re-sends included. */
  batchesPublished: number;
  batchesResent: number;
  batchesAcknowledged: number;
  samplesAcknowledged: number;
  /** Ack messages that failed validation and were dropped. */
  invalidAcks: number;
  /** Device event batches taken into the outbox. */
  eventBatches: number;
  outbox: OutboxBacklog;
  /** The BACnet/IP socket's counters (null without BACnet devices). */
  bacnet: BacnetTransportCounters | null;
  /** Per MQTT source device: messages, samples, events, ignored, payloads that did not fit. */
  mqtt: Record<string, MqttSourceStats>;
  /** Per device: cycles, failed reads by kind, and poll-cycle latency since start. */
  devices: Record<string, DeviceMetrics>;
}

export interface DeviceMetrics {
  polls: number;
  errors: Record<DriverErrorKind, number>;
  /** Poll cycles timed (pushed updates are not), their total and longest duration. */
  timedCycles: number;
  latencyTotalMs: number;
  latencyMaxMs: number;
}

export interface RunningGateway {
  stats(): GatewayStats;
  /**
   * Writes a commandable point (BACnet: WriteProperty at `priority`, 1–16, clause 19.2; `null`
   * relinquishes). Throws when the point is unknown, not writable by its driver, or refused.
   */
  write(point: string, value: number | boolean | null, priority?: number): Promise<void>;
  close(): Promise<void>;
}

const noop = () => undefined;

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const { site, gatewayId, bus } = opts;
  const log = opts.log.child({ component: 'gateway', gateway: gatewayId });
  if (!isId(gatewayId)) throw new Error(`gateway id '${gatewayId}' must be lower-case letters, digits, '-' or '_', starting with a letter or digit`);
  const siteId = site.site.id;
  const resendAfterMs = opts.resendAfterMs ?? 10_000;
  const statusEveryMs = opts.statusEveryMs ?? 30_000;

  const maxInFlight = opts.maxInFlight ?? 64;
  const gatewayDir = join(opts.dataDir, `gateway-${gatewayId}`);
  // Publishing waits for the disk: a group of batches goes out once its fdatasync is done.
  let pumpSoon: () => void = () => undefined;
  const outbox: Outbox = DiskOutbox.open({
    dir: join(gatewayDir, 'outbox'),
    log,
    legacySeqFile: join(gatewayDir, 'seq.json'),
    ...opts.outbox,
    onDurable: () => pumpSoon(),
  });
  const devices = site.devices;
  const filters = new Map(devices.map((d) => [d.id, new ReportByException(d)]));
  /** Outbox streams ingest may acknowledge: each device's telemetry, and its events. */
  const streams = new Set(devices.flatMap((d) => [d.id, eventsAckKey(d.id)]));
  const assets = new Set(site.assets.map((a) => a.id));

  // One BACnet/IP client for every BACnet device (one UDP port, as a BACnet/IP node has).
  const bacnetDevices = devices.filter((d) => d.protocol === 'bacnet-ip');
  let bacnetLink: BacnetLink | null = null;
  if (bacnetDevices.length > 0) {
    const apduTimeoutMs = Math.max(...bacnetDevices.map((d) => d.timeoutMs));
    try {
      bacnetLink = await BacnetLink.open(opts.bacnet ?? {}, log.child({ component: 'bacnet' }), apduTimeoutMs);
    } catch (err) {
      await outbox.close();
      throw new Error(`cannot bind the BACnet/IP client to ${opts.bacnet?.interface ?? '127.0.0.1'}:${opts.bacnet?.port ?? 0}: ${(err as Error).message}`);
    }
  }

  // Vendor sources on the Vigil bus: subscribed on every (re)connect, messages routed by filter.
  const vendorFilters = new Map<string, (topic: string, payload: Buffer) => void>();
  let client: mqtt.MqttClient | null = null;
  const vendorBus: VendorBus = {
    subscribe(filter, onMessage) {
      vendorFilters.set(filter, onMessage);
      if (client?.connected) client.subscribe(filter, { qos: 1 }, noop);
    },
    unsubscribe(filter) {
      vendorFilters.delete(filter);
    },
  };

  const modbusDrivers = new Map<string, ModbusDriver>();
  const bacnetDrivers = new Map<string, BacnetDriver>();
  const mqttDrivers = new Map<string, MqttSourceDriver>();
  // Modbus devices poll in four groups a quarter of a cycle apart (at most 250 ms): all at once, a
  // hundred devices' samples would be in flight together and survive into V8's old generation
  // (~100 MB more RSS at 100k points); one at a time, every reply would cost an event-loop wake-up
  // of its own (~8 % more CPU). Measured with `npm run bench`.
  const POLL_GROUPS = 4;
  let modbusIndex = 0;
  const drivers: Driver[] = devices.map((device) => {
    switch (device.protocol) {
      case 'modbus-tcp': {
        const phaseMs = Math.floor(((modbusIndex++ % POLL_GROUPS) * Math.min(device.pollIntervalMs, 1000)) / POLL_GROUPS);
        const driver = new ModbusDriver({ device, log, phaseMs, ...(opts.reconnect ? { backoff: opts.reconnect } : {}) });
        modbusDrivers.set(device.id, driver);
        return driver;
      }
      case 'bacnet-ip': {
        const driver = new BacnetDriver({ device, link: bacnetLink!, log, ...(opts.bacnet?.covLifetimeS ? { covLifetimeS: opts.bacnet.covLifetimeS } : {}) });
        bacnetDrivers.set(device.id, driver);
        return driver;
      }
      case 'mqtt': {
        const driver = new MqttSourceDriver({ device, assets, log, bus: vendorBus });
        mqttDrivers.set(device.id, driver);
        return driver;
      }
    }
  });
  const started = Date.now();
  const deviceStates: Record<string, DeviceState> = Object.fromEntries(devices.map((d) => [d.id, { state: 'offline', reason: 'starting', since: started }]));

  const deviceMetrics: Record<string, DeviceMetrics> = Object.fromEntries(
    devices.map((d) => [d.id, { polls: 0, errors: { timeout: 0, exception: 0, 'comm-lost': 0 }, timedCycles: 0, latencyTotalMs: 0, latencyMaxMs: 0 }]),
  );
  /** Latency over the cycles since the previous status message: what it reports. */
  const latencySinceStatus = new Map<string, { cycles: number; totalMs: number; maxMs: number }>();
  const stats: Omit<GatewayStats, 'outbox' | 'bacnet' | 'mqtt' | 'devices'> = {
    polls: 0,
    errors: { timeout: 0, exception: 0, 'comm-lost': 0 },
    batchesPublished: 0,
    batchesResent: 0,
    batchesAcknowledged: 0,
    samplesAcknowledged: 0,
    invalidAcks: 0,
    eventBatches: 0,
  };

  const acksTopic = topics.acks(siteId, gatewayId);
  const statusTopic = topics.status(siteId, gatewayId);
  // A publish the broker's ACL refuses drops the connection silently (aedes): publish only our own topics.
  const ownTopics = new Set([statusTopic, ...devices.flatMap((d) => [topics.telemetry(siteId, d.id), topics.events(siteId, d.id)])]);
  const offlineStatus = () => gatewayStatus.encode({ gateway: gatewayId, online: false, ts: Date.now() });

  client = mqtt.connect(bus.url, {
    clientId: `vigil-gateway-${gatewayId}`,
    ...(bus.username !== undefined ? { username: bus.username } : {}),
    ...(bus.password !== undefined ? { password: bus.password } : {}),
    protocolVersion: 4,
    clean: true,
    // The outbox is the only store-and-forward: nothing may wait in mqtt.js's queues (LIBRARIES.md).
    queueQoSZero: false,
    resubscribe: false,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    will: { topic: statusTopic, payload: Buffer.from(offlineStatus()), qos: 1, retain: true },
  });
  const busClient = client;
  // Nagle's algorithm would hold each small publish until the previous one's TCP ack, draining a
  // backlog at a fraction of what ingest commits (ingest/replay.test.ts); mqtt.js has no option.
  const noDelay = () => (busClient.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  noDelay();
  busClient.on('connect', noDelay);

  function publishOwn(topic: string, payload: string | Buffer, options: IClientPublishOptions): boolean {
    if (!ownTopics.has(topic)) {
      log.error({ topic }, 'refusing to publish on a topic this gateway does not own');
      return false;
    }
    busClient.publish(topic, payload, options, noop);
    return true;
  }

  /** Latency reported per device: the cycles since the previous status, or the last figure when none ran since. */
  const lastLatency = new Map<string, { avg: number; max: number }>();

  function publishStatus(): void {
    if (!busClient.connected) return;
    for (const [device, l] of latencySinceStatus) lastLatency.set(device, { avg: Math.round((l.totalMs / l.cycles) * 10) / 10, max: l.maxMs });
    latencySinceStatus.clear();
    const perDevice = Object.fromEntries(
      Object.entries(deviceStates).map(([id, state]) => {
        const m = deviceMetrics[id]!;
        const latency = lastLatency.get(id);
        return [id, { ...state, polls: m.polls, errors: { ...m.errors }, ...(latency ? { latencyMs: latency } : {}) }];
      }),
    );
    const { errors, polls, batchesPublished, batchesResent, batchesAcknowledged, samplesAcknowledged } = stats;
    const status = {
      gateway: gatewayId,
      online: true,
      ts: Date.now(),
      devices: perDevice,
      outbox: outbox.backlog(),
      metrics: { polls, errors: { ...errors }, batchesPublished, batchesResent, batchesAcknowledged, samplesAcknowledged },
    };
    publishOwn(statusTopic, gatewayStatus.encode(status), { qos: 1, retain: true });
  }

  /** An ack arrived on this connection: ingest is subscribed, the window may open. */
  let ingestHeard = false;

  /** Publishes what the outbox says is due, in seq order per device, within the window; only while connected. */
  function pump(): void {
    if (!busClient.connected) return;
    // Until ingest is heard on this connection, one batch per device: ingest may not have
    // subscribed again yet, and it must never see a device's seq N+1 without N (it would commit
    // N+1 and drop N as a duplicate when it came).
    for (const delivery of outbox.take(Date.now(), resendAfterMs, maxInFlight, ingestHeard ? Number.POSITIVE_INFINITY : 1)) {
      // The stream says the topic: `<device>:events` goes to events/<device>, a device id to telemetry/<device>.
      const topic = delivery.device.endsWith(':events') ? topics.events(siteId, delivery.device.slice(0, -':events'.length)) : topics.telemetry(siteId, delivery.device);
      if (!publishOwn(topic, delivery.payload, { qos: 1 })) continue;
      if (delivery.resend) stats.batchesResent++;
      stats.batchesPublished++;
    }
  }
  pumpSoon = pump;

  function enqueue(cycle: PollCycle): void {
    const metrics = deviceMetrics[cycle.device];
    if (cycle.kind === 'poll') {
      stats.polls++;
      if (metrics) metrics.polls++;
    }
    if (metrics && cycle.durationMs !== undefined) {
      metrics.timedCycles++;
      metrics.latencyTotalMs += cycle.durationMs;
      metrics.latencyMaxMs = Math.max(metrics.latencyMaxMs, cycle.durationMs);
      const since = latencySinceStatus.get(cycle.device) ?? { cycles: 0, totalMs: 0, maxMs: 0 };
      since.cycles++;
      since.totalMs += cycle.durationMs;
      since.maxMs = Math.max(since.maxMs, cycle.durationMs);
      latencySinceStatus.set(cycle.device, since);
    }
    const samples = filters.get(cycle.device)?.filter(cycle.samples) ?? [];
    if (samples.length === 0) return;
    // The seq is on disk with the batch before the batch can leave, so a restart never reuses it.
    const batch: TelemetryBatch = { gateway: gatewayId, device: cycle.device, seq: outbox.nextSeq(cycle.device), samples };
    const checked = telemetryBatch.check(batch);
    if (!checked.ok) {
      log.error({ device: cycle.device, seq: batch.seq, error: checked.error }, 'batch failed validation; not sent');
      return;
    }
    outbox.add(batch);
  }

  function enqueueEvents(device: string, events: DeviceEvent[]): void {
    const batch: DeviceEventBatch = { gateway: gatewayId, device, seq: outbox.nextSeq(eventsAckKey(device)), events };
    const checked = deviceEventBatch.check(batch);
    if (!checked.ok) {
      log.error({ device, seq: batch.seq, error: checked.error }, 'events batch failed validation; not sent');
      return;
    }
    outbox.add(batch);
    stats.eventBatches++;
  }

  const sink: DriverSink = {
    cycle(cycle) {
      try {
        enqueue(cycle);
      } catch (err) {
        log.error({ err, device: cycle.device, samples: cycle.samples.length }, 'could not enqueue a poll cycle; its samples are lost');
      }
    },
    events(device, events) {
      try {
        enqueueEvents(device, events);
      } catch (err) {
        log.error({ err, device, events: events.length }, 'could not enqueue device events; they are lost');
      }
    },
    state(device, state) {
      deviceStates[device] = state;
      log.info({ device, ...state }, 'device communication state');
      publishStatus();
    },
    error(device, kind) {
      stats.errors[kind]++;
      const metrics = deviceMetrics[device];
      if (metrics) metrics.errors[kind]++;
    },
  };

  let invalidAckLogged = false;
  busClient.on('message', (topic, payload) => {
    if (topic !== acksTopic) {
      for (const [filter, onMessage] of vendorFilters) if (matchesFilter(filter, topic)) onMessage(topic, payload);
      return;
    }
    const decoded = ack.decode(payload);
    if (!decoded.ok) {
      stats.invalidAcks++;
      if (!invalidAckLogged) log.warn({ topic, error: decoded.error }, 'invalid ack dropped (logged once)');
      invalidAckLogged = true;
      return;
    }
    ingestHeard = true;
    for (const [device, seq] of Object.entries(decoded.value)) {
      if (!streams.has(device)) continue;
      const { batches, samples } = outbox.acknowledge(device, seq);
      stats.batchesAcknowledged += batches;
      stats.samplesAcknowledged += samples;
    }
    pump();
  });

  busClient.on('connect', () => {
    void (async () => {
      try {
        await busClient.subscribeAsync(acksTopic, { qos: 1 });
        if (vendorFilters.size > 0) await busClient.subscribeAsync([...vendorFilters.keys()], { qos: 1 });
        log.info({ url: bus.url }, 'bus connected');
        publishStatus();
        // Whatever was in flight on the old connection may be lost: re-send every unacknowledged batch in order.
        outbox.markAllUnsent();
        ingestHeard = false;
        pump();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'bus setup after connect failed; retrying on the next connect');
      }
    })();
  });
  busClient.on('close', () => {
    // mqtt.js would replay its own in-flight copies ahead of the outbox's ordered re-send on the
    // next connect: drop them, the outbox re-sends everything unacknowledged.
    for (const id of Object.keys(busClient.outgoing)) busClient.removeOutgoingMessage(Number(id));
  });
  busClient.on('reconnect', () => {
    if (busClient.options.will) busClient.options.will.payload = Buffer.from(offlineStatus());
  });
  busClient.on('offline', () => log.warn({ url: bus.url }, 'bus offline; batches wait in the outbox'));
  busClient.on('error', (err) => log.warn({ err: err.message }, 'bus error'));

  for (const driver of drivers) driver.start(sink);
  const resendTimer = setInterval(pump, Math.min(1000, resendAfterMs));
  const statusTimer = setInterval(publishStatus, statusEveryMs);
  log.info({ site: siteId, devices: devices.length, bus: bus.url }, 'gateway started');

  let closing: Promise<void> | null = null;
  async function close(): Promise<void> {
    clearInterval(resendTimer);
    clearInterval(statusTimer);
    await Promise.all(drivers.map((d) => d.stop()));
    if (busClient.connected) {
      try {
        // Retained, so a late subscriber sees the gateway went away on purpose.
        await Promise.race([busClient.publishAsync(statusTopic, offlineStatus(), { qos: 1, retain: true }), sleep(2000)]);
        await Promise.race([busClient.endAsync(false), sleep(2000)]);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not say goodbye on the bus');
      }
    }
    await busClient.endAsync(true);
    bacnetLink?.close();
    await outbox.close();
    log.info('gateway closed');
  }

  return {
    stats: () => ({
      ...stats,
      errors: { ...stats.errors },
      outbox: outbox.backlog(),
      bacnet: bacnetLink?.counters() ?? null,
      mqtt: Object.fromEntries([...mqttDrivers].map(([id, d]) => [id, d.stats()])),
      devices: Object.fromEntries(Object.entries(deviceMetrics).map(([id, m]) => [id, { ...m, errors: { ...m.errors } }])),
    }),
    async write(point, value, priority) {
      const owner = devices.find((d) => d.points.some((p) => p.id === point));
      if (!owner) throw new Error(`no point '${point}' in site '${siteId}'`);
      const modbus = modbusDrivers.get(owner.id);
      if (modbus) {
        if (value === null) throw new Error(`point '${point}' is on Modbus device '${owner.id}': there is no priority to relinquish`);
        await modbus.write(point, value);
        return;
      }
      const driver = bacnetDrivers.get(owner.id);
      if (!driver) throw new Error(`point '${point}' is on ${owner.protocol} device '${owner.id}': writes go to Modbus and BACnet/IP points only`);
      await driver.write(point, value, priority);
    },
    close: () => (closing ??= close()),
  };
}

/** MQTT filter match with `+` and a trailing `#`. */
function matchesFilter(filter: string, topic: string): boolean {
  if (filter.endsWith('/#')) {
    const prefix = filter.slice(0, -2);
    return topic === prefix || (topic.startsWith(`${prefix}/`) && matchTopic(prefix, topic.split('/').slice(0, prefix.split('/').length).join('/')) !== null);
  }
  return matchTopic(filter, topic) !== null;
}
