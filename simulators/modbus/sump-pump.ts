/**
 * The `sump-pump` model: a submersible drainage pump in a pit of the B2 pump room, its controller's
 * level transmitter, high-level float and the pump room's water-leak (flood) sensor. The register
 * map imitates a pump-station controller such as Xylem's Flygt MultiSmart (level, pump run, run
 * hours, starts, alarms; addresses are ours, unverified).
 */
import type { ModbusDevice } from '@vigil/model';
import type { FaultParams, SimulatorModel } from '../device.ts';
import { Noise } from '../prng.ts';
import { RegisterImage, RegisterMap } from './register-map.ts';
import { FaultBook, NO_RESPONSE, type FaultDefinition } from './faults.ts';
import { ModelTime, SiteClock, dailyCurve } from './time.ts';
import { serveModbus } from './serve.ts';

export const SUMP_PUMP_MODEL = 'sump-pump';

export const SUMP_FAULT_CODES = { none: 0, failsToStart: 1, highLevel: 2, flooding: 3 } as const;

export const SUMP_PUMP_MAP = new RegisterMap(
  [
    { point: 'auto', table: 'coil', address: 0, type: 'bool', meaning: 'auto mode: 1 = the controller runs the pump on level, 0 = off', write: '0 or 1', tags: ['enable', 'cmd'] },
    { point: 'running', table: 'discrete', address: 0, type: 'bool', meaning: 'pump running (run feedback)', tags: ['run', 'sensor'] },
    { point: 'high_level', table: 'discrete', address: 1, type: 'bool', meaning: 'high-level float: 1 = water above 1.10 m', tags: ['level', 'alarm', 'sensor'] },
    { point: 'water_leak', table: 'discrete', address: 2, type: 'bool', meaning: 'water-leak sensor on the pump-room floor: 1 = wet (the pit overflowed)', tags: ['leak', 'water', 'sensor'] },
    { point: 'fault', table: 'discrete', address: 3, type: 'bool', meaning: 'fault present (fault code ≠ 0)', tags: ['fault', 'sensor'] },
    { point: 'level', table: 'holding', address: 0, type: 'uint16', scale: 0.001, unit: 'm', meaning: 'pit water level above the pit floor (pit 1.50 m deep)', tags: ['level', 'sensor'], deadband: 0.01, range: [0.2, 1.05] },
    { point: 'motor_current', table: 'holding', address: 1, type: 'uint16', scale: 0.1, unit: 'A', meaning: 'motor current', tags: ['elec', 'current', 'sensor'], deadband: 0.2, range: [0, 8] },
    {
      point: 'fault_code',
      table: 'holding',
      address: 2,
      type: 'uint16',
      meaning: 'fault code (the most severe condition)',
      states: { 0: 'none', 1: 'pump fails to start', 2: 'high level', 3: 'pump-room flooding' },
      tags: ['fault', 'sensor'],
    },
    { point: 'starts', table: 'holding', address: 3, type: 'uint16', meaning: 'starts counter (wraps at 65536)', tags: ['starts', 'sensor'], range: [0, 65535] },
    { point: 'run_hours', table: 'holding', address: 4, type: 'uint32', scale: 0.01, unit: 'h', meaning: 'run hours', tags: ['run', 'hours', 'sensor'], deadband: 0.1, range: [0, 100_000] },
  ],
  { coils: 4, discreteInputs: 8, holdingRegisters: 8, inputRegisters: 8 },
);

/** Pit geometry and control levels (unverified, plausible). */
const PIT_AREA_M2 = 2.5;
const PIT_DEPTH_M = 1.5;
const START_LEVEL_M = 0.8;
const STOP_LEVEL_M = 0.3;
const HIGH_FLOAT_M = 1.1;
/** A 3 kW submersible drainage pump: 12 m³/h, about 6.5 A at 400 V. */
const PUMP_FLOW_M3H = 12;
const RUN_CURRENT_A = 6.5;
/** The controller reports "fails to start" when a start gets no run feedback within this time. */
const START_TIMEOUT_S = 5;
/** The floor sensor stays wet this long after the overflow stops (the floor drains slowly). */
const FLOOR_DRY_S = 600;
/** Seepage and car-park drainage into the pit, m³/h, by hour of site time (unverified). */
const INFLOW = dailyCurve([
  [0, 0.35],
  [7, 0.4],
  [10, 0.6],
  [16, 0.6],
  [20, 0.45],
]);

const FAULTS: FaultDefinition[] = [
  {
    name: 'high-water',
    description:
      'Pump-room flooding: inflow rises to `inflow` m³/h, more than the pump can remove (12 m³/h). The level climbs past the high-level float (1.10 m, discrete input 1, fault code 2) and at 1.50 m overflows: the floor leak sensor (discrete input 2) goes wet, fault code 3.',
    params: { inflow: { min: 0, max: 200, default: 30, description: 'inflow, m³/h' } },
  },
  {
    name: 'pump-fails',
    description:
      'The pump does not start: when the level calls for it, no run feedback and no current; after 5 s fault code 1. The level keeps rising with the inflow (to the float, then the overflow, in hours of simulated time).',
  },
  NO_RESPONSE,
];

export class SumpPump {
  readonly image = new RegisterImage(SUMP_PUMP_MAP);
  readonly book = new FaultBook(SUMP_PUMP_MODEL, FAULTS);
  private readonly noise: Noise;
  private readonly time: ModelTime;
  private readonly siteClock: SiteClock;
  auto = true;
  running = false;
  /** The controller asks the pump to run (level reached the start level). */
  calling = false;
  level: number;
  private calledS = 0;
  private failedToStart = false;
  private wetS = 0;
  private walk = 1;
  private starts: number;
  private runHours: number;
  private current = 0;
  private levelReading = 0;

