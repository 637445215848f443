import { describe, expect, it } from 'vitest';
import { SumpPump, SUMP_PUMP_MAP, SUMP_FAULT_CODES } from './sump-pump.ts';
import { FireMain, FirePump, FIRE_PUMP_MAP } from './fire-pump.ts';
import { LiftController, LIFT_CONTROLLER_MAP, CAR_MODE, DIRECTION, DOOR, LIFT_FAULT } from './lift-controller.ts';
import type { RegisterImage, RegisterMap } from './register-map.ts';
import { implausible } from './map-reads.ts';

const TZ = 'Asia/Shanghai';
const at = (hhmm: string) => Date.parse(`2026-03-02T${hhmm}:00+08:00`);
const values = (img: RegisterImage, map: RegisterMap) => Object.fromEntries(map.entries.map((e) => [e.point, img.get(e.point)])) as Record<string, number>;
const H = 3_600_000;

describe('sump-pump model', () => {
  const sump = (seed = 1, start = at('00:00')) => new SumpPump({ seed, timeZone: TZ, start });
  it('keeps the pit between its stop and start levels, starting a few times an hour at most; deterministic', () => {
    const a = sump(3);
    const levels: number[] = [];
    const series: Array<Record<string, number>> = [];
    const starts0 = a.image.get('starts');
    for (let m = 1; m <= 24 * 60; m += 1) {
      a.step(at('00:00') + m * 60_000);
      const v = values(a.image, SUMP_PUMP_MAP);
      series.push(v);
      levels.push(v.level!);
      expect(implausible(SUMP_PUMP_MAP, v)).toEqual([]);
    }
    expect(Math.max(...levels)).toBeLessThan(0.9);
    expect(Math.min(...levels)).toBeGreaterThan(0.2);
    const starts = a.image.get('starts') - starts0;
    expect(starts).toBeGreaterThan(2);
    expect(starts).toBeLessThan(48);
    const b = sump(3);
    for (let m = 1; m <= 60; m++) b.step(at('00:00') + m * 60_000);
    expect(values(b.image, SUMP_PUMP_MAP)).toEqual(series[59]);
  });

  it('high water: past the float (DI 1, code 2), then the pit overflows and the floor leak sensor goes wet (DI 2, code 3)', () => {
    const s = sump(2);
    s.inject('high-water', { inflow: 40 }, at('00:00'));
    let t = at('00:00');
    const seen = new Set<number>();
    for (let i = 0; i < 120; i++) {
      s.step((t += 30_000));
      seen.add(s.image.get('fault_code'));
    }
    expect(seen.has(SUMP_FAULT_CODES.highLevel)).toBe(true);
    expect(values(s.image, SUMP_PUMP_MAP)).toMatchObject({ running: 1, high_level: 1, water_leak: 1, fault: 1, fault_code: SUMP_FAULT_CODES.flooding });
    expect(s.image.get('level')).toBeGreaterThan(1.45);
    s.clear('high-water');
    for (let i = 0; i < 60; i++) s.step((t += 30_000));
    expect(values(s.image, SUMP_PUMP_MAP)).toMatchObject({ high_level: 0, water_leak: 0, fault_code: 0 });
  });

  it('pump fails: called but no run feedback or current; code 1 after 5 s; the level rises', () => {
    const s = sump(4);
    s.inject('pump-fails', {}, at('00:00'));
    let t = at('00:00');
    for (let i = 0; i < 8 * 60; i++) s.step((t += 60_000));
    expect(s.calling).toBe(true);
    expect(values(s.image, SUMP_PUMP_MAP)).toMatchObject({ running: 0, motor_current: 0 });
    expect(s.image.get('fault_code')).toBeGreaterThanOrEqual(SUMP_FAULT_CODES.failsToStart);
    expect(s.image.get('level')).toBeGreaterThan(0.8);
    s.clear('pump-fails');
    s.step((t += 10_000));
    expect(s.image.get('running')).toBe(1);
  });

  it('auto off (coil 0 = 0) stops the pump', () => {
    const s = sump(5);
    s.bank.writeCoils(0, [false]);
    expect(s.auto).toBe(false);
    expect(() => s.bank.writeCoils(1, [true])).toThrow(expect.objectContaining({ exceptionCode: 2 }));
  });
});

