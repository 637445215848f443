/**
 * A fire-alarm control panel on BACnet/IP: a Life Safety Zone per floor, Life Safety Points (smoke
 * detectors) in each, and panel-level Binary Inputs and a Multi-state Value for what those object
 * types cannot carry (mains, battery, common trouble, supervisory, silenced). Panel conditions map to
 * BACnet as the Notifier CLSS gateway does (DOMAIN.md, "Fire alarm over BACnet"): normal → quiet,
 * pre-alarm → pre-alarm, fire → alarm, trouble → fault with Reliability 7, supervisory → supervisory.
 */
import {
  EngineeringUnits,
  EventState,
  LifeSafetyMode,
  LifeSafetyOperation,
  LifeSafetyState,
  Maintenance,
  ObjectType,
  PropertyIdentifier as P,
  Reliability,
  SilencedState,
} from '@bacnet-js/client';
import type { Site } from '@vigil/model';
import { Noise } from '../prng.ts';
import { SimError } from '../errors.ts';
import type { FaultParams, FaultSpec } from '../device.ts';
import { enumerated, health, identity, real, text, unsigned, unitName, withPropertyList, type BacnetObject, type ObjectHealth, type PropertySpec } from './objects.ts';

/** The most detectors one zone holds: point instances are zone × 100 + detector. */
export const MAX_DETECTORS_PER_ZONE = 99;
/** Simulated time after which the smoke of a fire alarm has cleared (Tracking_Value goes quiet; Present_Value stays latched). */
export const SMOKE_CLEARS_MS = 60_000; // 1 minute

export const FIRE_PANEL_FAULTS: FaultSpec[] = [
  { name: 'fire-alarm', description: "Fire alarm in a zone (params zone, e.g. 'f05'; detector, default 1); latches until cleared (GB 4717: manual reset)" },
  { name: 'pre-alarm', description: 'Pre-alarm in a zone (params zone; detector, default 1)' },
  { name: 'detector-dirty', description: 'A detector needs cleaning: trouble, still operational (params zone, detector)' },
  { name: 'detector-failed', description: 'A detector has failed: trouble, inoperative (params zone, detector)' },
  { name: 'mains-failure', description: 'Mains power lost: the panel runs on battery (panel trouble)' },
  { name: 'battery-fault', description: 'Standby battery fault (panel trouble)' },
  { name: 'supervisory', description: 'Supervisory condition, e.g. a sprinkler valve closed or a missed guard tour (params zone, optional)' },
  { name: 'silenced', description: "An operator silenced the notification appliances (params state: 'audible', 'visible' or 'all', default 'all')" },
  { name: 'comm-loss', description: 'The panel stops answering anything on BACnet/IP' },
];

interface Detector {
  index: number;
  instance: number;
  name: string;
  description: string;
  /** Simulated time the alarm latched, or null. */
  alarmSince: number | null;
  preAlarm: boolean;
  dirty: boolean;
  failed: boolean;
  /** Direct_Reading, smoke obscuration in %/m. */
  obscuration: number;
}

interface Zone {
  key: string;
  instance: number;
  name: string;
  description: string;
  supervisory: boolean;
  detectors: Detector[];
}

/** The panel's state and its BACnet objects; no sockets here (server.ts serves it). */
export class FirePanel {
  readonly zones: Zone[];
  readonly objects: BacnetObject[];
  mainsFailure = false;
  batteryFault = false;
  panelSupervisory = false;
  silenced: SilencedState = SilencedState.UNSILENCED;
  commLoss = false;
  private now: number;
  private readonly noise: Noise;

