/**
 * The site file's schema: the single source for validation, for the TypeScript types and (later)
 * for the generated reference. Defaults live here, in the schema, with their units.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, POINT_ID_PATTERN } from './ids.ts';
import { DepartmentSchema } from './alarm.ts';

const Id = Type.String({ pattern: ID_PATTERN, maxLength: 64 });
const PointId = Type.String({ pattern: POINT_ID_PATTERN, maxLength: 129 });
const Text = Type.String({ minLength: 1, maxLength: 200 });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Priority = Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)]);
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, site time' });
const strict = { additionalProperties: false } as const;

export const FloorSchema = Type.Object(
  {
    id: Id,
    name: Text,
    /** 0 is the ground floor, negative levels are basements. */
    level: Type.Integer({ minimum: -20, maximum: 300 }),
    plan: Type.Optional(Type.String({ description: 'floor plan image, relative to the site file' })),
  },
  strict,
);

export const BuildingSchema = Type.Object({ id: Id, name: Text, floors: Type.Array(FloorSchema, { minItems: 1 }) }, strict);

export const AssetSchema = Type.Object(
  {
    id: Id,
    name: Text,
    /** Asset class, e.g. `pump`, `elevator`: detector templates and technician skills refer to it. */
    class: Id,
    building: Id,
    floor: Id,
    department: DepartmentSchema,
    criticality: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')], { default: 'medium' }),
  },
  strict,
);

/** A Modbus register or bit, by its 0-based protocol address (not 40001-style). */
export const ModbusRegisterSchema = Type.Object(
  {
    table: Type.Union([Type.Literal('holding'), Type.Literal('input'), Type.Literal('coil'), Type.Literal('discrete')]),
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** int64/uint64 travel as JSON numbers: beyond ±2^53 they lose their last digits. */
    type: Type.Union(
      [
        Type.Literal('bool'),
        Type.Literal('int16'),
        Type.Literal('uint16'),
        Type.Literal('int32'),
        Type.Literal('uint32'),
        Type.Literal('float32'),
        Type.Literal('int64'),
        Type.Literal('uint64'),
        Type.Literal('float64'),
      ],
      { default: 'uint16' },
    ),
    /** Order of the 16-bit words of a 32- or 64-bit value: `big` is ABCD (the default), `little` is CDAB. */
    wordOrder: Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big' }),
    /** Order of the two bytes in each register: `big` (the Modbus standard), or `little` for devices that swap them (BADC, DCBA). */
    byteOrder: Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big' }),
    /** A `bool` kept in one bit of a register (0 = least significant); without it a non-zero register is true. */
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
  },
  strict,
);
export type ModbusRegister = Static<typeof ModbusRegisterSchema>;


/** What every device has, whatever its protocol. */
const deviceCommon = {
  id: Id,
  name: Type.Optional(Text),
  pollIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 1000 }),
  timeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  /** Heartbeat: every point is republished at least this often, changed or not. */
  heartbeatMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** The simulator model that serves this device in the demo (`vigil sim`); absent for real equipment. */
  simulator: Type.Optional(
    Type.Object(
      {
        model: Id,
        /** Model parameters, e.g. `{ floors: 22 }` for a lift controller. */
        params: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()]), { default: {} }),
      },
      strict,
    ),
  ),
};

/** How every point is scaled, reported and described, whatever its protocol. */
const pointCommon = {
  id: PointId,
  name: Type.Optional(Text),
  /** engineering value = raw × scale + offset */
  scale: Type.Number({ default: 1 }),
  offset: Type.Number({ default: 0 }),
  unit: Type.Optional(Type.String({ maxLength: 20 })),
  /** Report by exception: a change smaller than this is not sent (the heartbeat still is). */
  deadband: Type.Number({ minimum: 0, default: 0 }),
  /** Project Haystack tags where one exists: `discharge`, `pressure`, `sensor`, `run` … */
  tags: Type.Array(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]*$' }), { default: [] }),
  /** Names for the values of an enumerated point, e.g. `{ 0: closed, 1: opened }`. */
  states: Type.Optional(Type.Record(Type.String({ pattern: '^-?[0-9]+$' }), Type.String({ maxLength: 64 }))),
};

/** A Modbus point (the name `Point` stays for the skeleton's code). */
export const PointSchema = Type.Object({ ...pointCommon, modbus: ModbusRegisterSchema }, strict);
export type Point = Static<typeof PointSchema>;
export type ModbusPoint = Point;

