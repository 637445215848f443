/**
 * From decoded BACnet property values to Vigil samples: the value (scaled), and the quality that
 * Status_Flags and Reliability give it (clause 12, "Status_Flags"; clause 12.x "Reliability").
 */
import type { BacnetPoint, Sample } from '@vigil/model';

/** Clause 21: BACnetApplicationTag numbers the library decodes to. */
const TAG = { null: 0, boolean: 1, unsigned: 2, signed: 3, real: 4, double: 5, characterString: 7, bitString: 8, enumerated: 9 } as const;
/** The library's marker for an error in a ReadPropertyMultiple result (not a BACnet tag). */
const RPM_ERROR_TAG = 105;

/** Property identifiers used here (clause 21, BACnetPropertyIdentifier). */
export const PROP = { presentValue: 85, statusFlags: 111, reliability: 103, outOfService: 81, objectList: 76, objectName: 77, description: 28, units: 117 } as const;

/** Clause 12: BACnetStatusFlags bits. */
const FLAG = { inAlarm: 0, fault: 1, overridden: 2, outOfService: 3 } as const;

/** BACnetReliability (clause 21) names for the reason of a bad sample; others show by number. */
const RELIABILITY: Record<number, string> = {
  1: 'no-sensor',
  2: 'over-range',
  3: 'under-range',
  4: 'open-loop',
  5: 'shorted-loop',
  6: 'no-output',
  7: 'unreliable-other',
  8: 'process-error',
  9: 'multi-state-fault',
  10: 'configuration-error',
  12: 'communication-failure',
  13: 'member-fault',
};

export interface DecodedValue {
  type?: number;
  value?: unknown;
}

/** An error a device returned for one property (clause 18): class and code. */
export interface PropertyError {
  errorClass: number;
  errorCode: number;
}

export function propertyError(values: readonly DecodedValue[] | undefined): PropertyError | null {
  const first = values?.[0];
  if (first?.type !== RPM_ERROR_TAG) return null;
  const v = first.value as Partial<PropertyError> | undefined;
  return { errorClass: Number(v?.errorClass ?? -1), errorCode: Number(v?.errorCode ?? -1) };
}

/** What the object says about its own health. */
export interface ObjectHealth {
  statusFlags?: number[];
  reliability?: number;
}

/** One point's sample from its property's values and the object's health. */
export function sampleOf(point: BacnetPoint, values: readonly DecodedValue[] | undefined, health: ObjectHealth, ts: number): Sample {
  const error = propertyError(values);
  if (error) return { point: point.id, ts, value: null, quality: 'bad', reason: `exception ${error.errorClass}/${error.errorCode}` };
  const raw = primitive(values);
  if (raw === undefined) return { point: point.id, ts, value: null, quality: 'bad', reason: 'exception unexpected-value' };
  const value = typeof raw === 'number' ? raw * point.scale + point.offset : raw;
  if (typeof value === 'number' && !Number.isFinite(value)) return { point: point.id, ts, value: null, quality: 'bad', reason: 'out-of-range' };
  return { point: point.id, ts, value, ...qualityOf(health) };
}

/**
 * Status_Flags and Reliability → quality: FAULT or OUT_OF_SERVICE is bad (the value is not the
 * process's), OVERRIDDEN is uncertain (a local hand switch holds it), IN_ALARM is still good.
 */
export function qualityOf(health: ObjectHealth): { quality: Sample['quality']; reason?: string } {
  const flags = health.statusFlags;
  const reliability = health.reliability;
  const faultByReliability = reliability !== undefined && reliability !== 0;
  if ((flags && flags[FLAG.fault]) || faultByReliability) {
    return { quality: 'bad', reason: `fault ${reliability !== undefined && reliability !== 0 ? (RELIABILITY[reliability] ?? `reliability-${reliability}`) : 'status-flags'}` };
  }
  if (flags && flags[FLAG.outOfService]) return { quality: 'bad', reason: 'out-of-service' };
  if (flags && flags[FLAG.overridden]) return { quality: 'uncertain', reason: 'overridden' };
  return { quality: 'good' };
}

/** A BACnetStatusFlags bit string as four 0/1 bits (the library keeps bit n at value[n >> 3] >> (n & 7)). */
export function statusFlagsOf(values: readonly DecodedValue[] | undefined): number[] | undefined {
  const first = values?.[0];
  if (first?.type !== TAG.bitString) return undefined;
  const bits = first.value as { value?: unknown } | undefined;
  const bytes = Array.isArray(bits?.value) ? (bits.value as unknown[]) : null;
  if (!bytes) return undefined;
  return [0, 1, 2, 3].map((n) => (Number(bytes[n >> 3] ?? 0) >> (n & 7)) & 1);
}

export function enumeratedOf(values: readonly DecodedValue[] | undefined): number | undefined {
  const first = values?.[0];
  return first?.type === TAG.enumerated && typeof first.value === 'number' ? first.value : undefined;
}

/** A number, boolean or string from a primitive value; undefined for anything constructed or unknown. */
export function primitive(values: readonly DecodedValue[] | undefined): number | boolean | string | null | undefined {
  if (!values || values.length !== 1) return undefined;
  const { type, value } = values[0]!;
  switch (type) {
    case TAG.null:
      return null;
    case TAG.boolean:
      return typeof value === 'boolean' ? value : undefined;
    case TAG.unsigned:
    case TAG.signed:
    case TAG.real:
    case TAG.double:
    case TAG.enumerated:
      return typeof value === 'number' ? value : undefined;
    case TAG.characterString:
      return typeof value === 'string' ? value.slice(0, 1024) : undefined;
    default:
      return undefined;
  }
}

/** The application tag to write a value of a point with (clause 20.2): REAL for analog, ENUMERATED for binary/multi-state… */
export function writeTagFor(objectType: number, value: number | boolean | null): { type: number; value: unknown } {
  if (value === null) return { type: TAG.null, value: null };
  // Binary objects (3 BI, 4 BO, 5 BV) take BACnetBinaryPV (ENUMERATED); multi-state (13, 14, 19) Unsigned.
  if (objectType === 3 || objectType === 4 || objectType === 5) return { type: TAG.enumerated, value: value === true || value === 1 ? 1 : 0 };
  if (objectType === 13 || objectType === 14 || objectType === 19) return { type: TAG.unsigned, value: Number(value) };
  return { type: TAG.real, value: Number(value) };
}
