/**
 * The `fire-pump` model: the controllers of a fire pump set (`params.role`: `jockey` or `main`) on
 * one fire main (`params.set`, default `fire`). The jockey holds the mains pressure between its
 * start and stop points; the main pump starts 5 psi below the jockey's start (DOMAIN.md "Fire
 * pumps", NFPA 25 / GB 50974). Register map after a fire-pump controller's Modbus option (e.g.
 * Eaton/Tornatech: pressure, run, starts, mode, alarms; addresses are ours, unverified).
 */
import type { ModbusDevice } from '@vigil/model';
import type { FaultParams, SimulatorModel } from '../device.ts';
import { SimError } from '../errors.ts';
import { ModbusException, ModbusExceptionCode } from '../register-bank.ts';
import { Noise } from '../prng.ts';
import { RegisterImage, RegisterMap } from './register-map.ts';
import { FaultBook, NO_RESPONSE, type FaultDefinition } from './faults.ts';
import { ModelTime, settle } from './time.ts';
import { serveModbus } from './serve.ts';
import { joinShared } from './shared.ts';

export const FIRE_PUMP_MODEL = 'fire-pump';
export type FirePumpRole = 'jockey' | 'main';
export const FIRE_PUMP_MODES = { off: 0, auto: 1, manual: 2 } as const;
export const FIRE_PUMP_FAULT_CODES = { none: 0, failedToStart: 1 } as const;

export const FIRE_PUMP_MAP = new RegisterMap(
  [
    { point: 'start_cmd', table: 'coil', address: 0, type: 'bool', meaning: 'remote start: 1 starts the pump (the weekly test run, GB 50974 §14.0.4), 0 stops a pump that is not called by pressure', write: '0 or 1', tags: ['run', 'cmd'] },
    { point: 'running', table: 'discrete', address: 0, type: 'bool', meaning: 'pump running', tags: ['run', 'sensor'] },
    { point: 'start_demand', table: 'discrete', address: 1, type: 'bool', meaning: 'pressure below this pump\'s start point (the controller calls it)', tags: ['pressure', 'alarm', 'sensor'] },
    { point: 'fault', table: 'discrete', address: 2, type: 'bool', meaning: 'fault present (fault code ≠ 0)', tags: ['fault', 'sensor'] },
    { point: 'pressure', table: 'holding', address: 0, type: 'uint16', scale: 0.001, unit: 'MPa', meaning: 'fire-main pressure at this controller\'s transducer (raw kPa)', tags: ['water', 'pressure', 'sensor'], deadband: 0.005, range: [0.78, 0.92] },
    { point: 'starts', table: 'holding', address: 1, type: 'uint16', meaning: 'starts counter (wraps at 65536)', tags: ['starts', 'sensor'], range: [0, 65535] },
    { point: 'mode', table: 'holding', address: 2, type: 'uint16', meaning: 'controller mode', states: { 0: 'off', 1: 'auto', 2: 'manual' }, write: '0 (off) or 1 (auto), else exception 3', tags: ['mode'] },
    { point: 'fault_code', table: 'holding', address: 3, type: 'uint16', meaning: 'fault code', states: { 0: 'none', 1: 'failed to start' }, tags: ['fault', 'sensor'] },
    { point: 'motor_current', table: 'holding', address: 4, type: 'uint16', scale: 0.1, unit: 'A', meaning: 'motor current (jockey 1.5 kW ≈ 3.5 A, main 75 kW ≈ 140 A)', tags: ['elec', 'current', 'sensor'], deadband: 0.5, range: [0, 160] },
    { point: 'start_pressure', table: 'holding', address: 5, type: 'uint16', scale: 0.001, unit: 'MPa', meaning: 'start point (raw kPa)', tags: ['pressure', 'sp'], range: [0.7, 0.9] },
    { point: 'stop_pressure', table: 'holding', address: 6, type: 'uint16', scale: 0.001, unit: 'MPa', meaning: 'stop point (raw kPa); 0 for the main pump, which is stopped by hand', tags: ['pressure', 'sp'], range: [0, 0.95] },
    { point: 'run_hours', table: 'holding', address: 7, type: 'uint32', scale: 0.01, unit: 'h', meaning: 'run hours', tags: ['run', 'hours', 'sensor'], deadband: 0.1, range: [0, 100_000] },
  ],
  { coils: 4, discreteInputs: 8, holdingRegisters: 12, inputRegisters: 12 },
);

/**
 * Pressures (DOMAIN.md "Fire pumps"): the jockey stops at churn + static and starts ≥ 10 psi
 * (0.069 MPa) lower; the main pump starts 5 psi (0.034 MPa) below the jockey's start. The
 * absolute values for a 20-storey tower are derived, unverified.
 */