export const ModbusDeviceSchema = Type.Object(
  {
    ...deviceCommon,
    protocol: Type.Literal('modbus-tcp'),
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
    /** Modbus unit id (slave id). */
    unit: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    /**
     * Requests in flight on the connection at once, matched by MBAP transaction id. Many devices
     * answer one request at a time and drop or confuse the rest: raise it only for devices (or
     * gateways) known to queue requests.
     */
    maxRequestsInFlight: Type.Integer({ minimum: 1, maximum: 255, default: 1 }),
    /** A read that times out is tried again this many times (after 100 ms, then 200 ms …) before its points go bad. */
    retries: Type.Integer({ minimum: 0, maximum: 5, default: 1 }),
    /** Unused registers one read may span to join two points: reading a few more is cheaper than another request. */
    maxGapRegisters: Type.Integer({ minimum: 0, maximum: 124, default: 8 }),
    /** The same for coils and discrete inputs, in bits. */
    maxGapBits: Type.Integer({ minimum: 0, maximum: 1999, default: 32 }),
    points: Type.Array(PointSchema, { default: [] }),
  },
  strict,
);
export type ModbusDevice = Static<typeof ModbusDeviceSchema>;

/** A BACnet object property; `type` and `instance` name the object (ASHRAE 135 clause 12). */
export const BacnetPointSchema = Type.Object(
  {
    ...pointCommon,
    bacnet: Type.Object(
      {
        /** Object type by its standard number (0 analog-input … 21 life-safety-point, 22 life-safety-zone). */
        type: Type.Integer({ minimum: 0, maximum: 1023 }),
        instance: Type.Integer({ minimum: 0, maximum: 4_194_302 }),
        /** Property identifier, 85 = present-value. */
        property: Type.Integer({ minimum: 0, default: 85 }),
        /** Subscribe to changes of value (SubscribeCOV) instead of only polling. */
        cov: Type.Boolean({ default: false }),
      },
      strict,
    ),
  },
  strict,
);
export type BacnetPoint = Static<typeof BacnetPointSchema>;

export const BacnetDeviceSchema = Type.Object(
  {
    ...deviceCommon,
    protocol: Type.Literal('bacnet-ip'),
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    /** UDP port; each device on its own port on loopback (LIBRARIES.md). */
    port: Port,
    /** BACnet device instance. */
    instance: Type.Integer({ minimum: 0, maximum: 4_194_302 }),
    points: Type.Array(BacnetPointSchema, { default: [] }),
  },
  strict,
);
export type BacnetDevice = Static<typeof BacnetDeviceSchema>;

/** A value in a vendor bridge's JSON payload, found by topic and JSON pointer (RFC 6901). */
export const MqttPointSchema = Type.Object(
  {
    ...pointCommon,
    mqtt: Type.Object(
      {
        /** Topic below the device's `topic`, may contain `+`. */
        topic: Type.String({ minLength: 1, maxLength: 256 }),
        pointer: Type.String({ pattern: '^(/.*)?$', default: '' }),
        type: Type.Union([Type.Literal('number'), Type.Literal('boolean'), Type.Literal('string')], { default: 'number' }),
      },
      strict,
    ),
  },
  strict,
);
export type MqttPoint = Static<typeof MqttPointSchema>;

const JsonPointer = Type.String({ pattern: '^(/.*)?$', maxLength: 256 });
const EventType = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]*$', maxLength: 64 });

/**
 * Vendor event messages that become Vigil device events (`events/<device>`). The vendor's event key
 * is the values at `key` (those present, joined with `:`, e.g. `videoloss:active`); `types` maps a
 * key to the Vigil event type, and a key it does not list is ignored (counted, not an error).
 */
export const MqttEventSchema = Type.Object(
  {
    /** Topic below the device's `topic`, may contain `+` (e.g. `door/+/event`). */
    topic: Type.String({ minLength: 1, maxLength: 256 }),
    /** The event's asset: `+` (the topic level the `+` matched) or a JSON pointer into the payload; unset: none. */
    asset: Type.Optional(Type.String({ pattern: '^(\\+|/.*)$', maxLength: 256 })),
    /** JSON pointers (RFC 6901) to the fields that name the vendor's event. */
    key: Type.Array(JsonPointer, { minItems: 1, maxItems: 4, default: ['/type'] }),
    /** Vendor event key → Vigil event type (e.g. `door-forced-open: door-forced`). */
    types: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), EventType),
    /** JSON pointer to the event's time, ms since the epoch; unset or not an integer: time of receipt. */
    ts: Type.Optional(JsonPointer),
    /** Event data: name → JSON pointer; numbers, booleans, strings and null are copied. */
    data: Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]*$', maxLength: 64 }), JsonPointer, { default: {} }),
  },
  strict,
);
export type MqttEvent = Static<typeof MqttEventSchema>;