describe('fire-pump model', () => {
  function fireSet(seed = 1) {
    const main = new FireMain(at('00:00'));
    const jockey = new FirePump(main, 'jockey', seed);
    const mainPump = new FirePump(main, 'main', seed + 1);
    main.pumps.set('jockey', jockey);
    main.pumps.set('main', mainPump);
    return { main, jockey, mainPump };
  }
  const advance = (main: FireMain, seconds: number, every = 1) => {
    for (let s = 0; s < seconds; s += every) main.advance(main.now + every * 1000);
  };

  it('the jockey holds the main between its start (0.831) and stop (0.900 MPa) points, about once an hour; the main pump rests', () => {
    const { main, jockey, mainPump } = fireSet();
    const pressures: number[] = [];
    const starts0 = jockey.image.get('starts');
    for (let m = 0; m < 6 * 60; m++) {
      advance(main, 60, 5);
      pressures.push(jockey.image.get('pressure'));
      expect(implausible(FIRE_PUMP_MAP, values(jockey.image, FIRE_PUMP_MAP))).toEqual([]);
    }
    expect(Math.min(...pressures)).toBeGreaterThan(0.82);
    expect(Math.max(...pressures)).toBeLessThan(0.91);
    const perHour = (jockey.image.get('starts') - starts0) / 6;
    expect(perHour).toBeGreaterThanOrEqual(0.5);
    expect(perHour).toBeLessThan(3);
    expect(mainPump.image.get('running')).toBe(0);
    expect(jockey.image.get('start_pressure') - mainPump.image.get('start_pressure')).toBeCloseTo(0.034, 2); // 5 psi
    expect(jockey.image.get('stop_pressure') - jockey.image.get('start_pressure')).toBeCloseTo(0.069, 2); // 10 psi
  });

  it('leak: the jockey short-cycles, more than 15 starts an hour', () => {
    const { main, jockey } = fireSet(2);
    jockey.inject('leak', {}, main.now);
    const starts0 = jockey.image.get('starts');
    advance(main, 3600);
    expect(jockey.image.get('starts') - starts0).toBeGreaterThan(15);
  });

  it('a leak beyond the jockey brings the main pump in below its start point; it runs until stopped by hand', () => {
    const { main, jockey, mainPump } = fireSet(3);
    jockey.inject('leak', { rate: 2000 }, main.now);
    advance(main, 120);
    expect(mainPump.image.get('running')).toBe(1);
    expect(mainPump.image.get('motor_current')).toBeGreaterThan(100);
    jockey.clear('leak');
    advance(main, 60);
    expect(mainPump.image.get('running')).toBe(1);
    mainPump.bank.writeCoils(0, [false]);
    advance(main, 1);
    expect(mainPump.image.get('running')).toBe(0);
  });

  it('fails to start (main): a remote start gets no run feedback; after 10 s fault code 1', () => {
    const { main, mainPump } = fireSet(4);
    mainPump.inject('fails-to-start', {}, main.now);
    mainPump.bank.writeCoils(0, [true]);
    advance(main, 5);
    expect(values(mainPump.image, FIRE_PUMP_MAP)).toMatchObject({ running: 0, fault_code: 0 });
    advance(main, 6);
    expect(values(mainPump.image, FIRE_PUMP_MAP)).toMatchObject({ running: 0, fault: 1, fault_code: 1, motor_current: 0 });
    mainPump.clear('fails-to-start');
    advance(main, 1);
    expect(values(mainPump.image, FIRE_PUMP_MAP)).toMatchObject({ running: 1, fault_code: 0, mode: 2 });
  });

  it('mode accepts 0 and 1 only (exception 3); faults are per role', () => {
    const { jockey } = fireSet(5);
    jockey.bank.writeHoldingRegisters(2, [0]);
    expect(jockey.image.get('mode')).toBe(0);
    expect(() => jockey.bank.writeHoldingRegisters(2, [7])).toThrow(expect.objectContaining({ exceptionCode: 3 }));
    expect(() => jockey.inject('fails-to-start', {}, 0)).toThrow(expect.objectContaining({ code: 'not-found' }));
  });
});

