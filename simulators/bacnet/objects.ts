/**
 * BACnet objects as tables of properties read from a model's live state. The same tables serve
 * ReadProperty, ReadPropertyMultiple, WriteProperty and COV, and render the model's reference.
 */
import {
  ApplicationTag,
  EngineeringUnits,
  ErrorClass,
  ErrorCode,
  EventState,
  ObjectType,
  PropertyIdentifier as P,
  Reliability,
  StatusFlags,
  StatusFlagsBitString,
  type BACNetAppData,
  type BACNetBitString,
} from '@bacnet-js/client';

export type AppValue = BACNetAppData;

/** A BACnet error (clause 18) to answer with instead of a value. */
export class BacnetError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    readonly errorCode: ErrorCode,
  ) {
    super(`${ErrorClass[errorClass]}: ${ErrorCode[errorCode]}`);
  }
}

export interface PropertySpec {
  id: P;
  /** The whole value: one element, or the elements of a list or array. */
  read: () => AppValue[];
  /** A BACnetARRAY: readable element by element (index 0 is the length, clause 12.1.5.1). */
  array?: boolean;
  /** Why @bacnet-js/client cannot encode it; reading it answers an error (see README). */
  unencodable?: string;
  /** WriteProperty; throws BacnetError to refuse. `priority` 1–16 (16 when the request had none). */
  write?: (values: AppValue[], priority: number) => void;
}

export interface BacnetObject {
  type: ObjectType;
  instance: number;
  name: string;
  description: string;
  properties: PropertySpec[];
  /** Supports SubscribeCOV; analog objects notify when Present_Value moves by COV_Increment. */
  cov?: { increment?: () => number };
  /** One line for the reference: units, state codes, what drives it. */
  summary: string;
}

// --- application-tagged values ---
export const real = (value: number): AppValue => ({ type: ApplicationTag.REAL, value });
export const unsigned = (value: number): AppValue => ({ type: ApplicationTag.UNSIGNED_INTEGER, value });
export const enumerated = (value: number): AppValue => ({ type: ApplicationTag.ENUMERATED, value });
export const bool = (value: boolean): AppValue => ({ type: ApplicationTag.BOOLEAN, value });
export const text = (value: string): AppValue => ({ type: ApplicationTag.CHARACTER_STRING, value });
export const nul = (): AppValue => ({ type: ApplicationTag.NULL, value: null });
export const objectId = (type: ObjectType, instance: number): AppValue => ({ type: ApplicationTag.OBJECTIDENTIFIER, value: { type, instance } });
export const bits = (value: BACNetBitString): AppValue => ({ type: ApplicationTag.BIT_STRING, value });

/** The health of an object: Status_Flags (clause 12, "Status_Flags") follow from these. */
export interface ObjectHealth {
  eventState: EventState;
  reliability: Reliability;
  outOfService: boolean;
  overridden?: boolean;
}

export function statusFlags(h: ObjectHealth): AppValue {
  const set: StatusFlags[] = [];
  if (h.eventState !== EventState.NORMAL) set.push(StatusFlags.IN_ALARM);
  if (h.reliability !== Reliability.NO_FAULT_DETECTED) set.push(StatusFlags.FAULT);
  if (h.overridden) set.push(StatusFlags.OVERRIDDEN);
  if (h.outOfService) set.push(StatusFlags.OUT_OF_SERVICE);
  return bits(new StatusFlagsBitString(...set));
}

/** Object_Identifier, Object_Name, Object_Type, Description: every object has them. */
export function identity(type: ObjectType, instance: number, name: string, description: string): PropertySpec[] {
  return [
    { id: P.OBJECT_IDENTIFIER, read: () => [objectId(type, instance)] },
    { id: P.OBJECT_NAME, read: () => [text(name)] },
    { id: P.OBJECT_TYPE, read: () => [enumerated(type)] },
    { id: P.DESCRIPTION, read: () => [text(description)] },
  ];
}

/** Status_Flags, Event_State, Reliability, Out_Of_Service from one health source. */
export function health(get: () => ObjectHealth): PropertySpec[] {
  return [
    { id: P.STATUS_FLAGS, read: () => [statusFlags(get())] },
    { id: P.EVENT_STATE, read: () => [enumerated(get().eventState)] },
    { id: P.RELIABILITY, read: () => [enumerated(get().reliability)] },
    { id: P.OUT_OF_SERVICE, read: () => [bool(get().outOfService)] },
  ];
}

/** Property_List (clause 12.1.1.4.1 since revision 14): every property but these four. */
export function withPropertyList(properties: PropertySpec[]): PropertySpec[] {
  const skip = new Set([P.OBJECT_IDENTIFIER, P.OBJECT_NAME, P.OBJECT_TYPE, P.PROPERTY_LIST]);
  const listed = properties.filter((p) => !skip.has(p.id)).map((p) => enumerated(p.id));
  return [...properties, { id: P.PROPERTY_LIST, array: true, read: () => listed }];
}

/**
 * A commanded value with its 16-slot Priority_Array and Relinquish_Default (clause 19.2): the
 * Present_Value is the highest-priority (lowest number) non-NULL slot, else the default.
 */
