import { describe, expect, it } from 'vitest';
import { parseSite, type Point } from '@vigil/model';
import { decodePoint, decodeRead, encodePoint, planPolls, pointWidth, splitRead, MAX_REGISTERS_PER_READ, MAX_BITS_PER_READ } from './poll-plan.ts';
import { words32 } from './test-peers.ts';

/** Points as the site loader makes them (defaults applied). */
function points(lines: string[]): Point[] {
  const site = parseSite(`
site: { id: s, name: S, timezone: UTC }
buildings: [{ id: b, name: B, floors: [{ id: f, name: F, level: 0 }] }]
assets: [{ id: a, name: A, class: pump, building: b, floor: f, department: technical }]
devices:
  - id: d
    protocol: modbus-tcp
    port: 1502
    points:
${lines.map((l) => `      - ${l}`).join('\n')}
`);
  const device = site.devices[0]!;
  if (device.protocol !== 'modbus-tcp') throw new Error('a Modbus device expected');
  return device.points;
}

describe('planPolls', () => {
  it('groups by table and merges nearby addresses into one read', () => {
    const plan = planPolls(
      points([
        '{ id: a.p1, modbus: { table: holding, address: 0 } }',
        '{ id: a.p2, modbus: { table: holding, address: 2, type: float32 } }',
        '{ id: a.p3, modbus: { table: holding, address: 100 } }',
        '{ id: a.p4, modbus: { table: input, address: 1 } }',
        '{ id: a.p5, modbus: { table: coil, address: 5, type: bool } }',
        '{ id: a.p6, modbus: { table: coil, address: 7, type: bool } }',
      ]),
    );
    const summary = plan.reads.map((r) => `${r.table}:${r.start}+${r.count}:${r.points.map((p) => `${p.point.id}@${p.offset}`).join(',')}`);
    expect(summary).toEqual(['coil:5+3:a.p5@0,a.p6@2', 'holding:0+4:a.p1@0,a.p2@2', 'holding:100+1:a.p3@0', 'input:1+1:a.p4@0']);
  });

  it('never asks for more than 125 registers or 2000 bits in one read', () => {
    const regs = Array.from({ length: 300 }, (_, i) => `{ id: a.r${i}, modbus: { table: holding, address: ${i} } }`);
    const bits = Array.from({ length: 2500 }, (_, i) => `{ id: a.b${i}, modbus: { table: discrete, address: ${i}, type: bool } }`);
    const plan = planPolls(points([...regs, ...bits]));
    const holding = plan.reads.filter((r) => r.table === 'holding');
    const discrete = plan.reads.filter((r) => r.table === 'discrete');
    expect(holding.map((r) => r.count)).toEqual([125, 125, 50]);
    expect(discrete.map((r) => r.count)).toEqual([2000, 500]);
    expect(Math.max(...holding.map((r) => r.count))).toBeLessThanOrEqual(MAX_REGISTERS_PER_READ);
    expect(Math.max(...discrete.map((r) => r.count))).toBeLessThanOrEqual(MAX_BITS_PER_READ);
  });

  it('does not split a 32-bit value across reads', () => {
    const regs = Array.from({ length: 62 }, (_, i) => `{ id: a.r${i}, modbus: { table: holding, address: ${i * 2}, type: uint32 } }`);
    const plan = planPolls(points([...regs, '{ id: a.last, modbus: { table: holding, address: 124, type: float32 } }']));
    expect(plan.reads.map((r) => [r.start, r.count])).toEqual([
      [0, 124],
      [124, 2],
    ]);
  });

  it('splits a merged read into one read per point', () => {
    const plan = planPolls(points(['{ id: a.p1, modbus: { table: holding, address: 0 } }', '{ id: a.p2, modbus: { table: holding, address: 3, type: int32 } }']));
    expect(splitRead(plan.reads[0]!).map((r) => [r.start, r.count])).toEqual([
      [0, 1],
      [3, 2],
    ]);
  });
});

