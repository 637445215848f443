/**
 * The poll plan of a Modbus device: which reads to make so that every point is covered with as few
 * requests as the protocol allows, and how to turn what comes back into engineering values.
 * Pure: no I/O.
 */
import type { Point, Sample } from '@vigil/model';

export type ModbusTable = Point['modbus']['table'];

/** Modbus Application Protocol v1.1b: at most 125 registers (FC 3/4) or 2000 bits (FC 1/2) per read. */
export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;

export interface PlannedPoint {
  point: Point;
  /** Position of the point's first register or bit within its read. */
  offset: number;
}

/** One request: a contiguous range of one table. */
export interface ModbusRead {
  table: ModbusTable;
  start: number;
  count: number;
  points: PlannedPoint[];
}

export interface PollPlan {
  reads: ModbusRead[];
}

export interface PlanOptions {
  /** Unused registers a read may span to join two points (reading a few more is cheaper than a request). */
  maxGapRegisters?: number;
  maxGapBits?: number;
}

const isBitTable = (table: ModbusTable) => table === 'coil' || table === 'discrete';

const REGISTERS_OF_TYPE: Record<Point['modbus']['type'], number> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, int64: 4, uint64: 4, float64: 4 };

/** Registers (or bits) one point occupies. */
export function pointWidth(point: Point): number {
  return isBitTable(point.modbus.table) ? 1 : REGISTERS_OF_TYPE[point.modbus.type];
}

/** Groups points by table and merges nearby addresses into reads within the protocol's limits. */
export function planPolls(points: readonly Point[], opts: PlanOptions = {}): PollPlan {
  const reads: ModbusRead[] = [];
  const tables: ModbusTable[] = ['coil', 'discrete', 'holding', 'input'];
  for (const table of tables) {
    const bits = isBitTable(table);
    const limit = bits ? MAX_BITS_PER_READ : MAX_REGISTERS_PER_READ;
    const maxGap = bits ? (opts.maxGapBits ?? 32) : (opts.maxGapRegisters ?? 8);
    const sorted = points.filter((p) => p.modbus.table === table).sort((a, b) => a.modbus.address - b.modbus.address);
    let current: ModbusRead | null = null;
    for (const point of sorted) {
      const address = point.modbus.address;
      const end = address + pointWidth(point); // exclusive
      const currentEnd = current ? current.start + current.count : 0;
      if (current && address - currentEnd <= maxGap && Math.max(end, currentEnd) - current.start <= limit) {
        current.count = Math.max(end, currentEnd) - current.start;
        current.points.push({ point, offset: address - current.start });
      } else {
        current = { table, start: address, count: end - address, points: [{ point, offset: 0 }] };
        reads.push(current);
      }
    }
  }
  return { reads };
}

/** One read per point: what a merged read becomes when the device refuses an address in its gap. */
export function splitRead(read: ModbusRead): ModbusRead[] {
  return read.points.map(({ point }) => ({ table: read.table, start: point.modbus.address, count: pointWidth(point), points: [{ point, offset: 0 }] }));
}

export type DecodedValue = { ok: true; value: number | boolean } | { ok: false; reason: string };

/** Scratch for assembling multi-register values: one per process, used synchronously. */
const scratch = new DataView(new ArrayBuffer(8));

/** The point's registers, from `words` at `offset`, into `scratch` as big-endian bytes (ABCD…). */
function gatherWords(point: Point, words: readonly number[], offset: number, count: number): boolean {
  const { wordOrder, byteOrder } = point.modbus;
  for (let i = 0; i < count; i++) {
    const word = words[offset + (wordOrder === 'little' ? count - 1 - i : i)];
    if (typeof word !== 'number') return false;
    scratch.setUint16(i * 2, byteOrder === 'little' ? ((word & 0xff) << 8) | ((word >> 8) & 0xff) : word & 0xffff);
  }
  return true;
}

/** The inverse: `count` registers from the big-endian bytes in `scratch`, in the point's word and byte order. */
function spreadWords(point: Point, count: number): number[] {
  const { wordOrder, byteOrder } = point.modbus;
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const word = scratch.getUint16(i * 2);
    out[wordOrder === 'little' ? count - 1 - i : i] = byteOrder === 'little' ? ((word & 0xff) << 8) | (word >> 8) : word;
  }
  return out;
}