  constructor(opts: { seed: number; timeZone: string; start: number }) {
    this.noise = new Noise(opts.seed);
    this.time = new ModelTime(opts.start, 1000);
    this.siteClock = new SiteClock(opts.timeZone);
    this.level = STOP_LEVEL_M + this.noise.unit() * 0.4;
    this.levelReading = this.level;
    this.starts = 2000 + Math.floor(this.noise.unit() * 500);
    this.runHours = 1500 + this.noise.unit() * 200;
    this.image.bank.coils[0] = true;
    this.image.onWrite = (point, value) => {
      if (point !== 'auto') return;
      this.auto = value === 1;
      if (!this.auto) {
        this.running = false;
        this.calling = false;
      }
      this.publish();
    };
    this.publish();
  }

  get bank() {
    return this.image.bank;
  }
  get unresponsive(): boolean {
    return this.book.has('no-response');
  }
  get flooded(): boolean {
    return this.wetS > 0;
  }
  get faultCode(): number {
    if (this.flooded) return SUMP_FAULT_CODES.flooding;
    if (this.level >= HIGH_FLOAT_M) return SUMP_FAULT_CODES.highLevel;
    if (this.failedToStart) return SUMP_FAULT_CODES.failsToStart;
    return SUMP_FAULT_CODES.none;
  }

  faults() {
    return this.book.list();
  }
  inject(fault: string, params: FaultParams | undefined, now: number): void {
    this.book.inject(fault, params, now);
    this.publish();
  }
  clear(fault: string): void {
    this.book.clear(fault);
    if (fault === 'pump-fails') this.failedToStart = false;
    this.publish();
  }

  step(now: number): void {
    const before = this.time.t;
    this.time.advance(now, (t, dt) => this.tick(t, dt));
    if (this.time.t !== before) this.publish();
  }

  private tick(t: number, dt: number): void {
    const n = this.noise;
    this.walk += (1 - this.walk) * (dt / 1800) + n.plusMinus(0.01) * Math.sqrt(dt);
    this.walk = Math.max(0.5, Math.min(1.8, this.walk));
    const inflow = this.book.has('high-water') ? this.book.param('high-water', 'inflow') : INFLOW(this.siteClock.hourOfDay(t)) * this.walk;
    // Level control: start at 0.80 m, stop at 0.30 m.
    if (this.auto && this.level >= START_LEVEL_M) this.calling = true;
    if (this.level <= STOP_LEVEL_M) this.calling = false;
    const wasRunning = this.running;
    this.running = this.calling && !this.book.has('pump-fails');
    if (this.running && !wasRunning) this.starts++;
    this.calledS = this.calling && !this.running ? this.calledS + dt : 0;
    if (this.calledS >= START_TIMEOUT_S) this.failedToStart = true;
    const outflow = this.running ? PUMP_FLOW_M3H * (1 + n.plusMinus(0.03)) : 0;
    const level = this.level + ((inflow - outflow) / 3600 / PIT_AREA_M2) * dt;
    // Above the rim the water spills onto the pump-room floor.
    this.level = Math.max(0.05, Math.min(PIT_DEPTH_M, level));
    this.wetS = level >= PIT_DEPTH_M ? FLOOR_DRY_S : Math.max(0, this.wetS - dt);
    if (this.running) this.runHours += dt / 3600;
    this.current = this.running ? RUN_CURRENT_A * (1 + n.plusMinus(0.03)) : 0;
    // The transmitter reads ±5 mm.
    this.levelReading = Math.max(0, this.level + n.plusMinus(0.005));
  }

  private publish(): void {
    const img = this.image;
    const code = this.faultCode;
    img.set('running', this.running);
    img.set('high_level', this.level >= HIGH_FLOAT_M);
    img.set('water_leak', this.flooded);
    img.set('fault', code !== 0);
    img.set('level', this.levelReading);
    img.set('motor_current', this.current);
    img.set('fault_code', code);
    img.set('starts', this.starts % 65536);
    img.set('run_hours', this.runHours);
    img.commit();
  }
}

export const sumpPumpModel: SimulatorModel<ModbusDevice> = {
  name: SUMP_PUMP_MODEL,
  protocol: 'modbus-tcp',
  description: 'A sump (drainage) pump controller in the pump room: pit level, high-level float, floor leak sensor (Flygt MultiSmart-like register map)',
  reference: () =>
    [
      'Imitates a pump-station controller such as Xylem\'s Flygt MultiSmart (level, run feedback, run hours, starts, alarms; addresses are ours, unverified). No params.',
      '',
      SUMP_PUMP_MAP.markdown(),
      '',
      'Behaviour (plausible, unverified): a 2.5 m² pit, 1.50 m deep; seepage and drainage flow in at 0.35–0.6 m³/h (site time of day, slow random walk); in auto the pump (12 m³/h, 6.5 A) starts at 0.80 m and stops at 0.30 m, a few starts an hour. Coil 0 = 0 (off) stops it and lets the pit fill.',
      '',
      new FaultBook(SUMP_PUMP_MODEL, FAULTS).markdown(),
    ].join('\n'),
  async start(ctx) {
    const pump = new SumpPump({ seed: ctx.seed, timeZone: ctx.site.site.timezone, start: ctx.clock.now() });
    return serveModbus(SUMP_PUMP_MODEL, ctx, pump);
  },
};
