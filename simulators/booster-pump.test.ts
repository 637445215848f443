import { describe, expect, it } from 'vitest';
import { BoosterSet, BOOSTER_PUMP_MAP as MAP, FAULT_CODES, SET_ROLES, SimError, type BoosterPump } from './index.ts';

const TZ = 'Asia/Shanghai';
/** A Monday in the site's time zone, at `hh:mm`. */
const at = (hhmm: string) => Date.parse(`2026-03-02T${hhmm}:00+08:00`);

function boosterSet(seed = 1, start = at('10:00')) {
  const set = new BoosterSet({ seed, timeZone: TZ, start });
  const pumps = [1, 2, 3].map((i) => set.addPump(seed * 100 + i));
  return { set, pumps };
}
/** What a master decodes from a drive's registers. */
const read = (p: BoosterPump) => Object.fromEntries(MAP.entries.map((e) => [e.point, p.image.get(e.point)])) as Record<string, number>;
/** Steps the set every `everyS` simulated seconds for `seconds`, reading every drive after each step. */
function run(set: BoosterSet, pumps: BoosterPump[], seconds: number, everyS = 1) {
  const out: Array<Array<Record<string, number>>> = [];
  for (let s = everyS; s <= seconds; s += everyS) {
    set.advance(set.now + everyS * 1000);
    out.push(pumps.map(read));
  }
  return out;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const range = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
const runningCount = (row: Array<Record<string, number>>) => row.filter((p) => p.running === 1).length;

describe('booster set', () => {
  it('is deterministic from its seed, whatever the step pattern', () => {
    const a = boosterSet(42);
    const b = boosterSet(42);
    const c = boosterSet(43);
    const seriesA = run(a.set, a.pumps, 30, 1);
    // Same simulated times reached in uneven steps: the same values at the common sample times.
    const seriesB: typeof seriesA = [];
    for (let s = 1; s <= 30; s++) {
      b.set.advance(b.set.now + 250);
      b.set.advance(at('10:00') + s * 1000);
      seriesB.push(b.pumps.map(read));
    }
    expect(seriesB).toEqual(seriesA);
    expect(run(c.set, c.pumps, 30, 1)).not.toEqual(seriesA);
  });

  it('holds the set point at 0.80 MPa with the duty pump in mid-morning; standby and assist idle', () => {
    const { set, pumps } = boosterSet(7);
    const series = run(set, pumps, 600);
    const later = series.slice(60);
    for (const row of later) {
      expect(runningCount(row)).toBeGreaterThanOrEqual(1);
      for (const p of row) expect(Math.abs(p.discharge_pressure! - 0.8)).toBeLessThan(0.035);
    }
    const duty = later.map((row) => row.find((p) => p.set_role === SET_ROLES.duty)!);
    expect(duty.every(Boolean)).toBe(true);
    expect(mean(duty.map((p) => p.speed!))).toBeGreaterThan(74);
    expect(mean(duty.map((p) => p.speed!))).toBeLessThan(100);
    expect(mean(duty.map((p) => p.motor_current!))).toBeGreaterThan(10);
    expect(range(duty.map((p) => p.speed!))).toBeGreaterThan(1); // it answers a moving demand
    expect(mean(duty.map((p) => p.vibration!))).toBeLessThan(1.8); // ISO 10816-1 class I zone A/B
    expect(mean(duty.map((p) => p.flow!))).toBeGreaterThan(3);
    expect(Math.max(...later.flatMap((row) => row.map((p) => p.suction_pressure!)))).toBeLessThan(0.05);
    // Idle pumps: no speed, no current, no flow.
    for (const row of later) for (const p of row.filter((p) => p.running === 0)) expect([p.speed, p.motor_current, p.flow]).toEqual([0, 0, 0]);
  });

  it('follows the daily demand: the assist runs in the morning peak, at night the last pump cycles on and off; never more than 2 of 3', () => {
    const night = boosterSet(3, at('02:00'));
    const nightRows = run(night.set, night.pumps, 3600, 5);
    const peak = boosterSet(3, at('07:45'));
    const peakRows = run(peak.set, peak.pumps, 1800, 5);
    const all = [...nightRows, ...peakRows];
    expect(Math.max(...all.map(runningCount))).toBe(2);
    expect(mean(peakRows.map(runningCount))).toBeGreaterThan(1.5);
    expect(mean(nightRows.map(runningCount))).toBeLessThan(0.9);
    expect(nightRows.some((row) => runningCount(row) === 0)).toBe(true);
    // On/off at low flow: several starts in the hour, fewer than 20 (a motor's start limit).
    const starts = (rows: typeof all) => rows.at(-1)!.reduce((a, p) => a + p.starts!, 0) - rows[0]!.reduce((a, p) => a + p.starts!, 0);
    expect(starts(nightRows)).toBeGreaterThan(3);
    expect(starts(nightRows)).toBeLessThan(20);
    // The header stays within the on/off band.
    for (const row of nightRows) expect(row[0]!.discharge_pressure).toBeGreaterThan(0.72);
    expect(mean(peakRows.map((r) => r.reduce((a, p) => a + p.flow!, 0)))).toBeGreaterThan(mean(nightRows.map((r) => r.reduce((a, p) => a + p.flow!, 0))) * 5);
  });

  it('starts go to the pump with the fewest run hours; a stopped pump (coil 0) leaves the rotation and the next takes over', () => {
    const { set, pumps } = boosterSet(5);
    run(set, pumps, 5);
    const duty = pumps.find((p) => p.running)!;
    expect(duty).toBe(pumps[0]); // the least-used pump at start
    duty.bank.writeCoils(MAP.entry('run_cmd').address, [false]);
    expect(read(duty)).toMatchObject({ running: 0, speed: 0, motor_current: 0, set_role: SET_ROLES.stopped });
    run(set, pumps, 5);
    expect(pumps.filter((p) => p.running).length).toBeGreaterThanOrEqual(1);
    expect(duty.running).toBe(false);
    duty.bank.writeCoils(0, [true]);
    run(set, pumps, 5);
    expect(read(duty).set_role).not.toBe(SET_ROLES.stopped);
  });

  it('changes over by run hours: a pump 6 h ahead of a resting one hands over', () => {
    const { set, pumps } = boosterSet(9);
    run(set, pumps, 20);
    const duty = pumps.find((p) => p.running)!;
    duty.runHours += 10;
    run(set, pumps, 30);
    expect(duty.running).toBe(false);
    expect(pumps.some((p) => p !== duty && p.running)).toBe(true);
  });

  it('cavitation: pressure falls to ~0.45 MPa and oscillates, current fluctuates, fault code 208; clear recovers within 2 s', () => {
    const { set, pumps } = boosterSet(3);
    const duty = () => pumps.find((p) => p.running)!;
    const healthy = run(set, pumps, 10, 0.25).map((row) => row[pumps.indexOf(duty())]!);
    const pump = duty();
    const i = pumps.indexOf(pump);
    pump.inject('cavitation', {}, set.now);
    expect(read(pump).fault_code).toBe(FAULT_CODES.cavitation);
    run(set, pumps, 2, 0.25);
    const cavitating = run(set, pumps, 10, 0.25).map((row) => row[i]!);
    expect(mean(cavitating.map((s) => s.discharge_pressure!))).toBeCloseTo(0.45, 1);
    expect(range(cavitating.map((s) => s.discharge_pressure!))).toBeGreaterThan(0.1);
    expect(range(cavitating.map((s) => s.motor_current!))).toBeGreaterThan(2 * range(healthy.map((s) => s.motor_current!)));
    expect(mean(cavitating.map((s) => s.vibration!))).toBeGreaterThan(mean(healthy.map((s) => s.vibration!)) + 0.5);
    for (const s of cavitating) expect([s.fault, s.fault_code]).toEqual([1, FAULT_CODES.cavitation]);
    pump.clear('cavitation');
    run(set, pumps, 2, 0.25);
    for (const s of run(set, pumps, 5, 0.25).map((row) => row[i]!)) {
      expect(Math.abs(s.discharge_pressure! - 0.8)).toBeLessThan(0.015);
      expect(s.fault_code).toBe(0);
    }
  });

  it('bearing wear: vibration ramps over simulated hours through ISO 10816 zones B, C and D, with noise; bearing temperature follows', () => {
    const { set, pumps } = boosterSet(4);
    run(set, pumps, 60);
    const pump = pumps.find((p) => p.running)!;
    // Keep it duty for the whole ramp.
    for (const p of pumps) if (p !== pump) p.bank.writeCoils(0, [false]);
    const before = read(pump);
    pump.inject('bearing-wear', { hours: 4 }, set.now);
    const hourly: Array<Record<string, number>> = [];
    for (let h = 1; h <= 5; h++) {
      run(set, pumps, 3600, 60);
      hourly.push(read(pump));
    }
    const v = hourly.map((r) => r.vibration!);
    expect(before.vibration).toBeLessThan(1.8);
    expect(v[1]).toBeGreaterThan(before.vibration!);
    expect(v[3]).toBeGreaterThan(4.5); // zone D, class I
    expect(v[4]).toBeGreaterThan(5.5);
    expect(hourly[4]!.bearing_temp).toBeGreaterThan(before.bearing_temp! + 15);
    expect(read(pump).fault_code).toBe(0);
  });

  it('dry run trips the pump after 5 s (code 57) and the set starts another; clear resets the trip', () => {
    const { set, pumps } = boosterSet(6);
    run(set, pumps, 20);
    const pump = pumps.find((p) => p.running)!;
    pump.inject('dry-run', {}, set.now);
    run(set, pumps, 3);
    expect(read(pump).running).toBe(1);
    expect(read(pump).suction_pressure).toBeLessThan(0.001);
    run(set, pumps, 3);
    expect(read(pump)).toMatchObject({ running: 0, fault: 1, fault_code: FAULT_CODES.dryRun, set_role: SET_ROLES.tripped });
    run(set, pumps, 2);
    expect(pumps.some((p) => p !== pump && p.running)).toBe(true);
    pump.clear('dry-run');
    expect(read(pump).fault_code).toBe(0);
  });

  it('motor overload: current climbs past full load, then the relay trips (code 48)', () => {
    const { set, pumps } = boosterSet(8);
    run(set, pumps, 20);
    const pump = pumps.find((p) => p.running)!;
    pump.inject('motor-overload-trip', {}, set.now);
    const rows = run(set, pumps, 5, 0.5).map((r) => r[pumps.indexOf(pump)]!);
    expect(Math.max(...rows.map((r) => r.motor_current!))).toBeGreaterThan(22);
    run(set, pumps, 2);
    expect(read(pump)).toMatchObject({ running: 0, motor_current: 0, fault_code: FAULT_CODES.motorOverload });
  });

  it('stuck pressure sensor: the drive repeats one value bit for bit while the others move', () => {
    const { set, pumps } = boosterSet(2);
    run(set, pumps, 5);
    pumps[1]!.inject('stuck-pressure-sensor', {}, set.now);
    const regs = () => Array.from(pumps[1]!.bank.holding.subarray(2, 4));
    const frozen = regs();
    const others = run(set, pumps, 30).map((row) => row[0]!.discharge_pressure!);
    expect(regs()).toEqual(frozen);
    expect(range(others)).toBeGreaterThan(0.005);
    expect(read(pumps[1]!).fault_code).toBe(0);
    pumps[1]!.clear('stuck-pressure-sensor');
    run(set, pumps, 2);
    expect(regs()).not.toEqual(frozen);
  });

  it('the set point is the set\'s: written on one drive, every drive shows it and the header follows; out of range is exception 3', () => {
    const { set, pumps } = boosterSet(1);
    run(set, pumps, 10);
    pumps[2]!.bank.writeHoldingRegisters(MAP.entry('pressure_sp').address, [700]);
    for (const p of pumps) expect(read(p).pressure_sp).toBeCloseTo(0.7, 6);
    run(set, pumps, 20);
    expect(Math.abs(read(pumps[0]!).discharge_pressure! - 0.7)).toBeLessThan(0.03);
    expect(() => pumps[0]!.bank.writeHoldingRegisters(5, [5000])).toThrow(expect.objectContaining({ exceptionCode: 3 }));
    expect(() => pumps[0]!.bank.writeHoldingRegisters(0, [1])).toThrow(expect.objectContaining({ exceptionCode: 2 }));
  });

  it('refuses unknown faults and bad params with SimError codes; injecting twice is fine', () => {
    const { pumps } = boosterSet(1);
    const pump = pumps[0]!;
    const codeOf = (f: () => void) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(SimError);
        return (err as SimError).code;
      }
      return 'none';
    };
    expect(codeOf(() => pump.inject('overheat', {}, 0))).toBe('not-found');
    expect(codeOf(() => pump.clear('overheat'))).toBe('not-found');
    expect(codeOf(() => pump.inject('cavitation', { severity: 2 }, 0))).toBe('invalid');
    expect(codeOf(() => pump.inject('cavitation', { severity: 'high' }, 0))).toBe('invalid');
    expect(codeOf(() => pump.inject('bearing-wear', { colour: 1 }, 0))).toBe('invalid');
    expect(pump.faults().every((f) => !f.active)).toBe(true);
    pump.inject('cavitation', {}, 0);
    pump.inject('cavitation', { severity: 0.5 }, 0);
    expect(pump.faults().find((f) => f.name === 'cavitation')?.active).toBe(true);
  });
});