  constructor(opts: { site: Site; detectorsPerZone: number; seed: number; now: number }) {
    const n = opts.detectorsPerZone;
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_DETECTORS_PER_ZONE)) {
      throw new SimError('invalid', `detectorsPerZone must be an integer 1–${MAX_DETECTORS_PER_ZONE}, got ${n}`);
    }
    this.now = opts.now;
    this.noise = new Noise(opts.seed);
    const single = opts.site.buildings.length === 1;
    this.zones = opts.site.buildings.flatMap((b) => b.floors.map((f) => ({ building: b, floor: f }))).map(({ building, floor }, i) => {
      const key = single ? floor.id : `${building.id}-${floor.id}`;
      const instance = i + 1;
      return {
        key,
        instance,
        name: `fire-zone-${key}`,
        description: single ? floor.name : `${building.name}: ${floor.name}`,
        supervisory: false,
        detectors: Array.from({ length: n }, (_, d) => ({
          index: d + 1,
          instance: instance * 100 + d + 1,
          name: `fire-zone-${key}-detector-${String(d + 1).padStart(2, '0')}`,
          description: `Smoke detector ${d + 1}, ${floor.name}`,
          alarmSince: null,
          preAlarm: false,
          dirty: false,
          failed: false,
          obscuration: this.cleanAirReading(),
        })),
      };
    });
    this.objects = [...this.panelObjects(), ...this.zones.map((z) => this.zoneObject(z)), ...this.zones.flatMap((z) => z.detectors.map((d) => this.detectorObject(d)))];
  }

  faults(): Array<FaultSpec & { active: boolean }> {
    const any = (f: (d: Detector) => boolean) => this.zones.some((z) => z.detectors.some(f));
    const active: Record<string, boolean> = {
      'fire-alarm': any((d) => d.alarmSince !== null),
      'pre-alarm': any((d) => d.preAlarm),
      'detector-dirty': any((d) => d.dirty),
      'detector-failed': any((d) => d.failed),
      'mains-failure': this.mainsFailure,
      'battery-fault': this.batteryFault,
      supervisory: this.panelSupervisory || this.zones.some((z) => z.supervisory),
      silenced: this.silenced !== SilencedState.UNSILENCED,
      'comm-loss': this.commLoss,
    };
    return FIRE_PANEL_FAULTS.map((f) => ({ ...f, active: active[f.name] ?? false }));
  }

  inject(fault: string, params: FaultParams = {}): void {
    switch (fault) {
      case 'fire-alarm': {
        const d = this.detector(params, 1);
        d.alarmSince ??= this.now;
        return;
      }
      case 'pre-alarm':
        this.detector(params, 1).preAlarm = true;
        return;
      case 'detector-dirty':
        this.detector(params).dirty = true;
        return;
      case 'detector-failed':
        this.detector(params).failed = true;
        return;
      case 'mains-failure':
        this.mainsFailure = true;
        return;
      case 'battery-fault':
        this.batteryFault = true;
        return;
      case 'supervisory':
        if (params.zone === undefined) this.panelSupervisory = true;
        else this.zone(params.zone).supervisory = true;
        return;
      case 'silenced': {
        const states: Record<string, SilencedState> = { audible: SilencedState.AUDIBLE_SILENCED, visible: SilencedState.VISIBLE_SILENCED, all: SilencedState.ALL_SILENCED };
        const state = states[String(params.state ?? 'all')];
        if (state === undefined) throw new SimError('invalid', "param 'state' must be 'audible', 'visible' or 'all'");
        this.silenced = state;
        return;
      }
      case 'comm-loss':
        this.commLoss = true;
        return;
      default:
        throw new SimError('not-found', `fire-panel has no fault '${fault}'`);
    }
  }

  /** Clears the fault everywhere (a panel reset clears every latched alarm). */
  clear(fault: string): void {
    const each = (f: (d: Detector) => void) => this.zones.forEach((z) => z.detectors.forEach(f));
    switch (fault) {
      case 'fire-alarm':
        return each((d) => (d.alarmSince = null));
      case 'pre-alarm':
        return each((d) => (d.preAlarm = false));
      case 'detector-dirty':
        return each((d) => (d.dirty = false));
      case 'detector-failed':
        return each((d) => (d.failed = false));
      case 'mains-failure':
        this.mainsFailure = false;
        return;
      case 'battery-fault':
        this.batteryFault = false;
        return;
      case 'supervisory':
        this.panelSupervisory = false;
        this.zones.forEach((z) => (z.supervisory = false));
        return;
      case 'silenced':
        this.silenced = SilencedState.UNSILENCED;
        return;
      case 'comm-loss':
        this.commLoss = false;
        return;
      default:
        throw new SimError('not-found', `fire-panel has no fault '${fault}'`);
    }
  }

  /** Advances to simulated time `now`: detector readings drift with seeded noise. */
  step(now: number): void {
    this.now = now;
    for (const z of this.zones) {
      for (const d of z.detectors) {
        const base = d.failed ? 0 : this.smokePresent(d) ? 12 : d.preAlarm ? 6 : d.dirty ? 2.2 : 0.3;
        d.obscuration = d.failed ? 0 : Math.max(0, base + this.noise.plusMinus(base * 0.05 + 0.02));
      }
    }
  }

  // --- the BACnet view ---

  /** Present_Value: latched, until the alarm is cleared (reset). */
  detectorState(d: Detector): LifeSafetyState {
    return withFault(d.alarmSince !== null ? LifeSafetyState.ALARM : d.preAlarm ? LifeSafetyState.PRE_ALARM : LifeSafetyState.QUIET, d.dirty || d.failed);
  }

  /** Tracking_Value: what the detector senses now (the smoke may have cleared while the alarm stays latched). */
  detectorTracking(d: Detector): LifeSafetyState {
    return withFault(this.smokePresent(d) ? LifeSafetyState.ALARM : d.preAlarm ? LifeSafetyState.PRE_ALARM : LifeSafetyState.QUIET, d.dirty || d.failed);
  }

  zoneState(z: Zone, of: (d: Detector) => LifeSafetyState = (d) => this.detectorState(d)): LifeSafetyState {
    const states = z.detectors.map(of);
    const has = (...s: LifeSafetyState[]) => states.some((x) => s.includes(x));
    const fault = z.detectors.some((d) => d.dirty || d.failed);
    if (has(LifeSafetyState.ALARM, LifeSafetyState.FAULT_ALARM)) return withFault(LifeSafetyState.ALARM, fault);
    if (has(LifeSafetyState.PRE_ALARM, LifeSafetyState.FAULT_PRE_ALARM)) return withFault(LifeSafetyState.PRE_ALARM, fault);
    if (z.supervisory) return LifeSafetyState.SUPERVISORY;
    return withFault(LifeSafetyState.QUIET, fault);
  }

  private smokePresent(d: Detector): boolean {
    return d.alarmSince !== null && this.now - d.alarmSince < SMOKE_CLEARS_MS;
  }

  private cleanAirReading(): number {
    return 0.3 + this.noise.plusMinus(0.03);
  }

  private zone(key: unknown): Zone {
    const z = this.zones.find((x) => x.key === String(key));
    if (!z) throw new SimError('invalid', `param 'zone' must be one of ${this.zones.map((x) => x.key).join(', ')}; got '${String(key)}'`);
    return z;
  }

  private detector(params: FaultParams, defaultIndex?: number): Detector {
    if (params.zone === undefined) throw new SimError('invalid', "param 'zone' is required (a floor id, e.g. 'f05')");
    const z = this.zone(params.zone);
    const index = params.detector === undefined ? defaultIndex : Number(params.detector);
    const d = index === undefined ? undefined : z.detectors[index - 1];
    if (!d) throw new SimError('invalid', `param 'detector' must be 1–${z.detectors.length}`);
    return d;
  }

  private lifeSafetyHealth(state: LifeSafetyState, fault: boolean): ObjectHealth {
    // Clause 13 event algorithms: fault detection takes precedence over the CHANGE_OF_LIFE_SAFETY result.
    const eventState = fault
      ? EventState.FAULT
      : LIFE_SAFETY_ALARM_VALUES.includes(state)
        ? EventState.LIFE_SAFETY_ALARM
        : ALARM_VALUES.includes(state)
          ? EventState.OFFNORMAL
          : EventState.NORMAL;
    return { eventState, reliability: fault ? Reliability.UNRELIABLE_OTHER : Reliability.NO_FAULT_DETECTED, outOfService: false };
  }

  /** The properties Life Safety Point (21) and Zone (22) share (bacnet-stack lsp.c, lsz.c). */
  private lifeSafetyCommon(present: () => LifeSafetyState, tracking: () => LifeSafetyState, fault: () => boolean): PropertySpec[] {
    return [
      { id: P.PRESENT_VALUE, read: () => [enumerated(present())] },
      { id: P.TRACKING_VALUE, read: () => [enumerated(tracking())] },
      ...health(() => this.lifeSafetyHealth(present(), fault())),
      { id: P.MODE, read: () => [enumerated(LifeSafetyMode.ENABLED)] },
      { id: P.ACCEPTED_MODES, read: () => ACCEPTED_MODES.map(enumerated) },
      { id: P.SILENCED, read: () => [enumerated(this.silenced)] },
      { id: P.OPERATION_EXPECTED, read: () => [enumerated(expectedOperation(present(), this.silenced))] },
      { id: P.LIFE_SAFETY_ALARM_VALUES, read: () => LIFE_SAFETY_ALARM_VALUES.map(enumerated) },
      { id: P.ALARM_VALUES, read: () => ALARM_VALUES.map(enumerated) },
      { id: P.FAULT_VALUES, read: () => FAULT_VALUES.map(enumerated) },
    ];
  }

  private detectorObject(d: Detector): BacnetObject {
    return {
      type: ObjectType.LIFE_SAFETY_POINT,
      instance: d.instance,
      name: d.name,
      description: d.description,
      cov: {},
      summary: `Present_Value/Tracking_Value LifeSafetyState; Direct_Reading smoke obscuration in ${unitName(EngineeringUnits.PERCENT_OBSCURATION_PER_METER)}; Maintenance_Required 2 dirty, 3 failed`,
      properties: withPropertyList([
        ...identity(ObjectType.LIFE_SAFETY_POINT, d.instance, d.name, d.description),
        ...this.lifeSafetyCommon(
          () => this.detectorState(d),
          () => this.detectorTracking(d),
          () => d.dirty || d.failed,
        ),
        { id: P.MAINTENANCE_REQUIRED, read: () => [enumerated(d.failed ? Maintenance.NEED_SERVICE_INOPERATIVE : d.dirty ? Maintenance.NEED_SERVICE_OPERATIONAL : Maintenance.NONE)] },
        { id: P.DIRECT_READING, read: () => [real(round(d.obscuration, 2))] },
        { id: P.UNITS, read: () => [enumerated(EngineeringUnits.PERCENT_OBSCURATION_PER_METER)] },
        { id: P.DEVICE_TYPE, read: () => [text('photoelectric smoke detector')] },
        { id: P.MEMBER_OF, read: () => [], unencodable: 'a list of BACnetDeviceObjectReference (the zone is instance ÷ 100)' },
      ]),
    };
  }

  private zoneObject(z: Zone): BacnetObject {
    const fault = () => z.detectors.some((d) => d.dirty || d.failed);
    return {
      type: ObjectType.LIFE_SAFETY_ZONE,
      instance: z.instance,
      name: z.name,
      description: z.description,
      cov: {},
      summary: `the floor's zone: Present_Value the worst of its detectors (alarm > pre-alarm > supervisory > quiet, fault-* when any is in trouble); detectors ${z.instance * 100 + 1}–${z.instance * 100 + z.detectors.length}`,
      properties: withPropertyList([
        ...identity(ObjectType.LIFE_SAFETY_ZONE, z.instance, z.name, z.description),
        ...this.lifeSafetyCommon(
          () => this.zoneState(z),
          () => this.zoneState(z, (d) => this.detectorTracking(d)),
          fault,
        ),
        { id: P.MAINTENANCE_REQUIRED, read: () => [enumerated(z.detectors.some((d) => d.dirty || d.failed) ? Maintenance.NEED_SERVICE_OPERATIONAL : Maintenance.NONE)] },
        { id: P.ZONE_MEMBERS, read: () => [], unencodable: 'a list of BACnetDeviceObjectReference (members are instances zone × 100 + 1 …)' },
      ]),
    };
  }

  private panelObjects(): BacnetObject[] {
    const trouble = () => this.mainsFailure || this.batteryFault || this.zones.some((z) => z.detectors.some((d) => d.dirty || d.failed));
    const supervisory = () => this.panelSupervisory || this.zones.some((z) => z.supervisory);
    const fire = () => this.zones.some((z) => z.detectors.some((d) => d.alarmSince !== null));
    return [
      binaryInput(1, 'panel-mains-failure', 'Mains power failed: running on standby battery', () => this.mainsFailure, 'FAIL', 'NORMAL'),
      binaryInput(2, 'panel-battery-fault', 'Standby battery fault', () => this.batteryFault, 'FAULT', 'NORMAL'),
      binaryInput(3, 'panel-trouble', 'Common trouble: mains, battery or any detector in trouble', trouble, 'TROUBLE', 'NORMAL'),
      binaryInput(4, 'panel-supervisory', 'Common supervisory', supervisory, 'SUPERVISORY', 'NORMAL'),
      binaryInput(5, 'panel-fire-alarm', 'Common fire alarm (latched until reset)', fire, 'ALARM', 'NORMAL'),
      {
        type: ObjectType.MULTI_STATE_VALUE,
        instance: 1,
        name: 'panel-silenced',
        description: 'Notification appliances silenced (SilencedState + 1)',
        cov: {},
        summary: `Present_Value 1 unsilenced, 2 audible-silenced, 3 visible-silenced, 4 all-silenced (BACnetSilencedState + 1)`,
        properties: withPropertyList([
          ...identity(ObjectType.MULTI_STATE_VALUE, 1, 'panel-silenced', 'Notification appliances silenced (SilencedState + 1)'),
          { id: P.PRESENT_VALUE, read: () => [unsigned(this.silenced + 1)] },
          ...health(() => ({ eventState: EventState.NORMAL, reliability: Reliability.NO_FAULT_DETECTED, outOfService: false })),
          { id: P.NUMBER_OF_STATES, read: () => [unsigned(SILENCED_TEXT.length)] },
          { id: P.STATE_TEXT, array: true, read: () => SILENCED_TEXT.map(text) },
        ]),
      },
    ];
  }
}

