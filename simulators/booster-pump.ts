/**
 * The `booster-pump` model: a domestic-water booster set of variable-speed pumps (Grundfos Hydro
 * MPC-like) and each pump's drive as one Modbus device. The set holds the discharge header at a
 * set point against a daily demand pattern: cascade on pressure, at most all-but-one running with
 * one standby, on/off at very low flow, changeover by run hours (DOMAIN.md "Booster-set control").
 * Every pump's drive serves BOOSTER_PUMP_MAP; the three demo drives share one BoosterSet.
 */
import { Noise } from './prng.ts';
import { ModbusException, ModbusExceptionCode } from './register-bank.ts';
import type { FaultParams } from './device.ts';
import { RegisterImage, RegisterMap } from './modbus/register-map.ts';
import { FaultBook, NO_RESPONSE, type FaultDefinition } from './modbus/faults.ts';
import { ModelTime, SiteClock, dailyCurve, settle } from './modbus/time.ts';

export const BOOSTER_PUMP_MODEL = 'booster-pump';
export { TICK_MS } from './device.ts';

/**
 * Values of the fault-code register, after Grundfos's alarm codes (unverified): 48 overload,
 * 57 dry running, 208 cavitation. A stuck sensor and bearing wear raise no code: finding them is
 * the detectors' job (flatline, vibration zones).
 */
export const FAULT_CODES = { none: 0, motorOverload: 48, dryRun: 57, cavitation: 208 } as const;
/** The pump's place in the set (holding 14). */
export const SET_ROLES = { standby: 0, duty: 1, assist: 2, stopped: 3, tripped: 4 } as const;
type Role = keyof typeof SET_ROLES;

/** 0-based protocol addresses. Holding 0–5, DI 0–1 and coil 0 are the walking skeleton's and stay put. */
export const BOOSTER_PUMP_MAP = new RegisterMap(
  [
    { point: 'run_cmd', table: 'coil', address: 0, type: 'bool', meaning: 'run command: 1 = auto (the set may run it), 0 = stop at once and leave the rotation', write: '0 or 1', tags: ['run', 'cmd'] },
    { point: 'running', table: 'discrete', address: 0, type: 'bool', meaning: 'running', tags: ['run', 'sensor'] },
    { point: 'fault', table: 'discrete', address: 1, type: 'bool', meaning: 'fault present (fault code ≠ 0)', tags: ['fault', 'sensor'] },
    { point: 'speed', table: 'holding', address: 0, type: 'uint16', scale: 0.01, unit: '%', meaning: 'drive speed', tags: ['speed', 'sensor'], deadband: 0.5, range: [0, 100] },
    { point: 'motor_current', table: 'holding', address: 1, type: 'uint16', scale: 0.1, unit: 'A', meaning: 'motor current', tags: ['elec', 'current', 'sensor'], deadband: 0.2, range: [0, 25] },
    { point: 'discharge_pressure', table: 'holding', address: 2, type: 'float32', unit: 'MPa', meaning: 'discharge header pressure, from the drive\'s own transmitter', tags: ['discharge', 'pressure', 'sensor'], deadband: 0.005, range: [0.05, 0.9] },
    {
      point: 'fault_code',
      table: 'holding',
      address: 4,
      type: 'uint16',
      meaning: 'fault code (Grundfos-like, unverified)',
      states: { 0: 'none', 48: 'motor overload', 57: 'dry running', 208: 'cavitation' },
      tags: ['fault', 'sensor'],
    },
    { point: 'pressure_sp', table: 'holding', address: 5, type: 'uint16', scale: 0.001, unit: 'MPa', meaning: 'discharge-pressure set point of the whole set (raw kPa)', write: '100–1600 kPa, else exception 3', tags: ['discharge', 'pressure', 'sp'], range: [0.1, 1.6] },
    { point: 'suction_pressure', table: 'holding', address: 6, type: 'int16', scale: 0.0001, unit: 'MPa', meaning: 'suction (inlet) pressure from the break tank', tags: ['suction', 'pressure', 'sensor'], deadband: 0.002, range: [-0.01, 0.06] },
    { point: 'flow', table: 'holding', address: 7, type: 'uint16', scale: 0.1, unit: 'm³/h', meaning: 'the pump\'s flow', tags: ['water', 'flow', 'sensor'], deadband: 0.2, range: [0, 16] },
    { point: 'vibration', table: 'holding', address: 8, type: 'uint16', scale: 0.01, unit: 'mm/s', meaning: 'bearing-housing vibration velocity, RMS (ISO 10816-1 class I zones A/B 0.71, B/C 1.8, C/D 4.5)', tags: ['vibration', 'sensor'], deadband: 0.1, range: [0, 1.8] },
    { point: 'bearing_temp', table: 'holding', address: 9, type: 'int16', scale: 0.1, unit: '°C', meaning: 'drive-end bearing temperature', tags: ['bearing', 'temp', 'sensor'], deadband: 0.5, range: [15, 60] },
    { point: 'run_hours', table: 'holding', address: 10, type: 'uint32', scale: 0.01, unit: 'h', meaning: 'run hours', tags: ['run', 'hours', 'sensor'], deadband: 0.1, range: [10_000, 20_000] },
    { point: 'starts', table: 'holding', address: 12, type: 'uint32', meaning: 'starts counter', tags: ['starts', 'sensor'], range: [0, 1e6] },
    { point: 'set_role', table: 'holding', address: 14, type: 'uint16', meaning: 'role in the set', states: { 0: 'standby', 1: 'duty', 2: 'assist', 3: 'stopped', 4: 'tripped' }, tags: ['sensor'] },
  ],
  { coils: 8, discreteInputs: 8, holdingRegisters: 16, inputRegisters: 16 },
);

