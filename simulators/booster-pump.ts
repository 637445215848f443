/**
 * The `booster-pump` model: one variable-speed pump of a domestic-water booster set, answering
 * demand around a discharge-pressure set point. Register map: README.md and model/sites/demo.yaml.
 */
import { MemoryRegisterBank, ModbusException, ModbusExceptionCode } from './register-bank.ts';
import { Noise } from './prng.ts';
import { SimError } from './errors.ts';

export const BOOSTER_PUMP_MODEL = 'booster-pump';
/** Model time step; the runner calls `step()` this often. */
export { TICK_MS } from './device.ts';
import { TICK_MS } from './device.ts';

/** 0-based protocol addresses (the demo site's documented map, plus a few extra registers). */
export const BOOSTER_PUMP_MAP = {
  /** discrete input: 1 = running */
  running: 0,
  /** discrete input: 1 = a fault code is set */
  faultPresent: 1,
  /** coil: run command (1 = run); writing 0 stops the pump */
  runCommand: 0,
  /** holding: speed, 0.01 % (uint16) */
  speed: 0,
  /** holding: motor current, 0.1 A (uint16) */
  motorCurrent: 1,
  /** holding 2–3: discharge pressure, MPa (float32, ABCD) */
  dischargePressure: 2,
  /** holding: fault code, 0 = none (FAULT_CODES) */
  faultCode: 4,
  /** holding: discharge-pressure set point, kPa (uint16, writable 100–1600) */
  setPoint: 5,
} as const;

/** Values of the fault-code register. 208 follows Grundfos's alarm code for cavitation (unverified). */
export const FAULT_CODES = { none: 0, cavitation: 208 } as const;

/** Bank sizes: larger than the map so that range checks (exception 2) mean something. */
const SIZES = { coils: 8, discreteInputs: 8, holdingRegisters: 16, inputRegisters: 16 };
/** Holding registers that are measurements: a write is refused with exception 2 (v1.1b §7: not an allowable address). */
const READ_ONLY_HOLDING = 5;

/** Set point of the high zone of a 20-storey tower: DOMAIN.md "Pumps", derived, unverified. */
const DEFAULT_SET_POINT_MPA = 0.8;
/** Static head with the pump stopped (unverified, plausible for a break-tank-fed set). */
const STATIC_PRESSURE_MPA = 0.1;
/** Speed band the drive wanders in while answering demand, as fractions of full speed. */
const SPEED_MIN = 0.7;
const SPEED_MAX = 0.85;
const SPEED_MEAN = 0.775;
/** Motor current at the mean speed. */
const CURRENT_AT_MEAN_A = 18;
/** Cavitation signature (DOMAIN.md "Fault signatures": fluctuating discharge pressure, lost head, fluctuating current). */
const CAVITATION_PRESSURE_MPA = 0.45;
const CAVITATION_SWING_MPA = 0.08;
const CAVITATION_PERIOD_S = 0.6;
const CAVITATION_CURRENT_SWING = 0.15;
/** Time constants: running pressure and fault onset/recovery settle within ~2 s; a stopped pump's head decays slower. */
const TAU_RUNNING_S = 0.3;
const TAU_STOPPED_S = 2;

export interface FaultInfo {
  name: string;
  description: string;
  active: boolean;
}

type Params = Record<string, number | string | boolean>;

const FAULTS: Record<string, string> = {
  cavitation:
    'Suction starved: discharge pressure falls to about 0.45 MPa and oscillates (±0.08 MPa, sub-second), motor current fluctuates ±15 %, fault code 208. Param: severity (0 < s ≤ 1, default 1).',
  'no-response': 'The drive stops answering Modbus requests (connections stay open): for testing comm-loss.',
};

export interface BoosterPumpOptions {
  seed: number;
}

export class BoosterPump {
  readonly model = BOOSTER_PUMP_MODEL;
  readonly bank = new MemoryRegisterBank(SIZES);
  private readonly noise: Noise;
  private readonly active = new Map<string, Params>();
  /** Model time, seconds: advances by TICK_MS per step, so a seed gives the same series every run. */
  private t = 0;
  private speedDrift = SPEED_MEAN;
  private pressureBase = DEFAULT_SET_POINT_MPA;
  /** 0 = healthy, 1 = full cavitation; eases in and out. */
  private cavitation = 0;
  private speed = 0;
  private current = 0;
  private pressure = DEFAULT_SET_POINT_MPA;

  constructor(opts: BoosterPumpOptions) {
    this.noise = new Noise(opts.seed);
    this.bank.coils[BOOSTER_PUMP_MAP.runCommand] = true;
    this.bank.holding[BOOSTER_PUMP_MAP.setPoint] = Math.round(DEFAULT_SET_POINT_MPA * 1000);
    this.bank.onHoldingWrite = (address, values) => this.checkHoldingWrite(address, values);
    // A stop command takes effect at once, so a read right after the write sees the pump stopped.
    this.bank.onCoilsWritten = () => this.publish();
    this.step();
  }