const PSI = 0.006895; // MPa
const JOCKEY_STOP_MPA = 0.9;
const JOCKEY_START_MPA = JOCKEY_STOP_MPA - 10 * PSI;
const MAIN_START_MPA = JOCKEY_START_MPA - 5 * PSI;
/** Main pump churn pressure (no flow), held by its relief valve. */
const MAIN_CHURN_MPA = 1.0;
/** Normal leakage of a tight system: the jockey starts about once an hour (unverified). */
const NORMAL_LEAK_MPA_S = (10 * PSI) / 3600;
const JOCKEY_FILL_MPA_S = 0.012;
/** Time constant of the main pump bringing the main up to churn. */
const MAIN_RISE_S = 3;
/** A start that gives no run feedback within this time is "failed to start". */
const START_TIMEOUT_S = 10;
const CURRENT_A: Record<FirePumpRole, number> = { jockey: 3.5, main: 140 };

const FAULTS: Record<FirePumpRole, FaultDefinition[]> = {
  jockey: [
    {
      name: 'leak',
      description:
        'A leak on the fire main: pressure falls `rate` times faster than normal leakage (about 0.07 MPa an hour), so the jockey short-cycles — at the default 30, a start every 2 minutes (DOMAIN.md: more than 15 starts an hour mean a leak). A leak the jockey cannot match (rate above about 650) takes the pressure down to the main pump\'s start point.',
      params: { rate: { min: 1, max: 5000, default: 30, description: 'leak as a multiple of normal leakage' } },
    },
    NO_RESPONSE,
  ],
  main: [
    {
      name: 'fails-to-start',
      description: 'The main pump does not start when called (by pressure or the remote-start coil): no run feedback, no current; after 10 s fault code 1 (failed to start) and discrete input 2. Latches until cleared.',
    },
    NO_RESPONSE,
  ],
};

/** The fire main both controllers sit on. */
export class FireMain {
  pressure = JOCKEY_STOP_MPA - 0.02;
  leakRate = 1;
  readonly pumps = new Map<FirePumpRole, FirePump>();
  private readonly time: ModelTime;
  constructor(start: number) {
    this.time = new ModelTime(start, 500);
  }
  get now(): number {
    return this.time.t;
  }
  advance(now: number): void {
    const before = this.time.t;
    this.time.advance(now, (t, dt) => this.tick(t, dt));
    if (this.time.t !== before) for (const p of this.pumps.values()) p.publish();
  }
  private tick(_t: number, dt: number): void {
    const jockey = this.pumps.get('jockey');
    const main = this.pumps.get('main');
    this.leakRate = jockey?.book.has('leak') ? jockey.book.param('leak', 'rate') : 1;
    for (const p of this.pumps.values()) p.control(this.pressure, dt);
    let dp = -NORMAL_LEAK_MPA_S * this.leakRate;
    if (jockey?.running) dp += JOCKEY_FILL_MPA_S;
    this.pressure += dp * dt;
    // The main pump drives the main to its churn pressure (relief valve open).
    if (main?.running) this.pressure += (MAIN_CHURN_MPA - this.pressure) * settle(dt, MAIN_RISE_S);
    this.pressure = Math.max(0.05, Math.min(MAIN_CHURN_MPA, this.pressure));
    for (const p of this.pumps.values()) p.measure(this.pressure);
  }
}

export class FirePump {
  readonly image = new RegisterImage(FIRE_PUMP_MAP);
  readonly book: FaultBook;
  private readonly noise: Noise;
  mode: number = FIRE_PUMP_MODES.auto;
  running = false;
  /** Started by the remote-start coil (a test run), not by pressure. */
  private manualRun = false;
  /** The main pump, once started by pressure, runs until stopped by hand (NFPA 20 practice, unverified here). */
  private latched = false;
  private calledS = 0;
  private failed = false;
  private starts: number;
  private runHours: number;
  private demand = false;
  private pressureReading: number;
  private current = 0;
  onClose?: () => void;

  constructor(
    readonly main: FireMain,
    readonly role: FirePumpRole,
    seed: number,
  ) {
    this.noise = new Noise(seed);
    this.book = new FaultBook(`${FIRE_PUMP_MODEL} (${role})`, FAULTS[role]);
    this.starts = role === 'jockey' ? 5000 + Math.floor(this.noise.unit() * 1000) : 150 + Math.floor(this.noise.unit() * 50);
    this.runHours = role === 'jockey' ? 800 + this.noise.unit() * 100 : 40 + this.noise.unit() * 10;
    this.image.onWrite = (point, value) => this.onMasterWrite(point, value);
    this.pressureReading = main.pressure;
    this.publish();
  }

  get bank() {
    return this.image.bank;
  }
  get unresponsive(): boolean {
    return this.book.has('no-response');
  }
  get startPressure(): number {
    return this.role === 'jockey' ? JOCKEY_START_MPA : MAIN_START_MPA;
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
    if (fault === 'fails-to-start') this.failed = false;
    this.publish();
  }
  step(now: number): void {
    this.main.advance(now);
  }
  close(): void {
    if (this.main.pumps.get(this.role) === this) this.main.pumps.delete(this.role);
    this.onClose?.();
  }