/** Set point of the high zone of a 20-storey tower: DOMAIN.md "Pumps", derived, unverified. */
const DEFAULT_SET_POINT_MPA = 0.8;
/** Head with no pump running and the diaphragm tank empty (unverified, plausible for a break-tank-fed set). */
const STATIC_PRESSURE_MPA = 0.1;
/** Break-tank head at the pump inlets (DOMAIN.md: 0–0.05 MPa, derived). */
const SUCTION_MPA = 0.03;
/** Pump curve at full speed, H = H0·s² − K·q² (affinity laws): 1.40 MPa shut-off, 0.77 MPa at 12 m³/h. */
const SHUT_OFF_HEAD_MPA = 1.4;
const CURVE_K = 0.004375; // MPa per (m³/h)²
const RATED_FLOW_M3H = 12;
/** Full-load current of a ~11 kW motor at 400 V; current ≈ FLA × (0.25 + 0.75 s³). */
const FULL_LOAD_CURRENT_A = 22;

/** Cascade (Grundfos Hydro MPC manual, values unverified): start/stop interval, low-flow on/off. */
const MIN_INTERVAL_S = 10;
const MIN_RUN_S = 30;
const LOW_FLOW_M3H = 1;
/** At low flow the last pump boosts this far above the set point, stops, and restarts this far below it. */
const STOP_BOOST_MPA = 0.03;
const RESTART_DROP_MPA = 0.05;
/**
 * With no pump running the diaphragm tank supplies the demand: the header falls this fast per m³/h,
 * and 20 times faster once the tank is empty (0.15 MPa below the set point). Unverified.
 */
const TANK_DECAY_MPA_PER_M3H_S = 0.0004;
const TANK_EMPTY_BELOW_SP_MPA = 0.15;
/** A running pump is relieved by a resting one once it has this many more run hours. */
const CHANGEOVER_LEAD_H = 6;