  /** Whether Modbus requests should go unanswered (the `no-response` fault). */
  get unresponsive(): boolean {
    return this.active.has('no-response');
  }

  get running(): boolean {
    return this.bank.coils[BOOSTER_PUMP_MAP.runCommand] === true;
  }

  faults(): FaultInfo[] {
    return Object.entries(FAULTS).map(([name, description]) => ({ name, description, active: this.active.has(name) }));
  }

  /** Injecting an active fault again is fine (its params are replaced). */
  inject(fault: string, params: Params = {}): void {
    if (!(fault in FAULTS)) throw new SimError('not-found', `booster-pump has no fault '${fault}' (known: ${Object.keys(FAULTS).join(', ')})`);
    this.active.set(fault, this.checkParams(fault, params));
    // The drive raises its fault code at once; the process values follow tick by tick.
    this.publish();
  }

  clear(fault: string): void {
    if (!(fault in FAULTS)) throw new SimError('not-found', `booster-pump has no fault '${fault}' (known: ${Object.keys(FAULTS).join(', ')})`);
    this.active.delete(fault);
    this.publish();
  }

  /** Advances the model by one tick (TICK_MS) and updates the registers. */
  step(): void {
    const dt = TICK_MS / 1000;
    this.t += dt;
    const settle = (tau: number) => 1 - Math.exp(-dt / tau);
    const cav = this.active.get('cavitation');
    // Cavitation needs flow: a stopped pump cannot cavitate.
    const cavTarget = cav && this.running ? Number(cav.severity ?? 1) : 0;
    this.cavitation += (cavTarget - this.cavitation) * settle(TAU_RUNNING_S);

    if (this.running) {
      // Demand changes slowly: a mean-reverting random walk inside the drive's speed band.
      this.speedDrift += (SPEED_MEAN - this.speedDrift) * 0.02 + this.noise.plusMinus(0.004);
      this.speedDrift = Math.min(SPEED_MAX, Math.max(SPEED_MIN, this.speedDrift));
      this.speed = this.speedDrift;
      const setPoint = this.bank.holding[BOOSTER_PUMP_MAP.setPoint]! / 1000;
      const target = setPoint + (CAVITATION_PRESSURE_MPA - setPoint) * this.cavitation;
      this.pressureBase += (target - this.pressureBase) * settle(TAU_RUNNING_S);
      const swing = CAVITATION_SWING_MPA * this.cavitation * Math.sin((2 * Math.PI * this.t) / CAVITATION_PERIOD_S);
      this.pressure = this.pressureBase + swing + this.noise.plusMinus(0.01);
      const fluctuation = 1 + this.cavitation * (CAVITATION_CURRENT_SWING * 0.7 * Math.sin((2 * Math.PI * this.t) / 0.9) + this.noise.plusMinus(CAVITATION_CURRENT_SWING * 0.3));
      this.current = CURRENT_AT_MEAN_A * (this.speed / SPEED_MEAN) * fluctuation * (1 + this.noise.plusMinus(0.01));
    } else {
      this.pressureBase += (STATIC_PRESSURE_MPA - this.pressureBase) * settle(TAU_STOPPED_S);
      this.pressure = this.pressureBase + this.noise.plusMinus(0.002);
    }
    this.publish();
  }

  /** Writes the current state into the register bank. */
  private publish(): void {
    const bank = this.bank;
    const running = this.running;
    if (!running) {
      this.speed = 0;
      this.current = 0;
    }
    const code = this.active.has('cavitation') ? FAULT_CODES.cavitation : FAULT_CODES.none;
    bank.discreteInputs[BOOSTER_PUMP_MAP.running] = running;
    bank.discreteInputs[BOOSTER_PUMP_MAP.faultPresent] = code !== 0;
    bank.holding[BOOSTER_PUMP_MAP.speed] = Math.round(this.speed * 10_000);
    bank.holding[BOOSTER_PUMP_MAP.motorCurrent] = Math.round(this.current * 10);
    bank.setFloat32('holding', BOOSTER_PUMP_MAP.dischargePressure, this.pressure);
    bank.holding[BOOSTER_PUMP_MAP.faultCode] = code;
    // Input registers mirror the holding registers, for masters that read measurements with FC 4.
    bank.input.set(bank.holding);
  }

  private checkHoldingWrite(address: number, values: number[]): void {
    if (address < READ_ONLY_HOLDING) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `holding ${address} is a measurement (read-only)`);
    const setPointAt = BOOSTER_PUMP_MAP.setPoint - address;
    const setPoint = values[setPointAt];
    if (setPoint !== undefined && (setPoint < 100 || setPoint > 1600))
      throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `set point ${setPoint} kPa outside 100-1600`);
  }

  private checkParams(fault: string, params: Params): Params {
    for (const [key, value] of Object.entries(params)) {
      if (fault === 'cavitation' && key === 'severity') {
        if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new SimError('invalid', `params.severity must be a number in (0, 1], got ${JSON.stringify(value)}`);
        continue;
      }
      throw new SimError('invalid', `fault '${fault}' takes no param '${key}'`);
    }
    return { ...params };
  }
}