/** Raw value of one point from the words (or bits) of its read; scale and offset applied to numbers. */
export function decodePoint(point: Point, data: readonly number[] | readonly boolean[], offset: number): DecodedValue {
  const { type, table, bit } = point.modbus;
  if (isBitTable(table)) {
    const value = data[offset];
    return typeof value === 'boolean' ? { ok: true, value } : { ok: false, reason: 'short-reply' };
  }
  const words = data as readonly number[];
  const count = REGISTERS_OF_TYPE[type];
  if (!gatherWords(point, words, offset, count)) return { ok: false, reason: 'short-reply' };
  if (type === 'bool') {
    const word = scratch.getUint16(0);
    return { ok: true, value: bit === undefined ? word !== 0 : ((word >> bit) & 1) === 1 };
  }
  let raw: number;
  switch (type) {
    case 'uint16':
      raw = scratch.getUint16(0);
      break;
    case 'int16':
      raw = scratch.getInt16(0);
      break;
    case 'int32':
      raw = scratch.getInt32(0);
      break;
    case 'uint32':
      raw = scratch.getUint32(0);
      break;
    case 'float32':
      raw = scratch.getFloat32(0);
      break;
    case 'int64':
      raw = Number(scratch.getBigInt64(0));
      break;
    case 'uint64':
      raw = Number(scratch.getBigUint64(0));
      break;
    case 'float64':
      raw = scratch.getFloat64(0);
      break;
  }
  const value = raw * point.scale + point.offset;
  // NaN and ±Inf (a float the device left unset) cannot travel as JSON numbers.
  if (!Number.isFinite(value)) return { ok: false, reason: 'out-of-range' };
  return { ok: true, value };
}

/** The samples of one successful read. */
export function decodeRead(read: ModbusRead, data: readonly number[] | readonly boolean[], ts: number): Sample[] {
  return read.points.map(({ point, offset }) => {
    const decoded = decodePoint(point, data, offset);
    return decoded.ok
      ? { point: point.id, ts, value: decoded.value, quality: 'good' as const }
      : { point: point.id, ts, value: null, quality: 'bad' as const, reason: decoded.reason };
  });
}

/** The samples of a failed read: every point of it bad, with the reason. */
export function badRead(read: ModbusRead, ts: number, reason: string): Sample[] {
  return read.points.map(({ point }) => ({ point: point.id, ts, value: null, quality: 'bad' as const, reason }));
}

export type EncodedValue = { ok: true; bit: boolean } | { ok: true; words: number[] } | { ok: false; reason: string };

const RANGES = { int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647], uint32: [0, 4294967295] } as const;

/**
 * The inverse of decodePoint, for writes: the raw bit or registers of an engineering value
 * (raw = (value − offset) / scale, rounded for integer types, refused outside the type's range).
 */
export function encodePoint(point: Point, value: number | boolean): EncodedValue {
  const { type, table, bit } = point.modbus;
  if (table === 'discrete' || table === 'input') return { ok: false, reason: `a ${table} ${table === 'input' ? 'register' : 'input'} is read-only` };
  if (isBitTable(table) || type === 'bool') {
    if (typeof value !== 'boolean' && value !== 0 && value !== 1) return { ok: false, reason: 'expects true or false' };
    // Writing one bit would rewrite its neighbours with what we last read: a race with the device.
    if (bit !== undefined) return { ok: false, reason: `bit ${bit} of a register is read-only here (writing it would rewrite the other 15 bits)` };
    const on = value === true || value === 1;
    return table === 'coil' ? { ok: true, bit: on } : { ok: true, words: [on ? 1 : 0] };
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, reason: 'expects a finite number' };
  const scaled = (value - point.offset) / point.scale;
  const count = REGISTERS_OF_TYPE[type];
  if (type === 'float32') scratch.setFloat32(0, scaled);
  else if (type === 'float64') scratch.setFloat64(0, scaled);
  else if (type === 'int64' || type === 'uint64') {
    const raw = Math.round(scaled);
    const [min, max] = type === 'int64' ? [-(2 ** 63), 2 ** 63 - 1] : [0, 2 ** 64 - 1];
    if (raw < min || raw > max) return { ok: false, reason: `${value} is outside what ${type} holds` };
    if (type === 'int64') scratch.setBigInt64(0, BigInt(raw));
    else scratch.setBigUint64(0, BigInt(raw));
  } else {
    const raw = Math.round(scaled);
    const [min, max] = RANGES[type];
    if (raw < min || raw > max) return { ok: false, reason: `${value} is outside what ${type} holds here (${min * point.scale + point.offset}…${max * point.scale + point.offset})` };
    if (type === 'int16') scratch.setInt16(0, raw);
    else if (type === 'uint16') scratch.setUint16(0, raw);
    else if (type === 'int32') scratch.setInt32(0, raw);
    else scratch.setUint32(0, raw);
  }
  return { ok: true, words: spreadWords(point, count) };
}