/** Domestic demand of the high zone, m³/h by hour of site time: morning and evening peaks (unverified). */
const DEMAND = dailyCurve([
  [0, 0.6],
  [5, 0.5],
  [6, 3],
  [7.5, 16],
  [8.5, 14],
  [10, 7],
  [12, 10],
  [13.5, 8],
  [17, 8],
  [19.5, 17],
  [21, 12],
  [23, 3],
]);

/** Cavitation (DOMAIN.md "Fault signatures"): lost head, fluctuating pressure and current. */
const CAVITATION_PRESSURE_MPA = 0.45;
const CAVITATION_SWING_MPA = 0.08;
const CAVITATION_PERIOD_S = 0.6;
const CAVITATION_CURRENT_SWING = 0.15;
/** Dry running trips after 5 s of low inlet pressure (DOMAIN.md "Booster-set control"). */
const DRY_RUN_TRIP_S = 5;
/** Motor overload: current climbs to 1.3 × FLA, the overload relay trips after 6 s (unverified). */
const OVERLOAD_TRIP_S = 6;
const OVERLOAD_CURRENT = 1.3 * FULL_LOAD_CURRENT_A;
/** Bearing temperatures (DOMAIN.md "Bearing temperature": alarm at 75–80 °C). */
const PLANT_ROOM_C = 28;
const BEARING_RISE_K = 17;
const WORN_BEARING_RISE_K = 35;

export const BOOSTER_PUMP_FAULTS: readonly FaultDefinition[] = [
  {
    name: 'cavitation',
    description:
      'Suction starved (DOMAIN.md "Fault signatures"): while the pump runs, discharge pressure falls to about 0.45 MPa and oscillates (±0.08 MPa, 0.6 s period), motor current fluctuates ±15 %, vibration rises by up to 2 mm/s; fault code 208 at once.',
    params: { severity: { min: 0, max: 1, default: 1, description: 'scales the drop and the swings' } },
  },
  {
    name: 'bearing-wear',
    description:
      'Vibration climbs from about 1 mm/s to `peak` over `hours` of simulated time (a slow ramp with noise, through ISO 10816-1 class I zones B, C and D) and the bearing temperature with it (up to +35 K); no fault code. Visible while the pump runs.',
    params: {
      hours: { min: 0, max: 720, default: 24, description: 'simulated hours to reach the peak' },
      peak: { min: 1, max: 20, default: 7.1, description: 'vibration at the end of the ramp, mm/s' },
    },
  },
  {
    name: 'dry-run',
    description: 'The pump\'s inlet runs dry: suction pressure about −0.005 MPa; a running pump trips after 5 s (fault code 57, stops; the set starts the next pump). Latches until cleared.',
  },
  {
    name: 'motor-overload-trip',
    description: 'While running, motor current climbs to 1.3 × full load (28.6 A) and the overload relay trips after 6 s: fault code 48, the pump stops and the set starts the next. Latches until cleared.',
  },
  {
    name: 'stuck-pressure-sensor',
    description: 'The drive\'s discharge-pressure transmitter freezes: holding 2–3 keep the value they had at injection, bit for bit (a flatline), while the real pressure moves on. No fault code.',
  },
  NO_RESPONSE,
];

export interface BoosterSetOptions {
  /** Seeds the demand noise. */
  seed: number;
  /** The site's IANA time zone: demand follows the local time of day. */
  timeZone: string;
  /** Simulated time the set starts at, ms since the epoch. */
  start: number;
}