const LIFE_SAFETY_ALARM_VALUES = [LifeSafetyState.ALARM, LifeSafetyState.FAULT_ALARM];
const ALARM_VALUES = [LifeSafetyState.PRE_ALARM, LifeSafetyState.FAULT_PRE_ALARM, LifeSafetyState.SUPERVISORY];
const FAULT_VALUES = [LifeSafetyState.FAULT, LifeSafetyState.FAULT_PRE_ALARM, LifeSafetyState.FAULT_ALARM];
const ACCEPTED_MODES = [LifeSafetyMode.ENABLED, LifeSafetyMode.DISABLED, LifeSafetyMode.TEST];
const SILENCED_TEXT = ['unsilenced', 'audible-silenced', 'visible-silenced', 'all-silenced'];

/** quiet/pre-alarm/alarm in trouble become fault/fault-pre-alarm/fault-alarm. */
function withFault(state: LifeSafetyState, fault: boolean): LifeSafetyState {
  if (!fault) return state;
  if (state === LifeSafetyState.ALARM) return LifeSafetyState.FAULT_ALARM;
  if (state === LifeSafetyState.PRE_ALARM) return LifeSafetyState.FAULT_PRE_ALARM;
  if (state === LifeSafetyState.QUIET) return LifeSafetyState.FAULT;
  return state;
}

