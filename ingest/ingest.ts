/**
 * The ingest service: consumes telemetry from the bus, stores it, runs the detectors and the alarm
 * and ticket engines, answers operator commands, and acknowledges every committed batch to its
 * gateway (DESIGN.md, "Delivery").
 */
import { connectAsync, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  ack,
  alarmChange,
  commandResult,
  componentHealth,
  deviceEventBatch,
  eventsAckKey,
  gatewayStatus,
  healthTopic,
  indexSite,
  parseTopic,
  telemetryBatch,
  ticketChange,
  topics,
  type BusOptions,
  type CommandResult,
  type Site,
  type Ticket,
} from '@vigil/model';
import { SqliteStateStore } from './state-store.ts';
import type { Retention, TimeSeriesHealth, TimeSeriesStore } from './timeseries.ts';
import { SqliteTimeSeriesStore } from './sqlite-timeseries.ts';
import { InfluxTimeSeriesStore, type InfluxOptions } from './influx-timeseries.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { DetectorSet, type DetectorDecision } from './detectors/index.ts';
import { AlarmEngine, type AlarmChanges, type AlarmSystemState } from './alarm-engine.ts';
import { runCommand } from './commands.ts';
import { TicketEngine } from './ticket-engine.ts';
import type { Outcome } from './outcome.ts';

export interface IngestOptions {
  site: Site;
  bus: BusOptions;
  dataDir: string;
  log: Logger;
  /** Wall clock, for tests: SLA clocks, shifts, acknowledgements, health. */
  now?: () => number;
  /** Set: time series go to InfluxDB (see influxOptionsFromEnv); unset: the embedded SQLite store. */
  influx?: InfluxOptions;
  /** How long the SQLite store keeps each resolution (defaults: raw 30 days, 1-minute 1 year, 1-hour 10 years). */
  retention?: Partial<Retention>;
}

/** VIGIL_INFLUX_URL, _TOKEN, _ORG, _BUCKET, _DATABASE → InfluxOptions; undefined without a URL. */
export function influxOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): InfluxOptions | undefined {
  const url = env.VIGIL_INFLUX_URL;
  if (!url) return undefined;
  const bucket = env.VIGIL_INFLUX_BUCKET;
  if (!bucket) throw new Error('VIGIL_INFLUX_URL is set but VIGIL_INFLUX_BUCKET is not: name the bucket (InfluxDB 1.8: database/retention-policy) samples go to');
  const out: InfluxOptions = { url, bucket };
  if (env.VIGIL_INFLUX_TOKEN) out.token = env.VIGIL_INFLUX_TOKEN;
  if (env.VIGIL_INFLUX_ORG) out.org = env.VIGIL_INFLUX_ORG;
  if (env.VIGIL_INFLUX_DATABASE) out.database = env.VIGIL_INFLUX_DATABASE;
  return out;
}

export interface IngestHealth {
  status: 'up' | 'degraded' | 'down';
  /** Batches committed (duplicates and invalid messages not included). */
  batches: number;
  /** Samples stored. */
  samples: number;
  /** Batches dropped because their seq was already committed (still acknowledged). */
  duplicates: number;
  /** Messages dropped as invalid: not JSON, wrong shape, wrong device, bad command. */
  invalid: number;
  /** Samples dropped because the site file does not know their point. */
  unknownPoints: number;
  /** Wall-clock time of the last committed batch. */
  lastBatchAt: number | null;
  /** Batches the time-series store did not accept: not acknowledged, so the gateway sends them again. */
  storeFailures: number;
  /** Batches set aside unacknowledged because an earlier batch of their device failed (they come again, in order). */
  deferred: number;
  /** Batches left unacknowledged because an earlier seq of their device had not arrived yet. */
  outOfOrder: number;
  store: TimeSeriesHealth;
  /** Device events stored. */
  events: number;
  /** Samples stamped more than 5 min ahead of the wall clock: stored, not fed to detectors. */
  skewedSamples: number;
  /** Floods per operator area and chattering alarms (ISA-18.2 alarm-system health). */
  alarmSystem: AlarmSystemState;
}

export interface RunningIngest {
  health(): IngestHealth;
  close(): Promise<void>;
}