/** One pump of the set and its drive's registers. */
export class BoosterPump {
  readonly model = BOOSTER_PUMP_MODEL;
  readonly image = new RegisterImage(BOOSTER_PUMP_MAP);
  readonly book = new FaultBook(BOOSTER_PUMP_MODEL, BOOSTER_PUMP_FAULTS);
  private readonly noise: Noise;
  /** Run command (coil 0): the set may run this pump. */
  enabled = true;
  running = false;
  /** Latched trip code (dry run, overload) until the fault is cleared. */
  tripCode = 0;
  runHours: number;
  starts: number;
  /** Seconds since this pump last started. */
  runS = 0;
  role: Role = 'standby';
  speed = 0;
  current = 0;
  flow = 0;
  suction = SUCTION_MPA;
  vibration = 0.05;
  bearingTemp = PLANT_ROOM_C + 5;
  /** Healthy vibration of this pump at full speed, mm/s. */
  private readonly vibrationBase: number;
  /** 0 = healthy, 1 = full cavitation; eases in and out. */
  cavitation = 0;
  private lowSuctionS = 0;
  private overloadS = 0;
  private speedTrim = 0;
  private reading = DEFAULT_SET_POINT_MPA;
  private stuckReading: number | null = null;

  constructor(
    readonly set: BoosterSet,
    seed: number,
    index: number,
  ) {
    this.noise = new Noise(seed);
    // Staggered run hours: the first pump of the set is the least used, so it is duty at start.
    this.runHours = 12_000 + 2 * index + this.noise.unit() * 0.5;
    this.starts = 3000 + index * 150 + Math.floor(this.noise.unit() * 100);
    this.vibrationBase = 0.95 + this.noise.unit() * 0.25;
    this.image.bank.coils[0] = true;
    this.image.onWrite = (point, value) => this.onMasterWrite(point, value);
  }

  get bank() {
    return this.image.bank;
  }

  get unresponsive(): boolean {
    return this.book.has('no-response');
  }

  get available(): boolean {
    return this.enabled && this.tripCode === 0;
  }

  get faultCode(): number {
    if (this.tripCode) return this.tripCode;
    return this.book.has('cavitation') ? FAULT_CODES.cavitation : FAULT_CODES.none;
  }

  faults() {
    return this.book.list();
  }

  inject(fault: string, params: FaultParams | undefined, now: number): void {
    this.book.inject(fault, params, now);
    if (fault === 'stuck-pressure-sensor' && this.stuckReading === null) this.stuckReading = this.reading;
    this.publish();
  }

  clear(fault: string, _now?: number): void {
    this.book.clear(fault);
    if (fault === 'stuck-pressure-sensor') this.stuckReading = null;
    // Clearing the cause resets the latched trip (a remote reset on the drive).
    if ((fault === 'dry-run' && this.tripCode === FAULT_CODES.dryRun) || (fault === 'motor-overload-trip' && this.tripCode === FAULT_CODES.motorOverload)) this.tripCode = 0;
    this.publish();
  }

  /** Advances the whole set to `now` (the first of its drives to step in a tick does it). */
  step(now: number): void {
    this.set.advance(now);
  }

  /** Called once the pump has left its set (the device closed). */
  onClose?: () => void;

  close(): void {
    this.set.leave(this);
    this.onClose?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.runS = 0;
    this.starts++;
  }

  stop(): void {
    this.running = false;
    this.role = 'standby';
    this.speed = 0;
    this.current = 0;
    this.flow = 0;
  }

