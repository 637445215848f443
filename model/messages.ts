/** Payloads of the Vigil bus (DESIGN.md, "Bus topics"), as schemas that also give the types. */
import { Type, type Static } from '@sinclair/typebox';
import { codec, type Codec } from './codec.ts';
import { ID_PATTERN, POINT_ID_PATTERN } from './ids.ts';
import { AlarmSchema } from './alarm.ts';
import { TicketSchema } from './ticket.ts';

const Id = Type.String({ pattern: ID_PATTERN, maxLength: 64 });
const PointId = Type.String({ pattern: POINT_ID_PATTERN, maxLength: 129 });
/** Milliseconds since the epoch, UTC. */
const Timestamp = Type.Integer({ minimum: 0 });

export const QualitySchema = Type.Union([Type.Literal('good'), Type.Literal('uncertain'), Type.Literal('bad')]);
export type Quality = Static<typeof QualitySchema>;

export const SampleValueSchema = Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 1024 }), Type.Null()]);
export type SampleValue = Static<typeof SampleValueSchema>;

export const SampleSchema = Type.Object({
  point: PointId,
  ts: Timestamp,
  value: SampleValueSchema,
  quality: QualitySchema,
  /** Why a sample is not good: `timeout`, `exception`, `comm-lost`, `out-of-range` … */
  reason: Type.Optional(Type.String({ maxLength: 200 })),
});
export type Sample = Static<typeof SampleSchema>;

/** `vigil/v1/<site>/telemetry/<device>`: `seq` rises by one per batch per device and survives restarts. */
export const TelemetryBatchSchema = Type.Object({
  gateway: Id,
  device: Id,
  seq: Type.Integer({ minimum: 1 }),
  samples: Type.Array(SampleSchema, { minItems: 1, maxItems: 100_000 }),
});
export type TelemetryBatch = Static<typeof TelemetryBatchSchema>;

/** A string that JSON.stringify would write with escapes: written through it, the rest as they are. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const jsonString = (s: string) => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/**
 * A telemetry batch as JSON.stringify writes it (byte for byte for objects built in schema order),
 * in a third of the time: the gateway encodes a hundred batches of 1,000 samples a second.
 */
function encodeTelemetryBatch(batch: TelemetryBatch): string {
  let out = `{"gateway":${jsonString(batch.gateway)},"device":${jsonString(batch.device)},"seq":${JSON.stringify(batch.seq)},"samples":[`;
  const samples = batch.samples;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const v = s.value;
    const value = typeof v === 'string' ? jsonString(v) : typeof v === 'number' && !Number.isFinite(v) ? 'null' : String(v);
    out += `${i === 0 ? '' : ','}{"point":${jsonString(s.point)},"ts":${JSON.stringify(s.ts)},"value":${value},"quality":${jsonString(s.quality)}${s.reason === undefined ? '' : `,"reason":${jsonString(s.reason)}`}}`;
  }
  return `${out}]}`;
}

export const telemetryBatch: Codec<typeof TelemetryBatchSchema> = { ...codec(TelemetryBatchSchema), encode: encodeTelemetryBatch };

/**
 * `vigil/v1/<site>/events/<device>`: discrete device events (door forced, card denied, camera tamper),
 * with the same `seq` rule as telemetry, counted separately from the device's telemetry batches.
 */
export const DeviceEventSchema = Type.Object({
  /** The asset the event is about; without it, the asset of `point`. */
  asset: Type.Optional(Id),
  point: Type.Optional(PointId),
  ts: Timestamp,
  /** e.g. `door-forced`, `access-denied`, `video-loss`, `tamper`, `patrol-missed`. */
  type: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]*$', maxLength: 64 }),
  data: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 256 }), Type.Null()]))),
});
export type DeviceEvent = Static<typeof DeviceEventSchema>;
export const DeviceEventBatchSchema = Type.Object({
  gateway: Id,
  device: Id,
  seq: Type.Integer({ minimum: 1 }),
  events: Type.Array(DeviceEventSchema, { minItems: 1, maxItems: 10_000 }),
});
export type DeviceEventBatch = Static<typeof DeviceEventBatchSchema>;
export const deviceEventBatch = codec(DeviceEventBatchSchema);

/** The key under which the acks topic reports a device's committed event `seq`: `<device>:events`. */
export const eventsAckKey = (device: string) => `${device}:events`;

/** `vigil/v1/<site>/acks/<gateway>`: the highest committed `seq` per device (telemetry) and per `<device>:events`. */
export const AckSchema = Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*(:events)?$' }), Type.Integer({ minimum: 0 }));
export type Ack = Static<typeof AckSchema>;
export const ack = codec(AckSchema);