describe('lift-controller model', () => {
  const lift = (seed = 1, start = at('00:00'), firefighter = false) => new LiftController({ seed, timeZone: TZ, start, firefighter });
  /** Trips made in [from, from + hours), stepping every 10 s. */
  function tripsIn(l: LiftController, from: number, hours: number) {
    l.step(from);
    const before = l.trips;
    for (let t = from; t < from + hours * H; t += 10_000) l.step(t);
    return l.trips - before;
  }

  it('traffic follows the site\'s day: busy at the morning and evening peaks and at lunch, quiet at night; about 200–600 trips a day', () => {
    const l = lift(7, at('00:00'));
    let day = 0;
    const byHour: number[] = [];
    for (let h = 0; h < 24; h++) {
      const n = tripsIn(l, at('00:00') + h * H, 1);
      byHour.push(n);
      day += n;
    }
    expect(day).toBeGreaterThan(200);
    expect(day).toBeLessThan(800);
    const night = byHour[2]! + byHour[3]! + byHour[4]!;
    expect(byHour[8]!).toBeGreaterThan(night);
    expect(byHour[18]!).toBeGreaterThan(night);
    expect(byHour[12]!).toBeGreaterThan(byHour[3]!);
    expect(Math.max(byHour[8]!, byHour[18]!)).toBeGreaterThan(20);
  });

  it('serves plausible registers throughout, and is deterministic from its seed', () => {
    const a = lift(11, at('08:00'));
    const b = lift(11, at('08:00'));
    const directions = new Set<number>();
    const doors = new Set<number>();
    for (let t = at('08:00'); t < at('08:30'); t += 1000) {
      a.step(t);
      b.step(t);
      const v = values(a.image, LIFT_CONTROLLER_MAP);
      expect(implausible(LIFT_CONTROLLER_MAP, v)).toEqual([]);
      directions.add(v.direction!);
      doors.add(v.door_status!);
    }
    expect(values(b.image, LIFT_CONTROLLER_MAP)).toEqual(values(a.image, LIFT_CONTROLLER_MAP));
    expect([...directions].sort()).toEqual(expect.arrayContaining([DIRECTION.stopped, DIRECTION.up, DIRECTION.down]));
    expect([...doors].sort()).toEqual([DOOR.closed, DOOR.opened, DOOR.closing, DOOR.opening].sort());
  });

  it('entrapment: between floors, doors closed, occupied, not in service, code 8, alarm button after 5 s; clear levels and lets them out', () => {
    const l = lift(3, at('08:00'));
    let t = at('08:00');
    for (; t < at('08:10'); t += 1000) l.step(t);
    l.inject('entrapment', {}, t);
    l.step((t += 1000));
    const v = values(l.image, LIFT_CONTROLLER_MAP);
    expect(v).toMatchObject({ door_zone: 0, door_status: DOOR.closed, direction: DIRECTION.stopped, in_service: 0, fault_code: LIFT_FAULT.outsideLandingZone, alarm_button: 0 });
    expect(v.load).toBeGreaterThan(5);
    expect(Math.abs(v.car_position! / 3.6 - Math.round(v.car_position! / 3.6))).toBeGreaterThan(0.1);
    for (let i = 0; i < 6; i++) l.step((t += 1000));
    expect(l.image.get('alarm_button')).toBe(1);
    l.clear('entrapment');
    for (let i = 0; i < 30 && l.image.get('door_status') !== DOOR.opened; i++) l.step((t += 1000));
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ door_zone: 1, door_status: DOOR.opened, alarm_button: 0, fault_code: 0, in_service: 1 });
  });

  it('door fault: the doors reopen again and again, code 6, the car stays', () => {
    const l = lift(4, at('10:00'));
    let t = at('10:00');
    l.inject('door-fault', {}, t);
    const doors: number[] = [];
    for (let i = 0; i < 120; i++) {
      l.step((t += 1000));
      doors.push(l.image.get('door_status'));
    }
    const reopen = doors.filter((d, i) => d === DOOR.opening && doors[i - 1] === DOOR.closing).length;
    expect(reopen).toBeGreaterThanOrEqual(3);
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ fault_code: LIFT_FAULT.doorClosing, in_service: 0 });
  });

  it('levelling error: stops end off the landing (holding 10); beyond the door zone the doors stay shut with code 8', () => {
    const l = lift(5, at('08:00'));
    let t = at('08:00');
    l.inject('levelling-error', { mm: 40 }, t);
    const errors: number[] = [];
    const trips = l.trips;
    for (let i = 0; i < 900; i++) {
      l.step((t += 1000));
      // Stops made after the injection.
      if (l.trips > trips && l.image.get('door_status') === DOOR.opened) errors.push(Math.abs(l.image.get('levelling_error')));
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(Math.min(...errors)).toBeGreaterThan(20);
    l.inject('levelling-error', { mm: 200 }, t);
    for (let i = 0; i < 900 && l.phase !== 'stuck'; i++) l.step((t += 1000));
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ fault_code: LIFT_FAULT.outsideLandingZone, door_zone: 0, door_status: DOOR.closed });
  });

  it('motor overheat: the winding passes 100 °C within an hour, the drive trips (code 15), the car parks doors open; it resets once cool', () => {
    const l = lift(6, at('10:00'));
    let t = at('10:00');
    l.inject('motor-overheat', {}, t);
    for (let i = 0; i < 60; i++) l.step((t += 60_000));
    expect(l.image.get('motor_temp')).toBeGreaterThan(100);
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ fault_code: LIFT_FAULT.driveOverTemperature, in_service: 0 });
    l.clear('motor-overheat');
    for (let i = 0; i < 90; i++) l.step((t += 60_000));
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ fault_code: 0, in_service: 1 });
  });

  it('out of service: car mode 12, no trips; fire recall sends the car to the lobby (mode 11, or 6 for the fire-fighters\' lift)', () => {
    const l = lift(8, at('08:00'));
    let t = at('08:00');
    l.inject('out-of-service', {}, t);
    for (let i = 0; i < 60; i++) l.step((t += 1000));
    const trips = l.trips;
    for (let i = 0; i < 600; i++) l.step((t += 1000));
    expect(l.trips).toBe(trips);
    expect(values(l.image, LIFT_CONTROLLER_MAP)).toMatchObject({ car_mode: CAR_MODE.outOfService, in_service: 0, door_status: DOOR.closed });
    for (const [ff, mode] of [[false, CAR_MODE.fire], [true, CAR_MODE.firefighter]] as const) {
      const r = lift(9, at('09:00'), ff);
      let u = at('09:00');
      for (let i = 0; i < 30; i++) r.step((u += 1000));
      r.bank.writeCoils(0, [true]);
      for (let i = 0; i < 90; i++) r.step((u += 1000));
      expect(values(r.image, LIFT_CONTROLLER_MAP)).toMatchObject({ car_mode: mode, car_floor: 2, door_status: DOOR.opened, in_service: 0 });
    }
  });
});