  /** One quantum of this pump's physics, given the set's header state. */
  tick(t: number, dt: number, header: { pressure: number; speed: number; flowPerPump: number }): void {
    const n = this.noise;
    const cav = this.book.get('cavitation');
    const cavTarget = cav && this.running ? (cav.params.severity ?? 1) : 0;
    this.cavitation += (cavTarget - this.cavitation) * settle(dt, 0.3);
    this.suction = this.book.has('dry-run') ? -0.005 + n.plusMinus(0.001) : SUCTION_MPA - 0.0005 * header.flowPerPump + n.plusMinus(0.002);

    if (this.running) {
      this.runS += dt;
      this.runHours += dt / 3600;
      // The drive trims around the set's common speed (a little noise, mean-reverting).
      this.speedTrim += -this.speedTrim * settle(dt, 5) + n.plusMinus(0.003) * Math.sqrt(dt / 0.25);
      this.speedTrim = Math.max(-0.02, Math.min(0.02, this.speedTrim));
      this.speed = Math.min(1, Math.max(0, header.speed + this.speedTrim));
      this.flow = Math.max(0, header.flowPerPump * (1 + n.plusMinus(0.02)));
      const fluctuation = 1 + this.cavitation * (CAVITATION_CURRENT_SWING * 0.7 * Math.sin((2 * Math.PI * t) / 900) + n.plusMinus(CAVITATION_CURRENT_SWING * 0.3));
      let current = FULL_LOAD_CURRENT_A * (0.25 + 0.75 * this.speed ** 3) * fluctuation * (1 + n.plusMinus(0.01));
      if (this.book.has('motor-overload-trip')) {
        this.overloadS += dt;
        current += (OVERLOAD_CURRENT - current) * Math.min(1, this.overloadS / OVERLOAD_TRIP_S);
        if (this.overloadS >= OVERLOAD_TRIP_S) this.trip(FAULT_CODES.motorOverload);
      }
      this.current = current;
      this.lowSuctionS = this.suction < 0.005 ? this.lowSuctionS + dt : 0;
      if (this.lowSuctionS >= DRY_RUN_TRIP_S) this.trip(FAULT_CODES.dryRun);
    }
    if (!this.running) {
      this.speed = 0;
      this.current = 0;
      this.flow = 0;
      this.overloadS = 0;
      this.lowSuctionS = 0;
    }

    // Vibration (ISO 10816-1 class I): healthy in zone B; wear ramps it up, cavitation adds broadband noise.
    const wear = this.book.get('bearing-wear');
    const worn = wear ? Math.min(1, (t - wear.since) / 3_600_000 / (wear.params.hours ?? 24)) : 0;
    if (this.running) {
      const healthy = this.vibrationBase * (0.7 + 0.3 * this.speed);
      const peak = wear?.params.peak ?? 7.1;
      const wearPart = worn > 0 ? (peak - healthy) * worn ** 2 * (1 + n.plusMinus(0.12)) : 0;
      this.vibration = Math.max(0, healthy * (1 + n.plusMinus(0.05)) + wearPart + this.cavitation * 2 * n.unit());
    } else {
      // Transmitted from the running neighbours.
      this.vibration = 0.05 + n.unit() * 0.03;
    }
    const bearingTarget = this.running ? PLANT_ROOM_C + BEARING_RISE_K * this.speed ** 2 + WORN_BEARING_RISE_K * worn ** 2 : PLANT_ROOM_C;
    this.bearingTemp += (bearingTarget - this.bearingTemp) * settle(dt, this.running ? 600 : 1800);

    const swing = CAVITATION_SWING_MPA * this.cavitation * Math.sin((2 * Math.PI * t) / 1000 / CAVITATION_PERIOD_S);
    this.reading = header.pressure + swing + n.plusMinus(0.01);
  }

  private trip(code: number): void {
    this.tripCode = code;
    this.stop();
    this.role = 'tripped';
  }

  /** Writes the current state into the registers. */
  publish(): void {
    const img = this.image;
    const code = this.faultCode;
    img.set('running', this.running);
    img.set('fault', code !== 0);
    img.set('speed', this.speed * 100);
    img.set('motor_current', this.current);
    img.set('discharge_pressure', this.stuckReading ?? this.reading);
    img.set('fault_code', code);
    img.set('pressure_sp', this.set.setPoint);
    img.set('suction_pressure', this.suction);
    img.set('flow', this.flow);
    img.set('vibration', this.vibration);
    img.set('bearing_temp', this.bearingTemp);
    img.set('run_hours', this.runHours);
    img.set('starts', this.starts);
    img.set('set_role', SET_ROLES[this.tripCode ? 'tripped' : !this.enabled ? 'stopped' : this.role]);
    img.commit();
  }