export class PriorityArray<T extends number> {
  readonly slots: Array<T | null> = new Array(16).fill(null);
  constructor(
    public relinquishDefault: T,
    private readonly check: (value: AppValue) => T,
  ) {}

  get value(): T {
    return this.slots.find((v) => v !== null) ?? this.relinquishDefault;
  }

  /** The slot (1–16) in control, or null when the default is. */
  get activePriority(): number | null {
    const i = this.slots.findIndex((v) => v !== null);
    return i < 0 ? null : i + 1;
  }

  write(values: AppValue[], priority: number): void {
    const value = values[0];
    if (!value || values.length !== 1) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.INVALID_DATA_TYPE);
    if (!(priority >= 1 && priority <= 16)) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.VALUE_OUT_OF_RANGE);
    // Clause 19.2.2: priority 6 is reserved for the minimum on/off time algorithm.
    if (priority === 6) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.WRITE_ACCESS_DENIED);
    // Clause 19.2.1.1: writing NULL relinquishes the slot.
    this.slots[priority - 1] = value.type === ApplicationTag.NULL ? null : this.check(value);
  }

  properties(encode: (v: T) => AppValue): PropertySpec[] {
    return [
      { id: P.PRIORITY_ARRAY, array: true, read: () => this.slots.map((v) => (v === null ? nul() : encode(v))) },
      {
        id: P.RELINQUISH_DEFAULT,
        read: () => [encode(this.relinquishDefault)],
        write: (values) => {
          const value = values[0];
          if (!value || value.type === ApplicationTag.NULL) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.INVALID_DATA_TYPE);
          this.relinquishDefault = this.check(value);
        },
      },
    ];
  }
}

/** A REAL for an analog command, within [min, max]. */
export function realIn(min: number, max: number): (value: AppValue) => number {
  return (value) => {
    if (value.type !== ApplicationTag.REAL && value.type !== ApplicationTag.DOUBLE && value.type !== ApplicationTag.UNSIGNED_INTEGER) {
      throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.INVALID_DATA_TYPE);
    }
    const n = Number(value.value);
    if (!(n >= min && n <= max)) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.VALUE_OUT_OF_RANGE);
    return n;
  };
}

/** BACnetBinaryPV: 0 inactive, 1 active. */
export function binaryPv(value: AppValue): 0 | 1 {
  if (value.type !== ApplicationTag.ENUMERATED) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.INVALID_DATA_TYPE);
  if (value.value !== 0 && value.value !== 1) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.VALUE_OUT_OF_RANGE);
  return value.value;
}

/** Units for the reference. */
export function unitName(units: EngineeringUnits): string {
  return `${EngineeringUnits[units]?.toLowerCase().replaceAll('_', '-') ?? 'unknown'} (${units})`;
}

/** The object table of one device: lookup by id, in Object_List order. */
export class ObjectTable {
  private readonly byKey = new Map<string, BacnetObject>();
  constructor(readonly objects: BacnetObject[]) {
    for (const o of objects) {
      const key = objectKey(o.type, o.instance);
      if (this.byKey.has(key)) throw new Error(`duplicate BACnet object ${key}`);
      this.byKey.set(key, o);
    }
  }

  get(type: number, instance: number): BacnetObject | undefined {
    return this.byKey.get(objectKey(type, instance));
  }

  /**
   * One property, whole or one array element (index 0 = the array's length); throws BacnetError.
   * `index` undefined or 0xFFFFFFFF (BACNET_ARRAY_ALL) means the whole value.
   */
  read(type: number, instance: number, property: number, index?: number): AppValue[] {
    const object = this.get(type, instance);
    if (!object) throw new BacnetError(ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT);
    const spec = object.properties.find((p) => p.id === property);
    if (!spec) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.UNKNOWN_PROPERTY);
    if (spec.unencodable) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.OTHER);
    const whole = spec.read();
    if (index === undefined || index === ARRAY_ALL) return whole;
    if (!spec.array) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.PROPERTY_IS_NOT_AN_ARRAY);
    if (index === 0) return [unsigned(whole.length)];
    const element = whole[index - 1];
    if (!element) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.INVALID_ARRAY_INDEX);
    return [element];
  }

  write(type: number, instance: number, property: number, index: number | undefined, values: AppValue[], priority: number): void {
    const object = this.get(type, instance);
    if (!object) throw new BacnetError(ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT);
    const spec = object.properties.find((p) => p.id === property);
    if (!spec) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.UNKNOWN_PROPERTY);
    if (!spec.write) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.WRITE_ACCESS_DENIED);
    if (index !== undefined && index !== ARRAY_ALL) throw new BacnetError(ErrorClass.PROPERTY, ErrorCode.PROPERTY_IS_NOT_AN_ARRAY);
    spec.write(values, priority);
  }
}

/** BACNET_ARRAY_ALL: no array index in the request. */
export const ARRAY_ALL = 0xffffffff;

export function objectKey(type: number, instance: number): string {
  return `${type}:${instance}`;
}
