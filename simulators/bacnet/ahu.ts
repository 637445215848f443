/**
 * An air-handling unit controller on BACnet/IP: sensors as Analog and Binary Inputs, commandable
 * set points (Analog Values) and outputs (Binary and Analog Outputs) with a 16-slot priority array
 * (clause 19.2), so a gateway's writes can be tested; and a legacy switch that makes it reject
 * ReadPropertyMultiple, so its fallback to ReadProperty can be tested.
 */
import { EngineeringUnits, EventState, ObjectType, PropertyIdentifier as P, Reliability } from '@bacnet-js/client';
import { Noise } from '../prng.ts';
import { SimError } from '../errors.ts';
import type { FaultParams, FaultSpec } from '../device.ts';
import { binaryPv, enumerated, health, identity, PriorityArray, real, realIn, text, unitName, withPropertyList, type BacnetObject, type ObjectHealth } from './objects.ts';

export const AHU_FAULTS: FaultSpec[] = [
  { name: 'fan-failure', description: 'The supply fan stops although commanded on (belt or motor): fan status inactive, static pressure falls' },
  { name: 'filter-clogged', description: 'The filter loads up: differential pressure climbs past the 250 Pa filter alarm' },
  { name: 'sensor-failed', description: "A sensor wire is open (param sensor: 'supply-air-temperature' (default), 'return-air-temperature', 'duct-static-pressure', 'filter-differential-pressure'): Reliability open-loop, value frozen" },
  { name: 'legacy', description: 'Behave like a legacy controller: ReadPropertyMultiple is rejected (unrecognized-service); ReadProperty still works' },
  { name: 'comm-loss', description: 'The controller stops answering anything on BACnet/IP' },
];

/** Filter alarm switch set point (a typical pleated-filter final pressure drop). */
export const FILTER_ALARM_PA = 250;

type SensorName = 'supply-air-temperature' | 'return-air-temperature' | 'duct-static-pressure' | 'filter-differential-pressure';

interface Sensor {
  instance: number;
  name: SensorName;
  description: string;
  units: EngineeringUnits;
  value: number;
  covIncrement: number;
  failed: boolean;
}

export class AirHandlingUnit {
  readonly objects: BacnetObject[];
  legacy: boolean;
  fanFailure = false;
  filterClogged = false;
  commLoss = false;
  readonly sensors: Record<SensorName, Sensor>;
  /** AV 1 (°C), AV 2 (Pa), BO 1 (0/1), AO 1 and AO 2 (%). */
  readonly supplyTempSetpoint = new PriorityArray<number>(16, realIn(10, 30));
  readonly staticSetpoint = new PriorityArray<number>(250, realIn(50, 600));
  readonly fanCommand = new PriorityArray<0 | 1>(1, binaryPv);
  readonly coolingValve = new PriorityArray<number>(40, realIn(0, 100));
  readonly fanSpeed = new PriorityArray<number>(70, realIn(0, 100));
  private readonly noise: Noise;
  private last: number;

  constructor(opts: { seed: number; now: number; legacy?: boolean }) {
    this.noise = new Noise(opts.seed);
    this.last = opts.now;
    this.legacy = opts.legacy ?? false;
    const sensor = (instance: number, name: SensorName, description: string, units: EngineeringUnits, value: number, covIncrement: number): Sensor => ({ instance, name, description, units, value, covIncrement, failed: false });
    this.sensors = {
      'supply-air-temperature': sensor(1, 'supply-air-temperature', 'Supply air temperature after the cooling coil', EngineeringUnits.DEGREES_CELSIUS, 16, 0.2),
      'return-air-temperature': sensor(2, 'return-air-temperature', 'Return air temperature', EngineeringUnits.DEGREES_CELSIUS, 24, 0.2),
      'duct-static-pressure': sensor(3, 'duct-static-pressure', 'Supply duct static pressure', EngineeringUnits.PASCALS, 250, 10),
      'filter-differential-pressure': sensor(4, 'filter-differential-pressure', 'Pressure drop across the filter bank', EngineeringUnits.PASCALS, 120, 5),
    };
    this.objects = [
      ...Object.values(this.sensors).map((s) => this.analogInput(s)),
      this.binaryInput(1, 'supply-fan-status', 'Supply fan proof of flow (differential pressure switch)', () => this.fanRunning, 'RUNNING', 'STOPPED', false),
      this.binaryInput(2, 'filter-alarm', `Filter dirty: differential pressure above ${FILTER_ALARM_PA} Pa`, () => this.sensors['filter-differential-pressure'].value > FILTER_ALARM_PA, 'DIRTY', 'CLEAN', true),
      this.analogCommand(ObjectType.ANALOG_VALUE, 1, 'supply-air-temperature-setpoint', 'Supply air temperature set point', EngineeringUnits.DEGREES_CELSIUS, this.supplyTempSetpoint, '10–30'),
      this.analogCommand(ObjectType.ANALOG_VALUE, 2, 'duct-static-pressure-setpoint', 'Duct static pressure set point', EngineeringUnits.PASCALS, this.staticSetpoint, '50–600'),
      this.binaryOutput(1, 'supply-fan-command', 'Supply fan start/stop'),
      this.analogCommand(ObjectType.ANALOG_OUTPUT, 1, 'cooling-valve', 'Chilled-water valve position', EngineeringUnits.PERCENT, this.coolingValve, '0–100'),
      this.analogCommand(ObjectType.ANALOG_OUTPUT, 2, 'supply-fan-speed', 'Supply fan speed (VFD)', EngineeringUnits.PERCENT, this.fanSpeed, '0–100'),
    ];
  }

