/**
 * A Modbus device's register map as one table: the simulator serves from it, its reference in
 * README.md is rendered from it, and the demo site's points are checked against it, so the three
 * cannot drift apart.
 */
import type { ModbusPoint } from '@vigil/model';
import { MemoryRegisterBank, ModbusException, ModbusExceptionCode, type MemoryRegisterBankSizes, type Table } from '../register-bank.ts';

export type RegisterType = 'bool' | 'int16' | 'uint16' | 'uint32' | 'float32';

export interface RegisterEntry {
  /** The point's name in the site file (`<asset>.<point>`), snake_case. */
  point: string;
  table: Table;
  /** 0-based protocol address (DESIGN.md, "Site model"). */
  address: number;
  type: RegisterType;
  /** engineering value = raw × scale (default 1). */
  scale?: number;
  unit?: string;
  meaning: string;
  /** What a master may write; absent = read-only (a write answers exception 2, v1.1b §7). */
  write?: string;
  /** Names of an enumeration's values (the site file's `states:`). */
  states?: Record<number, string>;
  /** Project Haystack tags where one exists. */
  tags: string[];
  /** Report-by-exception deadband suggested for the site file. */
  deadband?: number;
  /** Engineering range in normal operation: the tests check every client reads inside it. */
  range?: [number, number];
}

const WORDS: Record<RegisterType, number> = { bool: 1, int16: 1, uint16: 1, uint32: 2, float32: 2 };
const TABLE_NAMES: Record<Table, string> = { coil: 'coil', discrete: 'discrete input', holding: 'holding', input: 'input' };

export const wordsOf = (type: RegisterType): number => WORDS[type];

/** Engineering value from raw registers (ABCD word order) or a bit. */
export function decode(entry: RegisterEntry, raw: number[] | boolean): number {
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(raw[0]! & 0xffff, 0);
  buf.writeUInt16BE((raw[1] ?? 0) & 0xffff, 2);
  const scale = entry.scale ?? 1;
  switch (entry.type) {
    case 'bool':
      return raw[0] ? 1 : 0;
    case 'int16':
      return buf.readInt16BE(0) * scale;
    case 'uint16':
      return buf.readUInt16BE(0) * scale;
    case 'uint32':
      return buf.readUInt32BE(0) * scale;
    case 'float32':
      return buf.readFloatBE(0) * scale;
  }
}

export class RegisterMap {
  private readonly byPoint = new Map<string, RegisterEntry>();

  constructor(
    readonly entries: readonly RegisterEntry[],
    /** Bank sizes: a little larger than the map, so that range checks (exception 2) mean something. */
    readonly sizes: MemoryRegisterBankSizes,
    /** Input registers mirror the holding registers (FC 4 reads the same values as FC 3). */
    readonly inputMirrorsHolding = true,
  ) {
    const used = new Map<string, string>();
    for (const e of entries) {
      if (this.byPoint.has(e.point)) throw new Error(`register map: point '${e.point}' twice`);
      this.byPoint.set(e.point, e);
      const bits = e.table === 'coil' || e.table === 'discrete';
      if (bits !== (e.type === 'bool')) throw new Error(`register map: ${e.point}: a ${e.table} must be ${bits ? '' : 'not '}bool`);
      for (let i = 0; i < WORDS[e.type]; i++) {
        const key = `${e.table}:${e.address + i}`;
        if (used.has(key)) throw new Error(`register map: ${e.point} overlaps ${used.get(key)} at ${key}`);
        used.set(key, e.point);
      }
      if (e.address + WORDS[e.type] > this.size(e.table)) throw new Error(`register map: ${e.point} lies outside the ${e.table} table`);
    }
  }

  entry(point: string): RegisterEntry {
    const e = this.byPoint.get(point);
    if (!e) throw new Error(`register map has no point '${point}'`);
    return e;
  }

  size(table: Table): number {
    return { coil: this.sizes.coils, discrete: this.sizes.discreteInputs, holding: this.sizes.holdingRegisters, input: this.sizes.inputRegisters }[table];
  }

  /** The point entries a site file lists for this device (0-based addresses, as the gateway reads them). */
  sitePoints(asset: string): ModbusPoint[] {
    return this.entries.map((e) => ({
      id: `${asset}.${e.point}`,
      modbus: { table: e.table, address: e.address, type: e.type, wordOrder: 'big' as const, byteOrder: 'big' as const },
      scale: e.scale ?? 1,
      offset: 0,
      ...(e.unit ? { unit: e.unit } : {}),
      deadband: e.deadband ?? 0,
      tags: [...e.tags],
      ...(e.states ? { states: Object.fromEntries(Object.entries(e.states).map(([k, v]) => [k, v])) } : {}),
    }));
  }

