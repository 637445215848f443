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

/** Registers (or bits) one point occupies. */
export function pointWidth(point: Point): number {
  if (isBitTable(point.modbus.table)) return 1;
  const t = point.modbus.type;
  return t === 'int32' || t === 'uint32' || t === 'float32' ? 2 : 1;
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

/** Raw value of one point from the words (or bits) of its read; scale and offset applied to numbers. */
export function decodePoint(point: Point, data: readonly number[] | readonly boolean[], offset: number): DecodedValue {
  const { type, wordOrder, table } = point.modbus;
  if (isBitTable(table)) {
    const bit = data[offset];
    return typeof bit === 'boolean' ? { ok: true, value: bit } : { ok: false, reason: 'short-reply' };
  }
  const words = data as readonly number[];
  const first = words[offset];
  if (typeof first !== 'number') return { ok: false, reason: 'short-reply' };
  if (type === 'bool') return { ok: true, value: first !== 0 };

  let raw: number;
  if (type === 'uint16') raw = first & 0xffff;
  else if (type === 'int16') raw = ((first & 0xffff) << 16) >> 16;
  else {
    const second = words[offset + 1];
    if (typeof second !== 'number') return { ok: false, reason: 'short-reply' };
    // big = ABCD: the first register holds the high word; little = CDAB: the second does.
    const [hi, lo] = wordOrder === 'little' ? [second, first] : [first, second];
    const buf = Buffer.alloc(4);
    buf.writeUInt16BE(hi & 0xffff, 0);
    buf.writeUInt16BE(lo & 0xffff, 2);
    raw = type === 'float32' ? buf.readFloatBE(0) : type === 'int32' ? buf.readInt32BE(0) : buf.readUInt32BE(0);
  }
  const value = raw * point.scale + point.offset;
  // NaN and ±Inf (a float32 the device left unset) cannot travel as JSON numbers.
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
  const { type, wordOrder, table } = point.modbus;
  if (table === 'discrete' || table === 'input') return { ok: false, reason: `a ${table} ${table === 'input' ? 'register' : 'input'} is read-only` };
  if (isBitTable(table) || type === 'bool') {
    if (typeof value !== 'boolean' && value !== 0 && value !== 1) return { ok: false, reason: 'expects true or false' };
    const bit = value === true || value === 1;
    return table === 'coil' ? { ok: true, bit } : { ok: true, words: [bit ? 1 : 0] };
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, reason: 'expects a finite number' };
  const scaled = (value - point.offset) / point.scale;
  if (type === 'float32') {
    const buf = Buffer.alloc(4);
    buf.writeFloatBE(scaled, 0);
    const hi = buf.readUInt16BE(0);
    const lo = buf.readUInt16BE(2);
    return { ok: true, words: wordOrder === 'little' ? [lo, hi] : [hi, lo] };
  }
  const raw = Math.round(scaled);
  const [min, max] = RANGES[type];
  if (raw < min || raw > max) return { ok: false, reason: `${value} is outside what ${type} holds here (${min * point.scale + point.offset}…${max * point.scale + point.offset})` };
  if (type === 'int16' || type === 'uint16') return { ok: true, words: [raw & 0xffff] };
  const buf = Buffer.alloc(4);
  if (type === 'int32') buf.writeInt32BE(raw, 0);
  else buf.writeUInt32BE(raw, 0);
  const hi = buf.readUInt16BE(0);
  const lo = buf.readUInt16BE(2);
  return { ok: true, words: wordOrder === 'little' ? [lo, hi] : [hi, lo] };
}