  get fanRunning(): boolean {
    return this.fanCommand.value === 1 && !this.fanFailure;
  }

  faults(): Array<FaultSpec & { active: boolean }> {
    const active: Record<string, boolean> = {
      'fan-failure': this.fanFailure,
      'filter-clogged': this.filterClogged,
      'sensor-failed': Object.values(this.sensors).some((s) => s.failed),
      legacy: this.legacy,
      'comm-loss': this.commLoss,
    };
    return AHU_FAULTS.map((f) => ({ ...f, active: active[f.name] ?? false }));
  }

  inject(fault: string, params: FaultParams = {}): void {
    switch (fault) {
      case 'fan-failure':
        this.fanFailure = true;
        return;
      case 'filter-clogged':
        this.filterClogged = true;
        return;
      case 'sensor-failed': {
        const name = String(params.sensor ?? 'supply-air-temperature');
        const s = this.sensors[name as SensorName];
        if (!s) throw new SimError('invalid', `param 'sensor' must be one of ${Object.keys(this.sensors).join(', ')}`);
        s.failed = true;
        return;
      }
      case 'legacy':
        this.legacy = true;
        return;
      case 'comm-loss':
        this.commLoss = true;
        return;
      default:
        throw new SimError('not-found', `ahu has no fault '${fault}'`);
    }
  }

  clear(fault: string): void {
    switch (fault) {
      case 'fan-failure':
        this.fanFailure = false;
        return;
      case 'filter-clogged':
        this.filterClogged = false;
        return;
      case 'sensor-failed':
        Object.values(this.sensors).forEach((s) => (s.failed = false));
        return;
      case 'legacy':
        this.legacy = false;
        return;
      case 'comm-loss':
        this.commLoss = false;
        return;
      default:
        throw new SimError('not-found', `ahu has no fault '${fault}'`);
    }
  }

  /**
   * First-order plant, simulated time: supply air approaches return air minus what the coil takes
   * out (≈ 0.2 K per % valve), static pressure follows fan speed, the filter loads when clogged.
   */
  step(now: number): void {
    const dt = Math.min(Math.max(now - this.last, 0), 60_000) / 1000;
    this.last = now;
    const approach = (s: Sensor, target: number, tauS: number, noise: number) => {
      if (s.failed) return; // an open sensor reads nothing new
      s.value += (target - s.value) * (1 - Math.exp(-dt / tauS)) + this.noise.plusMinus(noise);
    };
    const running = this.fanRunning;
    const ret = this.sensors['return-air-temperature'];
    approach(ret, 24, 600, 0.02);
    approach(this.sensors['supply-air-temperature'], running ? ret.value - 0.2 * this.coolingValve.value : ret.value, 60, 0.03);
    const staticTarget = running ? this.staticSetpoint.value * (this.fanSpeed.value / 70) : 0;
    approach(this.sensors['duct-static-pressure'], staticTarget, 5, running ? 2 : 0.3);
    const filterTarget = (this.filterClogged ? 360 : 120) * (running ? (this.fanSpeed.value / 70) ** 2 : 0);
    approach(this.sensors['filter-differential-pressure'], filterTarget, this.filterClogged ? 120 : 10, running ? 1 : 0.2);
  }

