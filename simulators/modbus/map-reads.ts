/**
 * Test support (never imported by production code): the reads that cover a register map, and the
 * decoding of their answers, so every Modbus client in the tests (modbus-serial, mbpoll, pymodbus)
 * reads a model's documented map the same way.
 */
import type { Table } from '../register-bank.ts';
import { BOOSTER_PUMP_MAP } from '../booster-pump.ts';
import { decode, wordsOf, type RegisterMap } from './register-map.ts';
import { SUMP_PUMP_MAP } from './sump-pump.ts';
import { FIRE_PUMP_MAP } from './fire-pump.ts';
import { LIFT_CONTROLLER_MAP } from './lift-controller.ts';

/** Every Modbus model's register map, by model name. */
export const MAPS: Record<string, RegisterMap> = { 'booster-pump': BOOSTER_PUMP_MAP, 'sump-pump': SUMP_PUMP_MAP, 'fire-pump': FIRE_PUMP_MAP, 'lift-controller': LIFT_CONTROLLER_MAP };

export interface TableRead {
  table: Table;
  address: number;
  count: number;
}

/** One read per table, from address 0 to the map's last address in it. */
export function mapReads(map: RegisterMap): TableRead[] {
  const tables: Table[] = ['coil', 'discrete', 'holding'];
  return tables.flatMap((table) => {
    const of = map.entries.filter((e) => e.table === table);
    if (of.length === 0) return [];
    return [{ table, address: 0, count: Math.max(...of.map((e) => e.address + wordsOf(e.type))) }];
  });
}

export type RawReads = Partial<Record<Table, number[]>>;

/** Engineering values by point name, from raw answers to `mapReads` (bits as 0/1). */
export function decodeReads(map: RegisterMap, raw: RawReads): Record<string, number> {
  return Object.fromEntries(
    map.entries.map((e) => {
      const words = raw[e.table];
      if (!words) throw new Error(`no ${e.table} read for ${e.point}`);
      const value = e.type === 'bool' ? words[e.address]! : decode(e, words.slice(e.address, e.address + wordsOf(e.type)));
      return [e.point, value];
    }),
  );
}

/** The points whose values are not plausible: outside their documented range, or not one of their states. */
export function implausible(map: RegisterMap, values: Record<string, number>): string[] {
  return map.entries.flatMap((e) => {
    const v = values[e.point];
    if (v === undefined || Number.isNaN(v)) return [`${e.point}: missing`];
    if (e.type === 'bool' && v !== 0 && v !== 1) return [`${e.point}: ${v} is not a bit`];
    if (e.states && !(String(v) in e.states)) return [`${e.point}: ${v} is none of its states`];
    if (e.range && (v < e.range[0] - 1e-6 || v > e.range[1] + 1e-6)) return [`${e.point}: ${v} outside ${e.range[0]}–${e.range[1]}`];
    return [];
  });
}