export const MqttDeviceSchema = Type.Object(
  {
    ...deviceCommon,
    protocol: Type.Literal('mqtt'),
    /** The broker the vendor bridge publishes to; unset: the Vigil bus. */
    broker: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp)://' })),
    /** The bridge's base topic, e.g. `vendor/acme-access/demo`. */
    topic: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^#+]+$' }),
    points: Type.Array(MqttPointSchema, { default: [] }),
    /** Vendor event messages mapped to Vigil device events. */
    events: Type.Array(MqttEventSchema, { default: [] }),
  },
  strict,
);
export type MqttDevice = Static<typeof MqttDeviceSchema>;

export const DeviceSchema = Type.Union([ModbusDeviceSchema, BacnetDeviceSchema, MqttDeviceSchema]);
export type Device = Static<typeof DeviceSchema>;

/**
 * Detectors (issue 5, "Detectors"). Each is per point (`point: pump-b1-1.vibration`) or an asset-class
 * template (`class: pump`, `point: vibration`): a template applies to every asset of that class that
 * has that point, each with its own alarm. Detectors that look at several points of one asset name
 * `asset:` or `class:`. Every detector carries what the alarm and its ticket need. Times are sample
 * time (DESIGN.md, "Identifiers and time") except comm-loss silence, which is wall time.
 */
const alarmCommon = {
  id: Id,
  priority: Priority,
  department: DepartmentSchema,
  /** Ticket category, e.g. `pump-low-pressure`: with the asset, the condition that gets one open ticket. */
  category: Id,
  message: Text,
  /** What the operator must do (the response procedure). */
  procedure: Type.Optional(Type.String({ maxLength: 2000 })),
  /** Stays annunciated after the condition clears until an operator resets it (fire alarms, GB 4717). */
  latching: Type.Boolean({ default: false }),
};
/** `<asset>.<point>`, or with `class` a bare point name. */
const TargetPoint = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)?$', maxLength: 129 });
const pointTarget = {
  point: TargetPoint,
  /** Template: apply to every asset of this class that has `point`. */
  class: Type.Optional(Id),
};
const assetTarget = {
  /** One asset … */
  asset: Type.Optional(Id),
  /** … or every asset of a class. */
  class: Type.Optional(Id),
};
const Duration = (dflt: number) => Type.Integer({ minimum: 0, maximum: 31 * 86_400_000, default: dflt });
const PriorityOverrides = Type.Object({ lolo: Type.Optional(Priority), lo: Type.Optional(Priority), hi: Type.Optional(Priority), hihi: Type.Optional(Priority) }, strict);

/** Limit alarms (ISA-18.2 §10.4): each of lolo, lo, hi, hihi is its own alarm, with alarm deadband and on/off delays. */
export const ThresholdDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('threshold'),
    ...pointTarget,
    lolo: Type.Optional(Type.Number()),
    /** Alarm below this value. */
    lo: Type.Optional(Type.Number()),
    /** Alarm above this value. */
    hi: Type.Optional(Type.Number()),
    hihi: Type.Optional(Type.Number()),
    /** A limit's own priority; unset: `priority`. */
    priorities: Type.Optional(PriorityOverrides),
    /** Alarm deadband (hysteresis): the value must come back past the limit by this much to clear. */
    deadband: Type.Number({ minimum: 0, default: 0 }),
    /** The limit must be violated this long, in sample time, before the alarm is raised. */
    onDelayMs: Duration(0),
    /** The value must be back this long before the alarm clears. */
    offDelayMs: Duration(0),
  },
  strict,
);
export type ThresholdDetector = Static<typeof ThresholdDetectorSchema>;

/** The value rose (or fell) by more than `rise` (`fall`) within `windowMs` of sample time. */
export const RateOfChangeDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('rate-of-change'),
    ...pointTarget,
    rise: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    fall: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    windowMs: Type.Integer({ minimum: 1000, maximum: 31 * 86_400_000 }),
  },
  strict,
);
export type RateOfChangeDetector = Static<typeof RateOfChangeDetectorSchema>;