export const DeviceCommStateSchema = Type.Union([Type.Literal('online'), Type.Literal('degraded'), Type.Literal('offline')]);
export type DeviceCommState = Static<typeof DeviceCommStateSchema>;

/** One device as its gateway's status reports it: communication state and metrics. */
export const GatewayDeviceStatusSchema = Type.Object({
  state: DeviceCommStateSchema,
  reason: Type.Optional(Type.String()),
  since: Timestamp,
  /** Poll cycles (and pushed updates: COV, vendor messages) since the gateway started. */
  polls: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Failed reads since start, by kind. */
  errors: Type.Optional(Type.Object({ timeout: Type.Integer({ minimum: 0 }), exception: Type.Integer({ minimum: 0 }), 'comm-lost': Type.Integer({ minimum: 0 }) })),
  /** How long a poll cycle took, over the cycles since the previous status (polled devices only). */
  latencyMs: Type.Optional(Type.Object({ avg: Type.Number({ minimum: 0 }), max: Type.Number({ minimum: 0 }) })),
});

/** `vigil/v1/<site>/status/<gateway>` (retained): birth, last will, device communication states and metrics. */
export const GatewayStatusSchema = Type.Object({
  gateway: Id,
  online: Type.Boolean(),
  ts: Timestamp,
  devices: Type.Optional(Type.Record(Type.String(), GatewayDeviceStatusSchema)),
  /** Oldest sample waiting (`oldestTs`, so its age is `ts - oldestTs`), and what was dropped past the bounds. */
  outbox: Type.Optional(
    Type.Object({
      batches: Type.Integer(),
      samples: Type.Integer(),
      oldestTs: Type.Union([Timestamp, Type.Null()]),
      dropped: Type.Integer(),
      bytes: Type.Optional(Type.Integer({ minimum: 0 })),
      inFlight: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
  ),
  /** The gateway's counters since it started. */
  metrics: Type.Optional(
    Type.Object({
      polls: Type.Integer({ minimum: 0 }),
      errors: Type.Object({ timeout: Type.Integer({ minimum: 0 }), exception: Type.Integer({ minimum: 0 }), 'comm-lost': Type.Integer({ minimum: 0 }) }),
      batchesPublished: Type.Integer({ minimum: 0 }),
      batchesResent: Type.Integer({ minimum: 0 }),
      batchesAcknowledged: Type.Integer({ minimum: 0 }),
      samplesAcknowledged: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type GatewayStatus = Static<typeof GatewayStatusSchema>;
export const gatewayStatus = codec(GatewayStatusSchema);

/** Operator actions, api → ingest on `vigil/v1/<site>/commands/<kind>`. */
export const COMMAND_KINDS = [
  'alarm-ack',
  'alarm-shelve',
  'alarm-unshelve',
  'alarm-reset',
  'alarm-comment',
  'asset-maintenance',
  'asset-out-of-service',
  'ticket-move',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

const CommandBase = {
  id: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
  user: Type.String({ minLength: 1, maxLength: 64 }),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
};
export const AlarmAckCommandSchema = Type.Object({ ...CommandBase, alarmId: Type.String({ maxLength: 64 }) });
export type AlarmAckCommand = Static<typeof AlarmAckCommandSchema>;
export const alarmAckCommand = codec(AlarmAckCommandSchema);

/** ISA-18.2 §11.5: a shelve names its reason and expires (wall time, ms since the epoch). */
export const AlarmShelveCommandSchema = Type.Object({ ...CommandBase, alarmId: Type.String({ maxLength: 64 }), reason: Type.String({ minLength: 1, maxLength: 500 }), until: Timestamp });
export type AlarmShelveCommand = Static<typeof AlarmShelveCommandSchema>;
export const alarmShelveCommand = codec(AlarmShelveCommandSchema);
/** Unshelve and reset (of a latched alarm) carry only the alarm and an optional reason. */
export const alarmUnshelveCommand = codec(AlarmAckCommandSchema);
export const alarmResetCommand = codec(AlarmAckCommandSchema);

export const AlarmCommentCommandSchema = Type.Object({ ...CommandBase, alarmId: Type.String({ maxLength: 64 }), text: Type.String({ minLength: 1, maxLength: 2000 }) });
export type AlarmCommentCommand = Static<typeof AlarmCommentCommandSchema>;
export const alarmCommentCommand = codec(AlarmCommentCommandSchema);

/** Maintenance mode (suppression by design) or out of service, on or off, for one asset. */
export const AssetModeCommandSchema = Type.Object({ ...CommandBase, asset: Id, on: Type.Boolean() });
export type AssetModeCommand = Static<typeof AssetModeCommandSchema>;
export const assetModeCommand = codec(AssetModeCommandSchema);

/** What an asset-mode command answers: the asset's modes and the alarms the change moved. */
export const AssetModeSchema = Type.Object({
  asset: Type.String(),
  maintenance: Type.Boolean(),
  outOfService: Type.Boolean(),
  changedAt: Type.Integer(),
  changedBy: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});
export type AssetMode = Static<typeof AssetModeSchema>;
export const AssetModeResultSchema = Type.Object({ mode: AssetModeSchema, alarms: Type.Array(AlarmSchema) });
export type AssetModeResult = Static<typeof AssetModeResultSchema>;
export const assetModeResult = codec(AssetModeResultSchema);

export const TicketMoveCommandSchema = Type.Object({
  ...CommandBase,
  ticketId: Type.String({ maxLength: 64 }),
  to: Type.Union([Type.Literal('accepted'), Type.Literal('in-progress'), Type.Literal('resolved'), Type.Literal('closed'), Type.Literal('cancelled')]),
});
export type TicketMoveCommand = Static<typeof TicketMoveCommandSchema>;
export const ticketMoveCommand = codec(TicketMoveCommandSchema);

/** The answer on `vigil/v1/<site>/commands/result/<id>`. `code` maps to an HTTP status in the API. */
export const CommandErrorCodeSchema = Type.Union([Type.Literal('invalid'), Type.Literal('not-found'), Type.Literal('conflict'), Type.Literal('forbidden')]);
export type CommandErrorCode = Static<typeof CommandErrorCodeSchema>;
export const CommandResultSchema = Type.Union([
  Type.Object({ id: Type.String(), ok: Type.Literal(true), result: Type.Optional(Type.Unknown()) }),
  Type.Object({ id: Type.String(), ok: Type.Literal(false), error: Type.Object({ code: CommandErrorCodeSchema, message: Type.String() }) }),
]);
export type CommandResult = Static<typeof CommandResultSchema>;
export const commandResult = codec(CommandResultSchema);

/** `vigil/v1/<site>/alarms` and `…/tickets`: the full record after each change. */
export const alarmChange = codec(AlarmSchema);
export const ticketChange = codec(TicketSchema);

/** `vigil/v1/<site>/sim/catalog` (retained). */
export const SimFaultSchema = Type.Object({ name: Type.String(), description: Type.String(), active: Type.Boolean() });
export const SimDeviceSchema = Type.Object({
  device: Id,
  protocol: Type.Union([Type.Literal('modbus-tcp'), Type.Literal('bacnet-ip'), Type.Literal('mqtt')]),
  host: Type.String(),
  port: Type.Integer(),
  unit: Type.Optional(Type.Integer()),
  instance: Type.Optional(Type.Integer()),
  topic: Type.Optional(Type.String()),
  model: Type.String(),
  faults: Type.Array(SimFaultSchema),
});
export type SimDevice = Static<typeof SimDeviceSchema>;
export const SimCatalogSchema = Type.Object({ ts: Timestamp, devices: Type.Array(SimDeviceSchema) });
export type SimCatalog = Static<typeof SimCatalogSchema>;
export const simCatalog = codec(SimCatalogSchema);

/** `…/sim/<device>/inject` and `…/clear`; the answer comes on `…/sim/<device>/reply`. */
export const SimRequestSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  fault: Type.String({ minLength: 1, maxLength: 64 }),
  params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()]))),
});
export type SimRequest = Static<typeof SimRequestSchema>;
export const simRequest = codec(SimRequestSchema);

export const SimReplySchema = Type.Object({
  id: Type.String(),
  ok: Type.Boolean(),
  error: Type.Optional(Type.Object({ code: Type.Union([Type.Literal('not-found'), Type.Literal('invalid'), Type.Literal('conflict')]), message: Type.String() })),
  device: Type.Optional(SimDeviceSchema),
});
export type SimReply = Static<typeof SimReplySchema>;
export const simReply = codec(SimReplySchema);

/** `vigil/v1/<site>/health/<component>` (retained): a component's own word on how it is. */
export const ComponentHealthSchema = Type.Object({
  component: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')]),
  ts: Timestamp,
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ComponentHealth = Static<typeof ComponentHealthSchema>;
export const componentHealth = codec(ComponentHealthSchema);
