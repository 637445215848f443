/**
 * The ingest service: consumes telemetry from the bus, stores it, runs the detectors and the alarm
 * and ticket engines, answers operator commands, and acknowledges every committed batch to its
 * gateway (DESIGN.md, "Delivery").
 */
import { connectAsync, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  ack,
  alarmAckCommand,
  alarmChange,
  commandResult,
  componentHealth,
  healthTopic,
  indexSite,
  parseTopic,
  telemetryBatch,
  ticketChange,
  ticketMoveCommand,
  topics,
  type Alarm,
  type BusOptions,
  type CommandResult,
  type Site,
  type Ticket,
} from '@vigil/model';
import { SqliteStateStore } from './state-store.ts';
import { SqliteTimeSeriesStore, type TimeSeriesStore } from './timeseries.ts';
import { ThresholdDetector } from './threshold-detector.ts';
import { AlarmEngine, alarmKey, type AlarmChanges } from './alarm-engine.ts';
import { TicketEngine } from './ticket-engine.ts';
import type { Outcome } from './outcome.ts';

export interface IngestOptions {
  site: Site;
  bus: BusOptions;
  dataDir: string;
  log: Logger;
  /** Wall clock, for tests: SLA clocks, shifts, acknowledgements, health. */
  now?: () => number;
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
}

export interface RunningIngest {
  health(): IngestHealth;
  close(): Promise<void>;
}

const HEALTH_EVERY_MS = 30_000;
/** Recent command results kept for idempotent replies to a repeated command id. */
const RECENT_COMMANDS = 1000;
/** Source topics remembered for "log once per source". */
const LOGGED_SOURCES = 10_000;
/** Only ids that are one safe topic level may name a result topic (the broker's ACL allows `commands/result/+`). */
const COMMAND_ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function startIngest(opts: IngestOptions): Promise<RunningIngest> {
  const { site, log } = opts;
  const siteId = site.site.id;
  const now = opts.now ?? Date.now;
  const index = indexSite(site);

  const series: TimeSeriesStore & SqliteTimeSeriesStore = SqliteTimeSeriesStore.open(opts.dataDir);
  let state: SqliteStateStore;
  try {
    state = SqliteStateStore.open(opts.dataDir);
  } catch (err) {
    await series.close();
    throw err;
  }
  const tickets = new TicketEngine({ site, store: state, log, now });
  const alarms = new AlarmEngine({ site, store: state, tickets, log, now });

  const detectors = new Map<string, Array<{ config: Site['detectors'][number]; detector: ThresholdDetector }>>();
  for (const config of site.detectors) {
    const unit = index.points.get(config.point)?.point.unit ?? '';
    // An occurrence left open with its condition present by the previous run: start active, so it can clear.
    const detector = new ThresholdDetector(config, unit, alarms.conditionActive(alarmKey(config)));
    const list = detectors.get(config.point) ?? [];
    list.push({ config, detector });
    detectors.set(config.point, list);
  }

  const counters = { batches: 0, samples: 0, duplicates: 0, invalid: 0, unknownPoints: 0, lastBatchAt: null as number | null };
  let closing = false;
  let closed = false;
  const recentResults = new Map<string, CommandResult>();
  const loggedSources = new Set<string>();

  const healthTopicName = healthTopic(siteId, 'ingest');
  const client: MqttClient = await connectAsync(opts.bus.url, {
    clientId: `vigil-ingest-${siteId}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(opts.bus.username ? { username: opts.bus.username } : {}),
    ...(opts.bus.password ? { password: opts.bus.password } : {}),
    will: { topic: healthTopicName, payload: Buffer.from(componentHealth.encode({ component: 'ingest', status: 'down', ts: now() })), qos: 1, retain: true },
  });

  const publish = (topic: string, payload: string, retain = false) =>
    client.publish(topic, payload, { qos: 1, retain }, (err) => {
      if (err && !closed) log.warn({ err, topic }, 'publish failed');
    });

  const health = (): IngestHealth => ({ status: closed ? 'down' : client.connected ? 'up' : 'degraded', ...counters });
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

    // Samples first, then seq with the alarms and tickets they caused: a crash in between replays
    // the batch, and the time-series write is idempotent per (point, ts), so nothing is lost or doubled.
    await series.write(known);
    const changes: AlarmChanges = { alarms: [], tickets: [] };
    try {
      state.transaction(() => {
        for (const s of known) {
          for (const { config, detector } of detectors.get(s.point) ?? []) {
            const decision = detector.update(s);
            if (!decision) continue;
            const c = alarms.onDetector(config, decision, s.ts);
            changes.alarms.push(...c.alarms);
            changes.tickets.push(...c.tickets);
          }
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

  const answer = (id: string, outcome: Outcome<Alarm | Ticket>): CommandResult =>
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

    let result: CommandResult;
    let changes: AlarmChanges = { alarms: [], tickets: [] };
    if (kind === 'alarm-ack') {
      const cmd = alarmAckCommand.check(raw);
      if (!cmd.ok) {
        invalid(topic, cmd.error);
        result = { id, ok: false, error: { code: 'invalid', message: cmd.error } };
      } else {
        const outcome = state.transaction(() => alarms.ack(cmd.value.alarmId, cmd.value.user, cmd.value.reason));
        if (outcome.ok) changes = { alarms: [outcome.value], tickets: [] };
        result = answer(id, outcome);
      }
    } else if (kind === 'ticket-move') {
      const cmd = ticketMoveCommand.check(raw);
      if (!cmd.ok) {
        invalid(topic, cmd.error);
        result = { id, ok: false, error: { code: 'invalid', message: cmd.error } };
      } else {
        const outcome = state.transaction(() => tickets.move(cmd.value.ticketId, cmd.value.to, cmd.value.user, cmd.value.reason));
        if (outcome.ok) changes = { alarms: [], tickets: [outcome.value] };
        result = answer(id, outcome);
      }
    } else {
      invalid(topic, `unknown command kind '${kind}'`);
      result = { id, ok: false, error: { code: 'invalid', message: `unknown command kind '${kind}'; known: alarm-ack, ticket-move` } };
    }

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

  await client.subscribeAsync([topics.all.telemetry(siteId), topics.all.commands(siteId)], { qos: 1 });
  publishHealth();
  const timer = setInterval(publishHealth, HEALTH_EVERY_MS);
  timer.unref();
  log.info({ site: siteId, bus: opts.bus.url, dataDir: opts.dataDir, detectors: site.detectors.length }, 'ingest started');

  return {
    health,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(timer);
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
      log.info('ingest stopped');
    },
  };
}