  private onMasterWrite(point: string, value: number): void {
    if (point === 'run_cmd') {
      this.enabled = value === 1;
      // A stop command takes effect at once, so a read right after the write sees the pump stopped.
      if (!this.enabled) this.stop();
      this.set.publishAll();
    } else if (point === 'pressure_sp') {
      if (value < 0.1 - 1e-9 || value > 1.6 + 1e-9) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `set point ${Math.round(value * 1000)} kPa outside 100-1600`);
      this.set.setPoint = value;
      this.set.publishAll();
    }
  }
}

/** The set: demand, cascade control and the common discharge header. */
/** Model time run through before the first step (a set settles within a minute: MIN_INTERVAL_S per pump). */
const WARM_UP_MS = 120_000;

export class BoosterSet {
  readonly pumps: BoosterPump[] = [];
  setPoint = DEFAULT_SET_POINT_MPA;
  /** Header pressure, MPa. */
  pressure = DEFAULT_SET_POINT_MPA;
  /** Demand, m³/h. */
  demand = 0;
  private readonly time: ModelTime;
  private readonly siteClock: SiteClock;
  private readonly noise: Noise;
  private demandWalk = 1;
  private warmedUp = false;
  private sinceChangeS = Infinity;
  private shortS = 0;
  private slackS = 0;
  private added = 0;

  constructor(readonly opts: BoosterSetOptions) {
    // 250 ms quanta: cavitation swings with a 0.6 s period.
    this.time = new ModelTime(opts.start, 250);
    this.siteClock = new SiteClock(opts.timeZone);
    this.noise = new Noise(opts.seed);
  }

  /** Adds a pump (a drive) to the set. */
  addPump(seed: number): BoosterPump {
    const pump = new BoosterPump(this, seed, this.added++);
    this.pumps.push(pump);
    pump.publish();
    return pump;
  }

  leave(pump: BoosterPump): void {
    const i = this.pumps.indexOf(pump);
    if (i >= 0) this.pumps.splice(i, 1);
  }

  /** Simulated time reached, ms. */
  get now(): number {
    return this.time.t;
  }

  /** A 3-pump set with one standby runs at most 2 (DOMAIN.md "Booster-set control"). */
  get maxRunning(): number {
    return Math.max(1, this.pumps.length - 1);
  }

  advance(now: number): void {
    if (!this.warmedUp) {
      // The first step runs two minutes of model time that end at the start, so a set comes up
      // already cascaded to the hour's demand instead of showing every simulator start as a
      // pressure dip (and a low-pressure alarm).
      this.warmedUp = true;
      new ModelTime(this.time.t - WARM_UP_MS, this.time.quantumMs).advance(this.time.t, (t, dt) => this.tick(t, dt));
    }
    const before = this.time.t;
    this.time.advance(now, (t, dt) => this.tick(t, dt));
    // Registers are written once per step, not per quantum: a master sees the state at `now`.
    if (this.time.t !== before) this.publishAll();
  }

  publishAll(): void {
    for (const p of this.pumps) p.publish();
  }

  /** Speed each of `n` pumps needs to hold `head` MPa while sharing the demand (> 1: they cannot). */
  private requiredSpeed(n: number, head: number): number {
    if (n === 0) return Infinity;
    const q = this.demand / n;
    return Math.sqrt((head + CURVE_K * q * q) / SHUT_OFF_HEAD_MPA);
  }