/** A stuck sensor: no change beyond `tolerance` for `windowMs` while the asset's `running` point is true. */
export const FlatlineDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('flatline'),
    ...pointTarget,
    tolerance: Type.Number({ minimum: 0, default: 0 }),
    windowMs: Type.Integer({ minimum: 1000, maximum: 31 * 86_400_000 }),
    /** A boolean point of the same asset (its name, e.g. `running`); unset: always. */
    running: Type.Optional(Id),
  },
  strict,
);
export type FlatlineDetector = Static<typeof FlatlineDetectorSchema>;

/**
 * Statistical deviation: an online EWMA baseline (mean and variance) with a z-score limit and a
 * warm-up; optionally one baseline per hour of the week (site time zone). The baseline freezes while
 * the alarm stands, so a slow drift is caught instead of learned.
 */
export const DeviationDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('deviation'),
    ...pointTarget,
    /** Alarm when |value − mean| / σ exceeds this. */
    zLimit: Type.Number({ exclusiveMinimum: 0, default: 4 }),
    /** EWMA weight of each new sample (0.01 ≈ the last 100 samples). */
    alpha: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.01 }),
    /** Samples (per baseline) before the detector may alarm. */
    warmup: Type.Integer({ minimum: 1, default: 200 }),
    perHourOfWeek: Type.Boolean({ default: false }),
    direction: Type.Union([Type.Literal('high'), Type.Literal('low'), Type.Literal('both')], { default: 'high' }),
    /** Floor for σ in engineering units, so a very quiet signal does not alarm on noise. */
    minSigma: Type.Number({ minimum: 0, default: 0 }),
    onDelayMs: Duration(0),
    /** Learn and judge only while this boolean point of the asset is true (e.g. `running`). */
    running: Type.Optional(Id),
  },
  strict,
);
export type DeviationDetector = Static<typeof DeviationDetectorSchema>;

/**
 * Communication loss of a device: from the gateway's status (`status/<gateway>`, device state
 * `offline`) and from silence: nothing heard for `silencePolls` × its poll interval (at least its
 * heartbeat plus two polls, since points are reported by exception). While it stands, the alarms of
 * the device's points are suppressed by design and this one alarm stands for them.
 */
export const CommLossDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('comm-loss'),
    /** One device; unset: every device of the site. */
    device: Type.Optional(Id),
    silencePolls: Type.Integer({ minimum: 2, default: 5 }),
  },
  strict,
);
export type CommLossDetector = Static<typeof CommLossDetectorSchema>;

export const StateAlarmSchema = Type.Object(
  {
    /** The alarm's name within the detector, e.g. `fire`, `pre-alarm`, `fault`. */
    name: Id,
    /** The point values that mean this condition, e.g. LifeSafetyState 2 (alarm) and 5 (fault-alarm). */
    values: Type.Array(Type.Union([Type.Number(), Type.String(), Type.Boolean()]), { minItems: 1 }),
    priority: Type.Optional(Priority),
    message: Type.Optional(Text),
    category: Type.Optional(Id),
    latching: Type.Optional(Type.Boolean()),
  },
  strict,
);
/** Discrete states of one point (fire alarm / pre-alarm / fault, door held open …), each named state its own alarm. */
export const StateDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('state'),
    ...pointTarget,
    alarms: Type.Array(StateAlarmSchema, { minItems: 1 }),
    /** The state must hold this long (e.g. a door open 30 s is held open). */
    onDelayMs: Duration(0),
  },
  strict,
);
export type StateDetector = Static<typeof StateDetectorSchema>;

/**
 * Device events (`events/<device>`): one event (door forced, patrol checkpoint missed), or a burst of
 * `count` within `windowMs` at one asset (denied cards). Momentary unless `clearEvent` ends it
 * (camera video loss … video restored).
 */
export const EventDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('event'),
    ...assetTarget,
    event: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]*$', maxLength: 64 }),
    count: Type.Integer({ minimum: 1, default: 1 }),
    windowMs: Duration(0),
    clearEvent: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]*$', maxLength: 64 })),
  },
  strict,
);
export type EventDetector = Static<typeof EventDetectorSchema>;

export const ConditionSchema = Type.Object(
  {
    /** A point of the asset, by name. */
    point: Id,
    op: Type.Union([Type.Literal('=='), Type.Literal('!='), Type.Literal('<'), Type.Literal('<='), Type.Literal('>'), Type.Literal('>=')]),
    value: Type.Union([Type.Number(), Type.String(), Type.Boolean()]),
  },
  strict,
);
export type Condition = Static<typeof ConditionSchema>;
/** Conditions over points of one asset that must all hold for `forMs` (e.g. lift entrapment). */
export const CombinedDetectorSchema = Type.Object(
  {
    ...alarmCommon,
    type: Type.Literal('combined'),
    ...assetTarget,
    all: Type.Array(ConditionSchema, { minItems: 1, maxItems: 16 }),
    forMs: Duration(0),
  },
  strict,
);
export type CombinedDetector = Static<typeof CombinedDetectorSchema>;