/** What the operator should do next: silence the sounders, then reset the alarm. */
function expectedOperation(state: LifeSafetyState, silenced: SilencedState): LifeSafetyOperation {
  if (state !== LifeSafetyState.ALARM && state !== LifeSafetyState.FAULT_ALARM) return LifeSafetyOperation.NONE;
  return silenced === SilencedState.UNSILENCED ? LifeSafetyOperation.SILENCE : LifeSafetyOperation.RESET_ALARM;
}

/** A panel condition as a Binary Input: active is off-normal (Status_Flags IN_ALARM). */
function binaryInput(instance: number, name: string, description: string, active: () => boolean, activeText: string, inactiveText: string): BacnetObject {
  return {
    type: ObjectType.BINARY_INPUT,
    instance,
    name,
    description,
    cov: {},
    summary: `Present_Value 1 active (${activeText}), 0 inactive (${inactiveText}); Event_State offnormal while active`,
    properties: withPropertyList([
      ...identity(ObjectType.BINARY_INPUT, instance, name, description),
      { id: P.PRESENT_VALUE, read: () => [enumerated(active() ? 1 : 0)] },
      ...health(() => ({ eventState: active() ? EventState.OFFNORMAL : EventState.NORMAL, reliability: Reliability.NO_FAULT_DETECTED, outOfService: false })),
      { id: P.POLARITY, read: () => [enumerated(0)] }, // normal
      { id: P.ACTIVE_TEXT, read: () => [text(activeText)] },
      { id: P.INACTIVE_TEXT, read: () => [text(inactiveText)] },
    ]),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}