const HEALTH_EVERY_MS = 30_000;
/** How often the wall clock is looked at for comm-loss silence, shelving expiry and re-alarm. */
const WALL_TICK_MS = 1000;
/** Samples stamped further ahead of the wall clock than this are stored but not fed to detectors. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Recent command results kept for idempotent replies to a repeated command id. */
const RECENT_COMMANDS = 1000;
/** Source topics remembered for "log once per source". */
const LOGGED_SOURCES = 10_000;
/**
 * After a failed batch, later batches of its device wait (unacknowledged) for it to be resent, since
 * the ack names the highest committed seq and would otherwise cover the failed one. A gateway that
 * dropped it from its outbox (it counts such drops) never resends it: then the wait ends after this.
 */
const FAILED_BATCH_WAIT_MS = 60_000;
/**
 * How long a gap in a device's seq is waited out before the later batches are taken anyway. A gap
 * means a batch was lost between gateway and ingest (published while ingest was away, with no
 * session to keep it) or dropped by the gateway's bounded outbox. The gateway re-sends from its
 * oldest unacknowledged batch after its re-send time-out (10 s), which fills the first kind; only the
 * second kind outlasts this wait.
 */
const GAP_WAIT_MS = 30_000;
/** Only ids that are one safe topic level may name a result topic (the broker's ACL allows `commands/result/+`). */
const COMMAND_ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function startIngest(opts: IngestOptions): Promise<RunningIngest> {
  const { site, log } = opts;
  const siteId = site.site.id;
  const now = opts.now ?? Date.now;
  const index = indexSite(site);

  // Refuses a data dir another ingest (or a restore) is using.
  const unlock = lockDataDir(opts.dataDir, 'ingest');
  let series: TimeSeriesStore;
  let state: SqliteStateStore;
  try {
    series = opts.influx
      ? InfluxTimeSeriesStore.open(opts.dataDir, opts.influx)
      : SqliteTimeSeriesStore.open(opts.dataDir, { retention: opts.retention, now, onJobError: (err, job) => log.warn({ err, job }, 'time-series maintenance failed; it runs again later') });
  } catch (err) {
    unlock();
    throw err;
  }
  try {
    state = SqliteStateStore.open(opts.dataDir);
  } catch (err) {
    await series.close();
    unlock();
    throw err;
  }
  const tickets = new TicketEngine({ site, store: state, log, now });
  const alarms = new AlarmEngine({ site, store: state, tickets, log, now });

  // An occurrence left open with its condition present by the previous run: its detector starts active, so it can clear.
  const detectors = new DetectorSet(site, (key) => alarms.conditionActive(key));
  /** Applies detector decisions to the alarm engine, gathering what to publish. */
  const decide = (changes: AlarmChanges, decisions: DetectorDecision[]) => {
    for (const d of decisions) {
      const c = alarms.onDecision(d);
      changes.alarms.push(...c.alarms);
      changes.tickets.push(...c.tickets);
    }
  };
  const alarmCounters = { events: 0, skewedSamples: 0 };

  const counters = { batches: 0, samples: 0, duplicates: 0, outOfOrder: 0, invalid: 0, unknownPoints: 0, lastBatchAt: null as number | null, storeFailures: 0, deferred: 0 };
  /** `gateway/device` → the first seq the store failed on, and when. */
  const failedFrom = new Map<string, { seq: number; at: number }>();
  /** Per `<gateway>/<stream>`: since when a later batch has been waiting for a missing seq. */
  const gapSince = new Map<string, number>();

  /**
   * Whether a batch may be committed now. Committing seq N+2 before N+1 would lose N+1 for good (it
   * would then look like a duplicate), so a batch after a gap is left unacknowledged until the
   * missing one arrives or the gap has lasted GAP_WAIT_MS.
   */
  const inOrder = (gateway: string, stream: string, seq: number): boolean => {
    const key = `${gateway}/${stream}`;
    const committed = state.committedSeq(gateway, stream);
    if (seq === committed + 1 || committed === 0) {
      gapSince.delete(key);
      return true;
    }
    const since = gapSince.get(key);
    if (since === undefined) {
      gapSince.set(key, now());
      counters.outOfOrder++;
      return false;
    }
    if (now() - since < GAP_WAIT_MS) {
      counters.outOfOrder++;
      return false;
    }
    gapSince.delete(key);
    log.warn({ gateway, stream, missing: `${committed + 1}..${seq - 1}` }, 'batches never arrived (dropped by the gateway\'s outbox bounds?); taking the later ones');
    return true;
  };
  let storeFailing = false;
  let closing = false;
  let closed = false;
  const recentResults = new Map<string, CommandResult>();
  const loggedSources = new Set<string>();

  const healthTopicName = healthTopic(siteId, 'ingest');
  let client: MqttClient;
  try {
    client = await connectAsync(opts.bus.url, {
      clientId: `vigil-ingest-${siteId}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(opts.bus.username ? { username: opts.bus.username } : {}),
      ...(opts.bus.password ? { password: opts.bus.password } : {}),
      will: { topic: healthTopicName, payload: Buffer.from(componentHealth.encode({ component: 'ingest', status: 'down', ts: now() })), qos: 1, retain: true },
    });
  } catch (err) {
    state.close();
    await series.close();
    unlock();
    throw err;
  }

  // Acks and alarms are small packets sent one at a time: with Nagle's algorithm each waits for the
  // previous one's TCP ack, and a gateway's window of unacknowledged batches drains at a fraction
  // of what ingest can commit (ingest/replay.test.ts). mqtt.js has no option for it; every connection.
  const noDelay = () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  noDelay();
  client.on('connect', noDelay);

  const publish = (topic: string, payload: string, retain = false) =>
    client.publish(topic, payload, { qos: 1, retain }, (err) => {
      if (err && !closed) log.warn({ err, topic }, 'publish failed');
    });

  const health = (): IngestHealth => {
    const store = series.health();
    const status = closed ? 'down' : client.connected && store.status === 'up' ? 'up' : 'degraded';
    return { status, ...counters, store, ...alarmCounters, alarmSystem: alarms.alarmSystem() };
  };
  const publishHealth = () => {
    const { status, ...details } = health();
    publish(healthTopicName, componentHealth.encode({ component: 'ingest', status, ts: now(), details }), true);
  };

  /** Counted, logged once per source topic with the reason, dropped (DESIGN.md, "Bus topics"). */
  const invalid = (topic: string, reason: string) => {
    counters.invalid++;
    if (loggedSources.has(topic)) return;
    if (loggedSources.size < LOGGED_SOURCES) loggedSources.add(topic);
    log.warn({ topic, reason }, 'invalid message dropped (further ones from this source are counted, not logged)');
  };

  const sendAck = (gateway: string) => publish(topics.acks(siteId, gateway), ack.encode(state.committedSeqs(gateway)));

  const publishChanges = (changes: AlarmChanges) => {
    for (const a of changes.alarms) publish(topics.alarms(siteId), alarmChange.encode(a));
    for (const t of changes.tickets) publish(topics.tickets(siteId), ticketChange.encode(t));
  };

  const onTelemetry = async (topic: string, device: string, payload: Buffer) => {
    const decoded = telemetryBatch.decode(payload);
    if (!decoded.ok) return invalid(topic, decoded.error);
    const batch = decoded.value;
    if (batch.device !== device) return invalid(topic, `the payload's device '${batch.device}' is not the topic's '${device}'`);

    if (batch.seq <= state.committedSeq(batch.gateway, batch.device)) {
      // Already committed: the gateway missed our ack. Drop, but acknowledge again.
      counters.duplicates++;
      sendAck(batch.gateway);
      return;
    }

    const known = batch.samples.filter((s) => index.points.has(s.point));
    if (known.length < batch.samples.length) {
      const unknown = batch.samples.filter((s) => !index.points.has(s.point)).map((s) => s.point);
      counters.unknownPoints += unknown.length;
      const source = `${topic}#unknown-points`;
      if (!loggedSources.has(source)) {
        if (loggedSources.size < LOGGED_SOURCES) loggedSources.add(source);
        log.warn({ topic, points: [...new Set(unknown)].slice(0, 20) }, 'samples of points unknown to the site file dropped (counted in unknownPoints)');
      }
    }

    if (!inOrder(batch.gateway, batch.device, batch.seq)) return;

    const stream = `${batch.gateway}/${batch.device}`;
    const failed = failedFrom.get(stream);
    if (failed && batch.seq > failed.seq && now() - failed.at < FAILED_BATCH_WAIT_MS) {
      counters.deferred++;
      return;
    }

    // Samples first, then seq with the alarms and tickets they caused: a crash in between replays
    // the batch, and the time-series write is idempotent per (point, ts), so nothing is lost or doubled.
    try {
      await series.write(known);
    } catch (err) {
      counters.storeFailures++;
      if (!failed || batch.seq < failed.seq || now() - failed.at >= FAILED_BATCH_WAIT_MS) failedFrom.set(stream, { seq: batch.seq, at: now() });
      // Once per outage at warn level: a store outage would otherwise log every batch.
      if (!storeFailing) log.warn({ err, topic }, 'time-series store refused a batch; not acknowledged (the gateway resends it)');
      else log.debug({ err, topic }, 'time-series store refused a batch');
      storeFailing = true;
      return;
    }
    failedFrom.delete(stream);
    if (storeFailing) log.info('time-series store accepts batches again');
    storeFailing = false;
    const changes: AlarmChanges = { alarms: [], tickets: [] };
    try {
      state.transaction(() => {
        const wall = now();
        decide(changes, detectors.comm.heard(batch.device, wall));
        for (const s of known) {
          if (!detectors.watches(s.point)) continue;
          // A device clock far ahead would blind its detectors until real time caught up (a newer sample already decided).
          if (s.ts > wall + MAX_FUTURE_SKEW_MS) {
            alarmCounters.skewedSamples++;
            continue;
          }
          decide(changes, detectors.onSample(s));
        }
        state.commitSeq(batch.gateway, batch.device, batch.seq);
      });
    } catch (err) {
      alarms.reload();
      throw err;
    }
    counters.batches++;
    counters.samples += known.length;
    counters.lastBatchAt = now();
    sendAck(batch.gateway);
    publishChanges(changes);
  };

  /** `events/<device>`: stored and run through the event detectors, with the seq rule of telemetry under `<device>:events`. */
  const onEvents = (topic: string, device: string, payload: Buffer) => {
    const decoded = deviceEventBatch.decode(payload);
    if (!decoded.ok) return invalid(topic, decoded.error);
    const batch = decoded.value;
    if (batch.device !== device) return invalid(topic, `the payload's device '${batch.device}' is not the topic's '${device}'`);
    const stream = eventsAckKey(batch.device);
    if (batch.seq <= state.committedSeq(batch.gateway, stream)) {
      counters.duplicates++;
      sendAck(batch.gateway);
      return;
    }
    if (!inOrder(batch.gateway, stream, batch.seq)) return;
    const assetOf = (e: { asset?: string; point?: string }) => e.asset ?? (e.point ? e.point.slice(0, e.point.indexOf('.')) : undefined);
    const changes: AlarmChanges = { alarms: [], tickets: [] };
    try {
      state.transaction(() => {
        state.addDeviceEvents(batch.gateway, batch.device, batch.seq, batch.events, assetOf);
        decide(changes, detectors.comm.heard(batch.device, now()));
        for (const e of batch.events) decide(changes, detectors.onEvent(e));
        state.commitSeq(batch.gateway, stream, batch.seq);
      });
    } catch (err) {
      alarms.reload();
      throw err;
    }
    alarmCounters.events += batch.events.length;
    sendAck(batch.gateway);
    publishChanges(changes);
  };

  /** `status/<gateway>` (retained): device communication states and the gateway's last will. */
  const onStatus = (topic: string, gateway: string, payload: Buffer) => {
    if (payload.length === 0) return; // retained status cleared
    const decoded = gatewayStatus.decode(payload);
    if (!decoded.ok) return invalid(topic, decoded.error);
    const changes: AlarmChanges = { alarms: [], tickets: [] };
    try {
      state.transaction(() => decide(changes, detectors.comm.status(gateway, decoded.value.online, decoded.value.devices, now())));
    } catch (err) {
      alarms.reload();
      throw err;
    }
    publishChanges(changes);
  };

  /** Wall-clock duties: comm-loss silence, shelving expiry, re-alarm. */
  const onWallTick = () => {
    const changes: AlarmChanges = { alarms: [], tickets: [] };
    try {
      state.transaction(() => {
        decide(changes, detectors.comm.tick(now()));
        const c = alarms.tick();
        changes.alarms.push(...c.alarms);
        changes.tickets.push(...c.tickets);
      });
    } catch (err) {
      alarms.reload();
      log.error({ err }, 'alarm tick failed');
      return;
    }
    publishChanges(changes);
  };

  const answer = (id: string, outcome: Outcome<unknown>): CommandResult =>
    outcome.ok ? { id, ok: true, result: outcome.value } : { id, ok: false, error: { code: outcome.code, message: outcome.message } };

  const onCommand = (topic: string, kind: string, payload: Buffer) => {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return invalid(topic, `not JSON: ${(err as Error).message}`);
    }
    const rawId = (raw as { id?: unknown } | null)?.id;
    if (typeof rawId !== 'string' || !COMMAND_ID.test(rawId)) return invalid(topic, 'a command needs an id of 1–64 letters, digits, - or _');
    const id = rawId;

    const previous = recentResults.get(id);
    if (previous) {
      // The same command again (the API retried): the same answer, and no second effect.
      publish(topics.commandResult(siteId, id), commandResult.encode(previous));
      return;
    }

    const run = runCommand(kind, raw, { alarms, tickets, state });
    if (run.invalid) invalid(topic, run.invalid);
    const result = answer(id, run.outcome);
    const changes = run.changes;

    recentResults.set(id, result);
    if (recentResults.size > RECENT_COMMANDS) recentResults.delete(recentResults.keys().next().value!);
    publish(topics.commandResult(siteId, id), commandResult.encode(result));
    publishChanges(changes);
  };

  const handle = async (topic: string, payload: Buffer) => {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.site !== siteId) return;
    try {
      if (parsed.kind === 'telemetry' && parsed.rest.length === 1) await onTelemetry(topic, parsed.rest[0]!, payload);
      else if (parsed.kind === 'commands' && parsed.rest.length === 1 && parsed.rest[0] !== 'result') onCommand(topic, parsed.rest[0]!, payload);
      else if (parsed.kind === 'events' && parsed.rest.length === 1) onEvents(topic, parsed.rest[0]!, payload);
      else if (parsed.kind === 'status' && parsed.rest.length === 1) onStatus(topic, parsed.rest[0]!, payload);
    } catch (err) {
      // A store failure: the batch is not acknowledged, so the gateway sends it again.
      log.error({ err, topic }, 'message not processed');
    }
  };

  // One message at a time, in arrival order: seq checks and detectors depend on it.
  let queue: Promise<void> = Promise.resolve();
  client.on('message', (topic, payload) => {
    if (closing) return;
    queue = queue.then(() => handle(topic, payload));
  });
  client.on('error', (err) => log.warn({ err }, 'MQTT error'));
  client.on('reconnect', () => log.debug('MQTT reconnecting'));
  client.on('connect', () => publishHealth());

  await client.subscribeAsync([topics.all.telemetry(siteId), topics.all.commands(siteId), topics.all.events(siteId), topics.all.status(siteId)], { qos: 1 });
  publishHealth();
  const timer = setInterval(publishHealth, HEALTH_EVERY_MS);
  timer.unref();
  // In the message queue, so a tick never interleaves with a batch.
  const wallTimer = setInterval(() => {
    if (!closing) queue = queue.then(onWallTick);
  }, WALL_TICK_MS);
  wallTimer.unref();
  log.info({ site: siteId, bus: opts.bus.url, dataDir: opts.dataDir, detectors: detectors.count }, 'ingest started');

  return {
    health,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(timer);
      clearInterval(wallTimer);
      await queue;
      closed = true;
      try {
        if (client.connected) {
          const down = componentHealth.encode({ component: 'ingest', status: 'down', ts: now() });
          await Promise.race([client.publishAsync(healthTopicName, down, { qos: 1, retain: true }), new Promise((r) => setTimeout(r, 2000).unref())]);
        }
      } catch (err) {
        log.warn({ err }, 'could not publish the down status');
      }
      await client.endAsync(!client.connected);
      state.close();
      await series.close();
      unlock();
      log.info('ingest stopped');
    },
  };
}