  /** The map as a Markdown table. */
  markdown(): string {
    const rows = [...this.entries]
      .sort((a, b) => tableOrder(a.table) - tableOrder(b.table) || a.address - b.address)
      .map((e) => {
        const last = e.address + WORDS[e.type] - 1;
        const address = last > e.address ? `${e.address}–${last}` : String(e.address);
        const encoding =
          e.type === 'bool'
            ? 'bit'
            : `${e.type}${e.scale !== undefined && e.scale !== 1 ? ` × ${e.scale}` : ''}${e.unit ? ` ${e.unit}` : ''}${WORDS[e.type] === 2 ? ', ABCD' : ''}`;
        const states = e.states ? `: ${Object.entries(e.states).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
        const range = e.range ? `${e.range[0]}–${e.range[1]}` : '';
        return `| ${TABLE_NAMES[e.table]} | ${address} | \`${e.point}\` | ${e.meaning}${states} | ${encoding} | ${range} | ${e.write ? `write: ${e.write}` : 'read'} |`;
      });
    const s = this.sizes;
    return [
      '| table | address | point | meaning | encoding | normal range | access |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      `Bank sizes: ${s.coils} coils, ${s.discreteInputs} discrete inputs, ${s.holdingRegisters} holding and ${s.inputRegisters} input registers; ` +
        `unlisted addresses inside them read 0 and refuse writes (exception 2), addresses past them answer exception 2.` +
        (this.inputMirrorsHolding ? ' Input registers mirror the holding registers (FC 4 reads what FC 3 reads).' : ''),
    ].join('\n');
  }
}

const tableOrder = (t: Table) => ['coil', 'discrete', 'holding', 'input'].indexOf(t);

const RAW_LIMITS: Record<RegisterType, [number, number]> = {
  bool: [0, 1],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffffffff],
  float32: [-Infinity, Infinity],
};

/**
 * A device's registers, written by engineering value through its map. Writes from a master are
 * allowed only where the map says so; `validate` may refuse a value with exception 3.
 */
export class RegisterImage {
  readonly bank: MemoryRegisterBank;
  private readonly buf = Buffer.alloc(4);
  /** Called with the engineering value a master writes to a writable point; throw ModbusException 3 to refuse. */
  onWrite?: (point: string, value: number) => void;
  private readonly holdingOwner: Array<RegisterEntry | undefined>;
  private readonly coilOwner: Array<RegisterEntry | undefined>;

  constructor(readonly map: RegisterMap) {
    this.bank = new MemoryRegisterBank(map.sizes);
    this.holdingOwner = new Array(map.sizes.holdingRegisters);
    this.coilOwner = new Array(map.sizes.coils);
    for (const e of map.entries) {
      if (e.table === 'holding') for (let i = 0; i < WORDS[e.type]; i++) this.holdingOwner[e.address + i] = e;
      if (e.table === 'coil') this.coilOwner[e.address] = e;
    }
    this.bank.onHoldingWrite = (address, values) => this.checkHoldingWrite(address, values);
    this.bank.onCoilsWrite = (address, values) => {
      values.forEach((v, i) => {
        const e = this.coilOwner[address + i];
        if (!e?.write) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `coil ${address + i} is not writable`);
        this.onWrite?.(e.point, v ? 1 : 0);
      });
    };
  }

  /** Stores an engineering value (rounded to the register's scale, clamped to its type). */
  set(point: string, value: number | boolean): void {
    const e = this.map.entry(point);
    if (e.type === 'bool') {
      (e.table === 'coil' ? this.bank.coils : this.bank.discreteInputs)[e.address] = Boolean(value);
      return;
    }
    const regs = e.table === 'holding' ? this.bank.holding : this.bank.input;
    const [lo, hi] = RAW_LIMITS[e.type];
    const scaled = Number(value) / (e.scale ?? 1);
    const raw = e.type === 'float32' ? scaled : Math.min(hi, Math.max(lo, Math.round(Number.isFinite(scaled) ? scaled : 0)));
    switch (e.type) {
      case 'int16':
      case 'uint16':
        regs[e.address] = raw & 0xffff;
        return;
      case 'uint32':
        this.buf.writeUInt32BE(raw >>> 0);
        break;
      case 'float32':
        this.buf.writeFloatBE(raw);
        break;
    }
    regs[e.address] = this.buf.readUInt16BE(0);
    regs[e.address + 1] = this.buf.readUInt16BE(2);
  }

  /** The engineering value as a master decodes it. */
  get(point: string): number {
    const e = this.map.entry(point);
    if (e.type === 'bool') return (e.table === 'coil' ? this.bank.coils : this.bank.discreteInputs)[e.address] ? 1 : 0;
    const regs = e.table === 'holding' ? this.bank.holding : this.bank.input;
    return decode(e, [regs[e.address]!, regs[e.address + 1] ?? 0]);
  }

  /** Copies holding to input registers where the map says they mirror; call after a round of `set`. */
  commit(): void {
    if (this.map.inputMirrorsHolding) this.bank.input.set(this.bank.holding.subarray(0, this.bank.input.length));
  }

  private checkHoldingWrite(address: number, values: number[]): void {
    // Every written register must belong to a writable point (v1.1b §7 exception 2: not an allowable address).
    for (let i = 0; i < values.length; i++) {
      const e = this.holdingOwner[address + i];
      if (!e?.write) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `holding ${address + i} is not writable`);
    }
    if (!this.onWrite) return;
    for (const e of new Set(this.holdingOwner.slice(address, address + values.length))) {
      if (!e) continue;
      const words = WORDS[e.type];
      // A 32-bit point must be written whole.
      if (e.address < address || e.address + words > address + values.length)
        throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `${e.point} is ${words} registers and must be written whole`);
      const at = e.address - address;
      this.onWrite(e.point, decode(e, values.slice(at, at + words)));
    }
  }
}