  private analogInput(s: Sensor): BacnetObject {
    const h = (): ObjectHealth => ({ eventState: s.failed ? EventState.FAULT : EventState.NORMAL, reliability: s.failed ? Reliability.OPEN_LOOP : Reliability.NO_FAULT_DETECTED, outOfService: false });
    return {
      type: ObjectType.ANALOG_INPUT,
      instance: s.instance,
      name: s.name,
      description: s.description,
      cov: { increment: () => s.covIncrement },
      summary: `REAL in ${unitName(s.units)}; COV_Increment ${s.covIncrement}; Reliability 4 open-loop when failed`,
      properties: withPropertyList([
        ...identity(ObjectType.ANALOG_INPUT, s.instance, s.name, s.description),
        { id: P.PRESENT_VALUE, read: () => [real(round1(s.value))] },
        ...health(h),
        { id: P.UNITS, read: () => [enumerated(s.units)] },
        { id: P.COV_INCREMENT, read: () => [real(s.covIncrement)] },
      ]),
    };
  }

  private binaryInput(instance: number, name: string, description: string, active: () => boolean, activeText: string, inactiveText: string, alarmWhenActive: boolean): BacnetObject {
    return {
      type: ObjectType.BINARY_INPUT,
      instance,
      name,
      description,
      cov: {},
      summary: `Present_Value 1 active (${activeText}), 0 inactive (${inactiveText})${alarmWhenActive ? '; Event_State offnormal while active' : ''}`,
      properties: withPropertyList([
        ...identity(ObjectType.BINARY_INPUT, instance, name, description),
        { id: P.PRESENT_VALUE, read: () => [enumerated(active() ? 1 : 0)] },
        ...health(() => ({ eventState: alarmWhenActive && active() ? EventState.OFFNORMAL : EventState.NORMAL, reliability: Reliability.NO_FAULT_DETECTED, outOfService: false })),
        { id: P.POLARITY, read: () => [enumerated(0)] },
        { id: P.ACTIVE_TEXT, read: () => [text(activeText)] },
        { id: P.INACTIVE_TEXT, read: () => [text(inactiveText)] },
      ]),
    };
  }

  private analogCommand(type: ObjectType, instance: number, name: string, description: string, units: EngineeringUnits, command: PriorityArray<number>, range: string): BacnetObject {
    const normal = (): ObjectHealth => ({ eventState: EventState.NORMAL, reliability: Reliability.NO_FAULT_DETECTED, outOfService: false });
    return {
      type,
      instance,
      name,
      description,
      cov: { increment: () => 0.1 },
      summary: `commandable REAL in ${unitName(units)}, ${range}; Relinquish_Default ${command.relinquishDefault}`,
      properties: withPropertyList([
        ...identity(type, instance, name, description),
        { id: P.PRESENT_VALUE, read: () => [real(command.value)], write: (v, priority) => command.write(v, priority) },
        ...health(normal),
        { id: P.UNITS, read: () => [enumerated(units)] },
        ...command.properties(real),
        { id: P.COV_INCREMENT, read: () => [real(0.1)] },
      ]),
    };
  }

  private binaryOutput(instance: number, name: string, description: string): BacnetObject {
    const command = this.fanCommand;
    return {
      type: ObjectType.BINARY_OUTPUT,
      instance,
      name,
      description,
      cov: {},
      summary: `commandable, Present_Value 1 active (START), 0 inactive (STOP); Relinquish_Default ${command.relinquishDefault}`,
      properties: withPropertyList([
        ...identity(ObjectType.BINARY_OUTPUT, instance, name, description),
        { id: P.PRESENT_VALUE, read: () => [enumerated(command.value)], write: (v, priority) => command.write(v, priority) },
        ...health(() => ({ eventState: EventState.NORMAL, reliability: Reliability.NO_FAULT_DETECTED, outOfService: false })),
        { id: P.POLARITY, read: () => [enumerated(0)] },
        { id: P.ACTIVE_TEXT, read: () => [text('START')] },
        { id: P.INACTIVE_TEXT, read: () => [text('STOP')] },
        ...command.properties(enumerated),
      ]),
    };
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
