/**
 * The gateway: drivers poll devices, report-by-exception keeps what is news, each cycle becomes one
 * numbered batch in the outbox, and the outbox is published over MQTT until ingest acknowledges it.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientPublishOptions } from 'mqtt';
import type { Logger } from 'pino';
import { ack, gatewayStatus, isId, telemetryBatch, topics, type BusOptions, type ModbusDevice, type Site, type TelemetryBatch } from '@vigil/model';
import type { DeviceState, Driver, DriverErrorKind, DriverSink, PollCycle } from './driver.ts';
import { ModbusDriver, type Backoff } from './modbus-driver.ts';
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
   * Modbus requests in flight per connection (pipelined, matched by transaction id). Default 1.
   * For every device alike until the site file can say it per device.
   */
  modbusMaxInFlight?: number;
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
  outbox: OutboxBacklog;
}

export interface RunningGateway {
  stats(): GatewayStats;
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
  const devices = site.devices.filter((d): d is ModbusDevice => d.protocol === 'modbus-tcp');
  const filters = new Map(devices.map((d) => [d.id, new ReportByException(d)]));
  const drivers: Driver[] = devices.map((device) => new ModbusDriver({ device, log, maxInFlight: opts.modbusMaxInFlight ?? 1, ...(opts.reconnect ? { backoff: opts.reconnect } : {}) }));
  const started = Date.now();
  const deviceStates: Record<string, DeviceState> = Object.fromEntries(devices.map((d) => [d.id, { state: 'offline', reason: 'starting', since: started }]));

  const stats: Omit<GatewayStats, 'outbox'> = {
    polls: 0,
    errors: { timeout: 0, exception: 0, 'comm-lost': 0 },
    batchesPublished: 0,
    batchesResent: 0,
    batchesAcknowledged: 0,
    samplesAcknowledged: 0,
    invalidAcks: 0,
  };

  const acksTopic = topics.acks(siteId, gatewayId);
  const statusTopic = topics.status(siteId, gatewayId);
  // A publish the broker's ACL refuses drops the connection silently (aedes): publish only our own topics.
  const ownTopics = new Set([statusTopic, ...devices.map((d) => topics.telemetry(siteId, d.id))]);
  const offlineStatus = () => gatewayStatus.encode({ gateway: gatewayId, online: false, ts: Date.now() });

  const client = mqtt.connect(bus.url, {
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

  function publishOwn(topic: string, payload: string | Buffer, options: IClientPublishOptions): boolean {
    if (!ownTopics.has(topic)) {
      log.error({ topic }, 'refusing to publish on a topic this gateway does not own');
      return false;
    }
    client.publish(topic, payload, options, noop);
    return true;
  }

  function publishStatus(): void {
    if (!client.connected) return;
    const status = { gateway: gatewayId, online: true, ts: Date.now(), devices: { ...deviceStates }, outbox: outbox.backlog() };
    publishOwn(statusTopic, gatewayStatus.encode(status), { qos: 1, retain: true });
  }

  /** An ack arrived on this connection: ingest is subscribed, the window may open. */
  let ingestHeard = false;

  /** Publishes what the outbox says is due, in seq order per device, within the window; only while connected. */
  function pump(): void {
    if (!client.connected) return;
    // Until ingest is heard on this connection, one batch per device: ingest may not have
    // subscribed again yet, and it must never see a device's seq N+1 without N (it would commit
    // N+1 and drop N as a duplicate when it came).
    for (const delivery of outbox.take(Date.now(), resendAfterMs, maxInFlight, ingestHeard ? Number.POSITIVE_INFINITY : 1)) {
      if (!publishOwn(topics.telemetry(siteId, delivery.device), delivery.payload, { qos: 1 })) continue;
      if (delivery.resend) stats.batchesResent++;
      stats.batchesPublished++;
    }
  }
  pumpSoon = pump;

  function enqueue(cycle: PollCycle): void {
    if (cycle.kind === 'poll') stats.polls++;
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

  const sink: DriverSink = {
    cycle(cycle) {
      try {
        enqueue(cycle);
      } catch (err) {
        log.error({ err, device: cycle.device, samples: cycle.samples.length }, 'could not enqueue a poll cycle; its samples are lost');
      }
    },
    state(device, state) {
      deviceStates[device] = state;
      log.info({ device, ...state }, 'device communication state');
      publishStatus();
    },
    error(_device, kind) {
      stats.errors[kind]++;
    },
  };

  let invalidAckLogged = false;
  client.on('message', (topic, payload) => {
    if (topic !== acksTopic) return;
    const decoded = ack.decode(payload);
    if (!decoded.ok) {
      stats.invalidAcks++;
      if (!invalidAckLogged) log.warn({ topic, error: decoded.error }, 'invalid ack dropped (logged once)');
      invalidAckLogged = true;
      return;
    }
    ingestHeard = true;
    for (const [device, seq] of Object.entries(decoded.value)) {
      if (!filters.has(device)) continue;
      const { batches, samples } = outbox.acknowledge(device, seq);
      stats.batchesAcknowledged += batches;
      stats.samplesAcknowledged += samples;
    }
    pump();
  });

  client.on('connect', () => {
    void (async () => {
      try {
        await client.subscribeAsync(acksTopic, { qos: 1 });
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
  client.on('close', () => {
    // mqtt.js would replay its own in-flight copies ahead of the outbox's ordered re-send on the
    // next connect: drop them, the outbox re-sends everything unacknowledged.
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  });
  client.on('reconnect', () => {
    if (client.options.will) client.options.will.payload = Buffer.from(offlineStatus());
  });
  client.on('offline', () => log.warn({ url: bus.url }, 'bus offline; batches wait in the outbox'));
  client.on('error', (err) => log.warn({ err: err.message }, 'bus error'));

  for (const driver of drivers) driver.start(sink);
  const resendTimer = setInterval(pump, Math.min(1000, resendAfterMs));
  const statusTimer = setInterval(publishStatus, statusEveryMs);
  log.info({ site: siteId, devices: devices.length, bus: bus.url }, 'gateway started');

  let closing: Promise<void> | null = null;
  async function close(): Promise<void> {
    clearInterval(resendTimer);
    clearInterval(statusTimer);
    await Promise.all(drivers.map((d) => d.stop()));
    if (client.connected) {
      try {
        // Retained, so a late subscriber sees the gateway went away on purpose.
        await Promise.race([client.publishAsync(statusTopic, offlineStatus(), { qos: 1, retain: true }), sleep(2000)]);
        await Promise.race([client.endAsync(false), sleep(2000)]);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not say goodbye on the bus');
      }
    }
    await client.endAsync(true);
    await outbox.close();
    log.info('gateway closed');
  }

  return {
    stats: () => ({ ...stats, errors: { ...stats.errors }, outbox: outbox.backlog() }),
    close: () => (closing ??= close()),
  };
}