describe('decodeRead', () => {
  it('decodes every type and both word orders, then scales', () => {
    const plan = planPolls(
      points([
        '{ id: a.u16, modbus: { table: holding, address: 0, type: uint16 }, scale: 0.1 }',
        '{ id: a.i16, modbus: { table: holding, address: 1, type: int16 }, offset: 10 }',
        '{ id: a.i32, modbus: { table: holding, address: 2, type: int32 } }',
        '{ id: a.u32le, modbus: { table: holding, address: 4, type: uint32, wordOrder: little } }',
        '{ id: a.f32, modbus: { table: holding, address: 6, type: float32 }, scale: 2, offset: -1 }',
        '{ id: a.f32le, modbus: { table: holding, address: 8, type: float32, wordOrder: little } }',
        '{ id: a.flag, modbus: { table: holding, address: 10, type: bool } }',
      ]),
    );
    const data = [1234, 0xfffe, ...words32(-100000, 'int32'), ...words32(3_000_000_000, 'uint32', 'little'), ...words32(1.5, 'float32'), ...words32(-0.8125, 'float32', 'little'), 7];
    const samples = decodeRead(plan.reads[0]!, data, 42);
    const byPoint = Object.fromEntries(samples.map((s) => [s.point, s.value]));
    expect(byPoint['a.u16']).toBeCloseTo(123.4);
    expect(byPoint).toMatchObject({ 'a.i16': 8, 'a.i32': -100000, 'a.u32le': 3_000_000_000, 'a.f32': 2, 'a.f32le': -0.8125, 'a.flag': true });
    expect(samples.every((s) => s.ts === 42 && s.quality === 'good')).toBe(true);
  });

  it('decodes bits and marks a NaN float and a short reply bad instead of throwing', () => {
    const bits = planPolls(points(['{ id: a.c0, modbus: { table: coil, address: 0, type: bool } }', '{ id: a.c2, modbus: { table: coil, address: 2, type: bool } }']));
    expect(decodeRead(bits.reads[0]!, [true, false, false], 1).map((s) => s.value)).toEqual([true, false]);

    const floats = planPolls(points(['{ id: a.f, modbus: { table: holding, address: 0, type: float32 } }', '{ id: a.g, modbus: { table: holding, address: 2 } }']));
    const samples = decodeRead(floats.reads[0]!, [0x7fc0, 0x0000], 1);
    expect(samples).toEqual([
      { point: 'a.f', ts: 1, value: null, quality: 'bad', reason: 'out-of-range' },
      { point: 'a.g', ts: 1, value: null, quality: 'bad', reason: 'short-reply' },
    ]);
  });
});

describe('encodePoint (writes)', () => {
  const [f32big, f32little, i32, u16, coil] = points([
    '{ id: a.f, modbus: { table: holding, address: 0, type: float32 } }',
    '{ id: a.g, modbus: { table: holding, address: 2, type: float32, wordOrder: little } }',
    '{ id: a.i, modbus: { table: holding, address: 4, type: int32 }, scale: 0.1 }',
    '{ id: a.u, modbus: { table: holding, address: 6, type: uint16 }, scale: 0.001, offset: 0.1 }',
    '{ id: a.c, modbus: { table: coil, address: 0, type: bool } }',
  ]);
  const roundTrip = (p: Point, v: number | boolean) => {
    const e = encodePoint(p, v);
    if (!e.ok) throw new Error(e.reason);
    return 'bit' in e ? e.bit : decodePoint(p, e.words, 0);
  };
  it('is the inverse of decoding, in both word orders, with scale and offset', () => {
    expect(roundTrip(f32big!, 0.75)).toEqual({ ok: true, value: 0.75 });
    expect(roundTrip(f32little!, -12.5)).toEqual({ ok: true, value: -12.5 });
    expect(roundTrip(i32!, -1234.5)).toMatchObject({ ok: true, value: expect.closeTo(-1234.5, 6) });
    expect(roundTrip(u16!, 0.85)).toMatchObject({ ok: true, value: expect.closeTo(0.85, 6) });
    expect(roundTrip(coil!, true)).toBe(true);
  });
  it('refuses values the register cannot hold', () => {
    expect(encodePoint(u16!, 70)).toMatchObject({ ok: false });
    expect(encodePoint(u16!, Number.NaN)).toMatchObject({ ok: false });
    expect(encodePoint(coil!, 3)).toMatchObject({ ok: false });
  });
});