export const DetectorSchema = Type.Union([
  ThresholdDetectorSchema,
  RateOfChangeDetectorSchema,
  FlatlineDetectorSchema,
  DeviationDetectorSchema,
  CommLossDetectorSchema,
  StateDetectorSchema,
  EventDetectorSchema,
  CombinedDetectorSchema,
]);
export type DetectorConfig = Static<typeof DetectorSchema>;
export type DetectorType = DetectorConfig['type'];

/** Alarm-system settings (DESIGN.md, "Alarm model"; DOMAIN.md, "Alarm management"). */
export const AlarmingSchema = Type.Object(
  {
    /** Re-annunciate an alarm still unacknowledged after this long (unverified default: 15 min). */
    reAlarmMin: Type.Integer({ minimum: 1, default: 15 }),
    /** Flood: this many new alarms within floodWindowMin for one operator area (ISA-18.2, EEMUA 191: 10 in 10 min). */
    floodCount: Type.Integer({ minimum: 2, default: 10 }),
    floodWindowMin: Type.Integer({ minimum: 1, default: 10 }),
    /** Chattering: this many activations of one alarm within chatterWindowS (3 in 60 s). */
    chatterCount: Type.Integer({ minimum: 2, default: 3 }),
    chatterWindowS: Type.Integer({ minimum: 1, default: 60 }),
    /** The longest an operator may shelve an alarm (one 12 h shift; ISA-18.2 asks for a time limit). */
    maxShelveHours: Type.Number({ exclusiveMinimum: 0, default: 12 }),
  },
  { ...strict, default: { reAlarmMin: 15, floodCount: 10, floodWindowMin: 10, chatterCount: 3, chatterWindowS: 60, maxShelveHours: 12 } },
);
export type Alarming = Static<typeof AlarmingSchema>;

export const ShiftSchema = Type.Object({ id: Id, start: ClockTime, end: ClockTime }, strict);
export type Shift = Static<typeof ShiftSchema>;

export const PersonSchema = Type.Object(
  {
    username: Type.String({ pattern: '^[a-z][a-z0-9_.-]*$', maxLength: 64 }),
    name: Text,
    department: DepartmentSchema,
    /** Asset classes or ticket categories this person can handle. */
    skills: Type.Array(Id, { default: [] }),
    shifts: Type.Array(Id, { default: [] }),
  },
  strict,
);
export type Person = Static<typeof PersonSchema>;

const SlaEntry = Type.Object(
  {
    respondMin: Type.Integer({ minimum: 1 }),
    resolveMin: Type.Integer({ minimum: 1 }),
  },
  strict,
);
/** Default service levels by priority (DOMAIN.md, "Service levels"). */
export const SlaSchema = Type.Object(
  {
    p1: SlaEntry,
    p2: SlaEntry,
    p3: SlaEntry,
    p4: SlaEntry,
  },
  { ...strict, default: { p1: { respondMin: 5, resolveMin: 240 }, p2: { respondMin: 30, resolveMin: 240 }, p3: { respondMin: 240, resolveMin: 4320 }, p4: { respondMin: 1440, resolveMin: 20160 } } },
);
export type Sla = Static<typeof SlaSchema>;

export const SiteFileSchema = Type.Object(
  {
    site: Type.Object(
      {
        id: Id,
        name: Text,
        /** IANA time zone, for daily patterns, shifts and reports. */
        timezone: Type.String({ minLength: 1 }),
      },
      strict,
    ),
    buildings: Type.Array(BuildingSchema, { minItems: 1 }),
    assets: Type.Array(AssetSchema, { default: [] }),
    devices: Type.Array(DeviceSchema, { default: [] }),
    detectors: Type.Array(DetectorSchema, { default: [] }),
    alarming: AlarmingSchema,
    sla: SlaSchema,
    roster: Type.Object(
      {
        shifts: Type.Array(ShiftSchema, { default: [] }),
        people: Type.Array(PersonSchema, { default: [] }),
      },
      { ...strict, default: { shifts: [], people: [] } },
    ),
  },
  strict,
);
export type Site = Static<typeof SiteFileSchema>;
export type Asset = Static<typeof AssetSchema>;
export type Building = Static<typeof BuildingSchema>;
export type Floor = Static<typeof FloorSchema>;
