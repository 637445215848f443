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
    type: Type.Union(
      [Type.Literal('bool'), Type.Literal('int16'), Type.Literal('uint16'), Type.Literal('int32'), Type.Literal('uint32'), Type.Literal('float32')],
      { default: 'uint16' },
    ),
    /** Order of the 16-bit words of a 32-bit value: `big` is ABCD (the default), `little` is CDAB. */
    wordOrder: Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big' }),
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

export const MqttDeviceSchema = Type.Object(
  {
    ...deviceCommon,
    protocol: Type.Literal('mqtt'),
    /** The broker the vendor bridge publishes to; unset: the Vigil bus. */
    broker: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp)://' })),
    /** The bridge's base topic, e.g. `vendor/acme-access/demo`. */
    topic: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^#+]+$' }),
    points: Type.Array(MqttPointSchema, { default: [] }),
  },
  strict,
);
export type MqttDevice = Static<typeof MqttDeviceSchema>;

export const DeviceSchema = Type.Union([ModbusDeviceSchema, BacnetDeviceSchema, MqttDeviceSchema]);
export type Device = Static<typeof DeviceSchema>;

export const ThresholdDetectorSchema = Type.Object(
  {
    id: Id,
    type: Type.Literal('threshold'),
    point: PointId,
    /** Alarm below this value. */
    lo: Type.Optional(Type.Number()),
    /** Alarm above this value. */
    hi: Type.Optional(Type.Number()),
    /** Alarm deadband (hysteresis): the value must come back past the limit by this much to clear. */
    deadband: Type.Number({ minimum: 0, default: 0 }),
    /** The limit must be violated this long, in sample time, before the alarm is raised. */
    onDelayMs: Type.Integer({ minimum: 0, default: 0 }),
    /** The value must be back this long before the alarm clears. */
    offDelayMs: Type.Integer({ minimum: 0, default: 0 }),
    priority: Priority,
    department: DepartmentSchema,
    /** Ticket category, e.g. `pump-low-pressure`: with the asset, the condition that gets one open ticket. */
    category: Id,
    message: Text,
    /** What the operator must do (the response procedure). */
    procedure: Type.Optional(Type.String({ maxLength: 2000 })),
    latching: Type.Boolean({ default: false }),
  },
  strict,
);
export type ThresholdDetector = Static<typeof ThresholdDetectorSchema>;
export const DetectorSchema = ThresholdDetectorSchema;
export type DetectorConfig = Static<typeof DetectorSchema>;

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