  /** One quantum of the controller's logic at the main's pressure. */
  control(pressure: number, dt: number): void {
    this.demand = pressure < this.startPressure;
    const auto = this.mode === FIRE_PUMP_MODES.auto;
    if (this.role === 'jockey') {
      if (auto && this.demand) this.latched = true;
      if (pressure >= JOCKEY_STOP_MPA) this.latched = false;
    } else if (auto && this.demand) this.latched = true;
    const called = this.latched || this.manualRun;
    const wasRunning = this.running;
    this.running = called && !this.book.has('fails-to-start');
    if (this.running && !wasRunning) this.starts++;
    if (this.running) this.runHours += dt / 3600;
    this.calledS = called && !this.running ? this.calledS + dt : 0;
    if (this.calledS >= START_TIMEOUT_S) this.failed = true;
  }

  /** This controller's transducer and current readings, once per quantum. */
  measure(pressure: number): void {
    this.pressureReading = pressure + this.noise.plusMinus(0.002);
    this.current = this.running ? CURRENT_A[this.role] * (1 + this.noise.plusMinus(0.02)) : 0;
  }

  publish(): void {
    const img = this.image;
    const code = this.failed ? FIRE_PUMP_FAULT_CODES.failedToStart : FIRE_PUMP_FAULT_CODES.none;
    img.set('running', this.running);
    img.set('start_demand', this.demand);
    img.set('fault', code !== 0);
    img.set('pressure', this.pressureReading);
    img.set('starts', this.starts % 65536);
    img.set('mode', this.running && this.manualRun ? FIRE_PUMP_MODES.manual : this.mode);
    img.set('fault_code', code);
    img.set('motor_current', this.running ? this.current : 0);
    img.set('start_pressure', this.startPressure);
    img.set('stop_pressure', this.role === 'jockey' ? JOCKEY_STOP_MPA : 0);
    img.set('run_hours', this.runHours);
    img.set('start_cmd', this.manualRun);
    img.commit();
  }

  private onMasterWrite(point: string, value: number): void {
    if (point === 'start_cmd') {
      this.manualRun = value === 1;
      // A stop by hand also ends a pressure start (the main pump is stopped by hand).
      if (!this.manualRun) this.latched = false;
      this.control(this.main.pressure, 0);
    } else if (point === 'mode') {
      if (value !== FIRE_PUMP_MODES.off && value !== FIRE_PUMP_MODES.auto) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `mode ${value}: 0 (off) or 1 (auto)`);
      this.mode = value;
    }
    this.publish();
  }
}

export const firePumpModel: SimulatorModel<ModbusDevice> = {
  name: FIRE_PUMP_MODEL,
  protocol: 'modbus-tcp',
  description: 'A fire pump controller (`params.role`: jockey or main) on a shared fire main (`params.set`)',
  reference: () =>
    [
      'Imitates a fire-pump controller\'s Modbus option (Eaton / Tornatech style: pressure, run, starts, mode, alarms; addresses are ours, unverified). Params: `role` (`jockey` or `main`, required), `set` (the fire main both share; default `fire`).',
      '',
      FIRE_PUMP_MAP.markdown(),
      '',
      `Behaviour (DOMAIN.md "Fire pumps"; absolute pressures derived, unverified): the jockey stops at ${JOCKEY_STOP_MPA.toFixed(3)} MPa and starts 10 psi lower, at ${JOCKEY_START_MPA.toFixed(3)} MPa; the main pump starts 5 psi below that, at ${MAIN_START_MPA.toFixed(3)} MPa, and then runs (churn ${MAIN_CHURN_MPA.toFixed(2)} MPa) until stopped by hand (coil 0 = 0). Normal leakage brings a jockey start about once an hour.`,
      '',
      'Jockey faults:',
      '',
      new FaultBook(FIRE_PUMP_MODEL, FAULTS.jockey).markdown(),
      '',
      'Main pump faults:',
      '',
      new FaultBook(FIRE_PUMP_MODEL, FAULTS.main).markdown(),
    ].join('\n'),
  async start(ctx) {
    const { device, clock, seed } = ctx;
    const role = device.simulator?.params?.role;
    if (role !== 'jockey' && role !== 'main') throw new SimError('invalid', `device '${device.id}': fire-pump needs params.role jockey or main, got ${JSON.stringify(role)}`);
    const shared = joinShared(clock, FIRE_PUMP_MODEL, String(device.simulator?.params?.set ?? 'fire'), () => new FireMain(clock.now()));
    if (shared.value.pumps.has(role)) {
      shared.leave();
      throw new SimError('invalid', `device '${device.id}': the fire main already has a ${role} pump`);
    }
    const pump = new FirePump(shared.value, role, seed);
    shared.value.pumps.set(role, pump);
    pump.onClose = shared.leave;
    return serveModbus(FIRE_PUMP_MODEL, ctx, pump);
  },
};