describe('64-bit values, byte order and bits of a register', () => {
  const [f64, i64, u64le, f32badc, f32dcba, flags0, flags3, flags15, anyBit] = points([
    '{ id: a.f64, modbus: { table: holding, address: 0, type: float64 } }',
    '{ id: a.i64, modbus: { table: holding, address: 4, type: int64 } }',
    '{ id: a.u64, modbus: { table: holding, address: 8, type: uint64, wordOrder: little } }',
    '{ id: a.badc, modbus: { table: holding, address: 12, type: float32, byteOrder: little } }',
    '{ id: a.dcba, modbus: { table: holding, address: 14, type: float32, wordOrder: little, byteOrder: little } }',
    '{ id: a.b0, modbus: { table: holding, address: 16, type: bool, bit: 0 } }',
    '{ id: a.b3, modbus: { table: holding, address: 16, type: bool, bit: 3 } }',
    '{ id: a.b15, modbus: { table: input, address: 16, type: bool, bit: 15 } }',
    '{ id: a.any, modbus: { table: holding, address: 16, type: bool } }',
  ]);
  /** Registers of bytes given in wire order (each register high byte first). */
  const regs = (...bytes: number[]) => Array.from({ length: bytes.length / 2 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);

  it('reads a 64-bit value from four registers, both word orders', () => {
    expect(planPolls([f64!, i64!, u64le!]).reads.map((r) => [r.start, r.count])).toEqual([[0, 12]]);
    // 1.5 as a float64 is 3FF8 0000 0000 0000.
    expect(decodePoint(f64!, regs(0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 0)).toEqual({ ok: true, value: 1.5 });
    expect(decodePoint(i64!, regs(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), 0)).toEqual({ ok: true, value: -2 });
    // 2^32 + 5 with the low word first.
    expect(decodePoint(u64le!, [5, 0, 1, 0], 0)).toEqual({ ok: true, value: 2 ** 32 + 5 });
    expect(decodePoint(f64!, [0x3ff8, 0, 0], 0)).toEqual({ ok: false, reason: 'short-reply' });
  });

  it('reads registers whose two bytes the device swaps (BADC, DCBA)', () => {
    // 12.5 as a float32 is 4148 0000: ABCD = 41 48 00 00.
    expect(decodePoint(f32badc!, regs(0x48, 0x41, 0x00, 0x00), 0)).toEqual({ ok: true, value: 12.5 });
    expect(decodePoint(f32dcba!, regs(0x00, 0x00, 0x48, 0x41), 0)).toEqual({ ok: true, value: 12.5 });
  });

  it('reads single bits of a status word, and any non-zero word as true without a bit', () => {
    const word = [0b1000_0000_0000_1000];
    expect([flags0, flags3, flags15, anyBit].map((p) => decodePoint(p!, word, 0))).toEqual([
      { ok: true, value: false },
      { ok: true, value: true },
      { ok: true, value: true },
      { ok: true, value: true },
    ]);
    expect(decodePoint(anyBit!, [0], 0)).toEqual({ ok: true, value: false });
  });

  it('writes 64-bit and byte-swapped values as it reads them, and refuses a single bit', () => {
    for (const [p, v] of [[f64!, -0.001], [i64!, -9_007_199_254_740_991], [u64le!, 2 ** 40 + 3], [f32badc!, 12.5], [f32dcba!, -3.25]] as const) {
      const e = encodePoint(p, v);
      if (!e.ok || !('words' in e)) throw new Error(`no words for ${p.id}`);
      expect(e.words).toHaveLength(pointWidth(p));
      expect(decodePoint(p, e.words, 0)).toEqual({ ok: true, value: v });
    }
    expect(encodePoint(flags3!, true)).toMatchObject({ ok: false, reason: expect.stringContaining('bit 3') });
    expect(encodePoint(i64!, 2 ** 64)).toMatchObject({ ok: false });
  });
});