  private tick(t: number, dt: number): void {
    const hour = this.siteClock.hourOfDay(t);
    // Demand: the daily pattern times a slow mean-reverting walk, plus flicker (taps open and close).
    this.demandWalk += (1 - this.demandWalk) * settle(dt, 600) + this.noise.plusMinus(0.01) * Math.sqrt(dt);
    this.demandWalk = Math.max(0.6, Math.min(1.4, this.demandWalk));
    this.demand = Math.max(0, DEMAND(hour) * this.demandWalk * (1 + this.noise.plusMinus(0.04)));
    this.control(dt);

    const running = this.pumps.filter((p) => p.running);
    const n = running.length;
    const lowFlowStop = n === 1 && this.demand < LOW_FLOW_M3H && running[0]!.runS >= MIN_RUN_S;
    const target = this.setPoint + (lowFlowStop ? STOP_BOOST_MPA : 0);
    let speed = 0;
    if (n > 0) {
      const need = this.requiredSpeed(n, target - SUCTION_MPA);
      speed = Math.min(1, need);
      const q = this.demand / n;
      // Held at the set point while the pumps can; at full speed the pump curve decides.
      let goal = need <= 1 ? target : SUCTION_MPA + SHUT_OFF_HEAD_MPA - CURVE_K * q * q;
      // A cavitating pump drags the header down with it (its eased cavitation level, 0–1).
      goal += (CAVITATION_PRESSURE_MPA - goal) * Math.max(0, ...running.map((p) => p.cavitation));
      this.pressure += (goal - this.pressure) * settle(dt, 0.3);
    } else if (this.pressure > STATIC_PRESSURE_MPA) {
      // The diaphragm tank feeds the demand until a pump restarts.
      const empty = this.pressure < this.setPoint - TANK_EMPTY_BELOW_SP_MPA ? 20 : 1;
      this.pressure = Math.max(STATIC_PRESSURE_MPA, this.pressure - Math.max(0.2, this.demand) * TANK_DECAY_MPA_PER_M3H_S * empty * dt);
    }
    const header = { pressure: this.pressure, speed, flowPerPump: n ? this.demand / n : 0 };
    for (const p of this.pumps) p.tick(t, dt, header);
    // The pump running longest is duty, the next one assist.
    running
      .filter((p) => p.running)
      .sort((a, b) => b.runS - a.runS)
      .forEach((p, i) => (p.role = i === 0 ? 'duty' : 'assist'));
  }

  /** Cascade on pressure with a minimum start/stop interval (DOMAIN.md "Booster-set control"). */
  private control(dt: number): void {
    for (const p of this.pumps) if (p.running && !p.available) p.stop();
    this.sinceChangeS += dt;
    const running = this.pumps.filter((p) => p.running);
    const idle = this.pumps.filter((p) => !p.running && p.available).sort((a, b) => a.runHours - b.runHours);
    const n = running.length;
    const head = this.setPoint - SUCTION_MPA;
    const change = (fn: () => void) => {
      fn();
      this.sinceChangeS = 0;
      this.shortS = 0;
      this.slackS = 0;
    };
    if (n === 0) {
      // Restart at once when the header sags or demand returns.
      if (idle[0] && (this.pressure < this.setPoint - RESTART_DROP_MPA || this.demand >= LOW_FLOW_M3H)) change(() => idle[0]!.start());
      return;
    }
    this.shortS = this.requiredSpeed(n, head) > 1 ? this.shortS + dt : 0;
    this.slackS = n >= 2 && this.requiredSpeed(n - 1, head) < 0.92 ? this.slackS + dt : 0;
    const settled = this.sinceChangeS >= MIN_INTERVAL_S;
    const longest = [...running].sort((a, b) => b.runHours - a.runHours)[0]!;
    if (this.shortS >= MIN_INTERVAL_S && settled && n < this.maxRunning && idle[0]) change(() => idle[0]!.start());
    else if (this.slackS >= MIN_INTERVAL_S && settled) change(() => running[running.length - 1]!.stop());
    else if (n === 1 && this.demand < LOW_FLOW_M3H && running[0]!.runS >= MIN_RUN_S && this.pressure >= this.setPoint + STOP_BOOST_MPA - 0.005) change(() => running[0]!.stop());
    else if (settled && idle[0] && longest.runHours - idle[0].runHours > CHANGEOVER_LEAD_H)
      // Changeover by run hours: the rested pump takes over from the most used one.
      change(() => {
        idle[0]!.start();
        longest.stop();
      });
  }
}
