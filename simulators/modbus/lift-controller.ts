/**
 * The `lift-controller` model: one car's controller in a 22-floor tower (B2 … 20F), with traffic
 * from a daily pattern in the site's time zone (morning up-peak, lunch, evening down-peak, quiet
 * nights). Codes are the BACnet Lift enumerations (ASHRAE 135 addendum 2012aq; DOMAIN.md "Lifts"),
 * so the Modbus and a BACnet view of a lift agree. The register map is in the style of a lift
 * group controller's monitoring interface (e.g. a KONE / Schindler remote-monitoring gateway;
 * addresses are ours, unverified).
 */
import type { ModbusDevice } from '@vigil/model';
import type { FaultParams, SimulatorModel } from '../device.ts';
import { Noise } from '../prng.ts';
import { RegisterImage, RegisterMap } from './register-map.ts';
import { FaultBook, NO_RESPONSE, type FaultDefinition } from './faults.ts';
import { ModelTime, SiteClock, dailyCurve, settle } from './time.ts';
import { serveModbus } from './serve.ts';

export const LIFT_CONTROLLER_MODEL = 'lift-controller';

/** Landings, index 0 = B2; the lobby (1F) is index 2. */
export const LIFT_FLOORS = ['B2', 'B1', ...Array.from({ length: 20 }, (_, i) => `${i + 1}F`)] as const;
const LOBBY = 2;
/** BACnet Car_Moving_Direction. */
export const DIRECTION = { unknown: 0, none: 1, stopped: 2, up: 3, down: 4 } as const;
/** BACnet Car_Door_Status. */
export const DOOR = { closed: 0, opened: 1, unknown: 2, doorFault: 3, closing: 6, opening: 7 } as const;
/** BACnet Car_Mode. */
export const CAR_MODE = { normal: 1, firefighter: 6, inspection: 8, fire: 11, outOfService: 12 } as const;
/** BACnet Lift fault signals (the subset DOMAIN.md names). */
export const LIFT_FAULT = { none: 0, driveMotor: 1, doorClosing: 6, doorOpening: 7, outsideLandingZone: 8, runtimeLimit: 13, driveOverTemperature: 15 } as const;

export const LIFT_CONTROLLER_MAP = new RegisterMap(
  [
    { point: 'fire_recall', table: 'coil', address: 0, type: 'bool', meaning: 'fire service recall (phase I): 1 sends the car to the lobby and parks it, doors open, in car mode fire (firefighter for the fire-fighters\' lift)', write: '0 or 1', tags: ['fire', 'cmd'] },
    { point: 'in_service', table: 'discrete', address: 0, type: 'bool', meaning: 'in service: normal mode and no fault', tags: ['enable', 'sensor'] },
    { point: 'alarm_button', table: 'discrete', address: 1, type: 'bool', meaning: 'passenger alarm button pressed (BACnet Passenger_Alarm)', tags: ['alarm', 'sensor'] },
    { point: 'door_zone', table: 'discrete', address: 2, type: 'bool', meaning: 'car within a landing\'s door zone (±75 mm)', tags: ['sensor'] },
    { point: 'car_floor', table: 'holding', address: 0, type: 'uint16', meaning: 'car position: the landing the car is at or nearest to', states: Object.fromEntries(LIFT_FLOORS.map((f, i) => [i, f])), tags: ['sensor'] },
    { point: 'direction', table: 'holding', address: 1, type: 'uint16', meaning: 'car moving direction (BACnet)', states: { 0: 'unknown', 1: 'none', 2: 'stopped', 3: 'up', 4: 'down' }, tags: ['sensor'] },
    { point: 'door_status', table: 'holding', address: 2, type: 'uint16', meaning: 'car door status (BACnet)', states: { 0: 'closed', 1: 'opened', 2: 'unknown', 3: 'door-fault', 6: 'closing', 7: 'opening' }, tags: ['door', 'sensor'] },
    { point: 'car_mode', table: 'holding', address: 3, type: 'uint16', meaning: 'car mode (BACnet)', states: { 1: 'normal', 6: 'firefighter', 8: 'inspection', 11: 'fire', 12: 'out-of-service' }, tags: ['mode', 'sensor'] },
    { point: 'load', table: 'holding', address: 4, type: 'uint16', unit: '%', meaning: 'car load, % of rated load (1350 kg, 18 persons)', tags: ['load', 'sensor'], deadband: 5, range: [0, 100] },
    { point: 'motor_temp', table: 'holding', address: 5, type: 'int16', scale: 0.1, unit: '°C', meaning: 'hoist motor winding temperature', tags: ['motor', 'temp', 'sensor'], deadband: 0.5, range: [20, 80] },
    { point: 'trips', table: 'holding', address: 6, type: 'uint32', meaning: 'trip counter (motor starts)', tags: ['starts', 'sensor'], range: [0, 1e8] },
    {
      point: 'fault_code',
      table: 'holding',
      address: 8,
      type: 'uint16',
      meaning: 'fault code (BACnet Lift fault signals)',
      states: { 0: 'none', 1: 'drive and motor', 6: 'door closing', 7: 'door opening', 8: 'car stopped outside landing zone', 13: 'runtime limit exceeded', 15: 'drive temperature exceeded' },
      tags: ['fault', 'sensor'],
    },
    { point: 'car_position', table: 'holding', address: 9, type: 'uint16', scale: 0.01, unit: 'm', meaning: 'car height above the B2 landing (landings every 3.60 m)', tags: ['sensor'], deadband: 0.5, range: [0, 75.6] },
    { point: 'levelling_error', table: 'holding', address: 10, type: 'int16', unit: 'mm', meaning: 'sill step at the last stop, car above landing positive (EN 81-20: stopping accuracy ±10 mm)', tags: ['sensor'], range: [-10, 10] },
  ],
  { coils: 4, discreteInputs: 8, holdingRegisters: 16, inputRegisters: 16 },
);

const FLOOR_HEIGHT_M = 3.6;
/** About travel ÷ 20 s (DOMAIN.md "Lifts"). */
const SPEED_M_S = 2.5;
const RESCUE_SPEED_M_S = 0.3;
/** Door and motion times, s (DOMAIN.md: open 2–3, close 3–4, dwell 3–5; unverified). */
const DOOR_OPEN_S = 2.5;
const DOOR_CLOSE_S = 3.5;
const DWELL_S = 4;
const START_S = 1;
const STOP_S = 1;
const DOOR_ZONE_M = 0.075;
const RATED_PERSONS = 18;
/** Machine-room temperature and the winding's rise at full duty (unverified). */
const AMBIENT_C = 30;
const DUTY_RISE_K = 35;
const OVERHEAT_RISE_K = 90;
/** The drive trips above this and resets below the second (unverified). */
const OVER_TEMP_C = 100;
const OVER_TEMP_RESET_C = 85;
/** Passenger journeys per hour per car, by hour of site time: 200–600 starts a day (DOMAIN.md, unverified). */
const JOURNEYS_PER_HOUR = dailyCurve([
  [0, 1],
  [6, 2],
  [7, 10],
  [8.25, 30],
  [9.5, 24],
  [10.25, 9],
  [11.5, 12],
  [12.25, 22],
  [13.5, 10],
  [17, 12],
  [18, 30],
  [19.25, 12],
  [22, 4],
  [23.5, 1],
]);
const MAX_QUEUE = 4;

const FAULTS: FaultDefinition[] = [
  {
    name: 'entrapment',
    description:
      'The car stops between floors (outside the door zone, position between landings), doors closed, occupied (load ≥ 2 persons), direction stopped, not in service, fault code 8; the passenger alarm button is pressed 5 s later (DOMAIN.md "Entrapment"). Cleared: the car creeps to the nearest landing and lets the passengers out.',
  },
  {
    name: 'door-fault',
    description: 'The doors do not close: every closing reopens (door status closing → opening → opened …); from the third reopening fault code 6 (door closing) and not in service. The car cannot leave.',
  },
  {
    name: 'levelling-error',
    description: 'Every stop ends `mm` off the landing (sign varies), shown in holding 10; beyond the door zone (75 mm) the doors stay shut and fault code 8 is set.',
    params: { mm: { min: 0, max: 500, default: 40, description: 'sill step, mm' } },
  },
  {
    name: 'motor-overheat',
    description: 'The hoist motor heats up (about +90 K, time constant 15 min of simulated time); above 100 °C the drive trips: fault code 15, the car finishes its trip, parks with doors open, not in service. Cleared: it cools and resets below 85 °C.',
  },
  {
    name: 'out-of-service',
    description: 'Taken out of service: car mode 12, not in service; the car finishes its trip and parks with doors closed; no new journeys.',
  },
  NO_RESPONSE,
];

type Phase = 'idle' | 'opening' | 'open' | 'closing' | 'starting' | 'moving' | 'stopping' | 'stuck';
interface Journey {
  from: number;
  to: number;
  persons: number;
  boarded: boolean;
}

export interface LiftOptions {
  seed: number;
  timeZone: string;
  start: number;
  /** The fire-fighters' lift: a service lift in normal times, firefighter mode on recall. */
  firefighter?: boolean;
}

export class LiftController {
  readonly image = new RegisterImage(LIFT_CONTROLLER_MAP);
  readonly book = new FaultBook(LIFT_CONTROLLER_MODEL, FAULTS);
  private readonly noise: Noise;
  private readonly time: ModelTime;
  private readonly siteClock: SiteClock;
  phase: Phase = 'idle';
  /** Car height above the B2 landing, m. */
  position: number;
  target: number;
  persons = 0;
  trips: number;
  motorTemp = AMBIENT_C + 5;
  tripCode: number = LIFT_FAULT.none;
  readonly queue: Journey[] = [];
  private timer = 0;
  private reopenings = 0;
  private levelling = 0;
  private duty = 0.2;
  private stuckS = 0;
  private recall = false;
  /** Creeping to a landing after an entrapment. */
  private rescuing = false;
  private loadReading = 0;
  private tempReading = AMBIENT_C + 5;

  constructor(readonly opts: LiftOptions) {
    this.noise = new Noise(opts.seed);
    this.time = new ModelTime(opts.start, 500);
    this.siteClock = new SiteClock(opts.timeZone);
    this.target = LOBBY;
    this.position = LOBBY * FLOOR_HEIGHT_M;
    this.trips = 200_000 + Math.floor(this.noise.unit() * 50_000);
    this.image.onWrite = (point, value) => {
      if (point === 'fire_recall') this.recall = value === 1;
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
  get floor(): number {
    return Math.max(0, Math.min(LIFT_FLOORS.length - 1, Math.round(this.position / FLOOR_HEIGHT_M)));
  }
  get inDoorZone(): boolean {
    return Math.abs(this.position - this.floor * FLOOR_HEIGHT_M) <= DOOR_ZONE_M;
  }
  get carMode(): number {
    if (this.book.has('out-of-service')) return CAR_MODE.outOfService;
    if (this.recall) return this.opts.firefighter ? CAR_MODE.firefighter : CAR_MODE.fire;
    return CAR_MODE.normal;
  }
  get faultCode(): number {
    if (this.tripCode) return this.tripCode;
    if (this.phase === 'stuck') return LIFT_FAULT.outsideLandingZone;
    if (this.book.has('door-fault') && this.reopenings >= 3) return LIFT_FAULT.doorClosing;
    return LIFT_FAULT.none;
  }
  get inService(): boolean {
    return this.carMode === CAR_MODE.normal && this.faultCode === LIFT_FAULT.none;
  }
  /** Journeys are taken only in normal service (a fault or a mode stops new ones). */
  private get accepting(): boolean {
    return this.inService && !this.book.has('door-fault');
  }

  faults() {
    return this.book.list();
  }

  inject(fault: string, params: FaultParams | undefined, now: number): void {
    this.book.inject(fault, params, now);
    if (fault === 'entrapment') this.entrap();
    if (fault === 'out-of-service') this.queue.length = 0;
    // Someone calls the idle car: its doors open, and then fail to close.
    if (fault === 'door-fault' && this.phase === 'idle' && this.inDoorZone) this.begin('opening', DOOR_OPEN_S);
    this.publish();
  }

  clear(fault: string): void {
    this.book.clear(fault);
    if (fault === 'entrapment' && this.phase === 'stuck') {
      // Rescue: creep to the nearest landing, then open the doors.
      this.stuckS = 0;
      this.target = this.floor;
      this.rescuing = true;
      this.phase = 'moving';
    }
    if (fault === 'door-fault') this.reopenings = 0;
    if (fault === 'levelling-error' && this.phase === 'stuck') {
      this.position = this.floor * FLOOR_HEIGHT_M;
      this.levelling = 0;
      this.begin('opening', DOOR_OPEN_S);
    }
    this.publish();
  }

  step(now: number): void {
    const before = this.time.t;
    this.time.advance(now, (t, dt) => this.tick(t, dt));
    if (this.time.t !== before) this.publish();
  }

  private entrap(): void {
    // Stopped between floors wherever it was, or just after leaving the landing it stood at.
    const landing = this.floor * FLOOR_HEIGHT_M;
    if (Math.abs(this.position - landing) < 0.6) this.position = landing + (this.floor < LIFT_FLOORS.length - 1 ? 1.4 : -1.4);
    this.persons = Math.max(this.persons, 2 + Math.floor(this.noise.unit() * 3));
    this.queue.length = 0;
    this.phase = 'stuck';
    this.stuckS = 0;
  }

  private begin(phase: Phase, seconds = 0): void {
    this.phase = phase;
    this.timer = seconds;
  }

  private tick(t: number, dt: number): void {
    const n = this.noise;
    const hour = this.siteClock.hourOfDay(t);
    const rate = JOURNEYS_PER_HOUR(hour) * (this.opts.firefighter ? 0.4 : 1);
    if (this.accepting && !this.recall && this.queue.length < MAX_QUEUE && n.unit() < (rate * dt) / 3600) this.queue.push(this.journey(hour));
    this.timer -= dt;
    switch (this.phase) {
      case 'idle':
        this.next();
        break;
      case 'opening':
        if (this.timer <= 0) this.begin('open', DWELL_S);
        break;
      case 'open':
        if (this.timer <= 0) {
          this.exchange();
          // Parked by a recall or a drive trip: the doors stay open.
          if ((this.recall && this.floor === LOBBY) || this.tripCode) this.timer = DWELL_S;
          else this.begin('closing', DOOR_CLOSE_S);
        }
        break;
      case 'closing':
        if (this.timer <= 0) {
          if (this.book.has('door-fault')) {
            this.reopenings++;
            this.begin('opening', DOOR_OPEN_S);
          } else this.begin('idle');
        }
        break;
      case 'starting':
        if (this.timer <= 0) {
          this.trips++;
          this.begin('moving');
        }
        break;
      case 'moving': {
        const goal = this.target * FLOOR_HEIGHT_M;
        const step = (this.rescuing ? RESCUE_SPEED_M_S : SPEED_M_S) * dt;
        if (Math.abs(goal - this.position) <= step) {
          this.position = goal;
          this.begin('stopping', STOP_S);
        } else this.position += Math.sign(goal - this.position) * step;
        break;
      }
      case 'stopping':
        if (this.timer <= 0) this.arrive();
        break;
      case 'stuck':
        this.stuckS += dt;
        break;
    }
    this.thermal(dt);
    // Load cell and winding sensor readings.
    this.loadReading = this.persons > 0 ? (this.persons * 100) / RATED_PERSONS + n.plusMinus(2) : Math.max(0, n.plusMinus(1));
    this.tempReading = this.motorTemp + n.plusMinus(0.2);
  }

  /** Picks the next stop: the lobby on recall, else the head journey's origin or destination. */
  private next(): void {
    if (this.tripCode || this.book.has('out-of-service')) return;
    let stop: number | undefined;
    if (this.recall) stop = LOBBY;
    else if (this.queue[0]) stop = this.queue[0].boarded ? this.queue[0].to : this.queue[0].from;
    if (stop === undefined) return;
    if (stop === this.floor && this.inDoorZone) {
      this.begin('opening', DOOR_OPEN_S);
      return;
    }
    this.target = stop;
    this.begin('starting', START_S);
  }

  private arrive(): void {
    this.rescuing = false;
    const lev = this.book.get('levelling-error');
    this.levelling = lev ? Math.round((lev.params.mm ?? 40) * (this.noise.unit() < 0.5 ? -1 : 1) * (0.8 + 0.4 * this.noise.unit())) : Math.round(this.noise.plusMinus(6));
    this.position = this.target * FLOOR_HEIGHT_M + this.levelling / 1000;
    if (!this.inDoorZone) {
      // Outside the door zone the doors must stay shut (EN 81-20).
      this.begin('stuck');
      return;
    }
    this.begin('opening', DOOR_OPEN_S);
  }

  /** Passengers leave and board at the open doors. */
  private exchange(): void {
    const head = this.queue[0];
    if (!head || this.tripCode) {
      // No journey to serve here (a rescue, a recall, a trip): everyone gets out.
      this.persons = 0;
      return;
    }
    if (!head.boarded && head.from === this.floor) {
      head.boarded = true;
      this.persons = head.persons;
    } else if (head.boarded && head.to === this.floor) {
      this.persons = 0;
      this.queue.shift();
    }
  }

  /** A journey shaped by the time of day: up-peak from the lobby and car park, down-peak to them. */
  private journey(hour: number): Journey {
    const n = this.noise;
    const upper = () => LOBBY + 1 + Math.floor(n.unit() * (LIFT_FLOORS.length - LOBBY - 1));
    const ground = () => (n.unit() < 0.75 ? LOBBY : Math.floor(n.unit() * LOBBY));
    const persons = (lo: number, hi: number) => lo + Math.floor(n.unit() * (hi - lo + 1));
    const r = n.unit();
    if (hour >= 7 && hour < 10 && r < 0.8) return { from: ground(), to: upper(), persons: persons(3, 12), boarded: false };
    if (hour >= 17 && hour < 19.5 && r < 0.8) return { from: upper(), to: ground(), persons: persons(3, 12), boarded: false };
    if (hour >= 11.5 && hour < 13.5 && r < 0.7) return r < 0.35 ? { from: upper(), to: ground(), persons: persons(2, 8), boarded: false } : { from: ground(), to: upper(), persons: persons(2, 8), boarded: false };
    const from = Math.floor(n.unit() * LIFT_FLOORS.length);
    let to = Math.floor(n.unit() * (LIFT_FLOORS.length - 1));
    if (to >= from) to++;
    return { from, to, persons: persons(1, 3), boarded: false };
  }

  private thermal(dt: number): void {
    const moving = this.phase === 'moving' || this.phase === 'starting' ? 1 : 0;
    this.duty += (moving - this.duty) * settle(dt, 600);
    const target = AMBIENT_C + DUTY_RISE_K * this.duty + (this.book.has('motor-overheat') ? OVERHEAT_RISE_K : 0);
    this.motorTemp += (target - this.motorTemp) * settle(dt, 900);
    if (this.motorTemp > OVER_TEMP_C && !this.tripCode) {
      this.tripCode = LIFT_FAULT.driveOverTemperature;
      this.queue.length = 0;
    }
    if (this.tripCode === LIFT_FAULT.driveOverTemperature && this.motorTemp < OVER_TEMP_RESET_C && !this.book.has('motor-overheat')) {
      this.tripCode = LIFT_FAULT.none;
      if (this.phase === 'open') this.begin('closing', DOOR_CLOSE_S);
    }
  }

  private publish(): void {
    const img = this.image;
    const moving = this.phase === 'moving' || this.phase === 'starting';
    const up = this.target * FLOOR_HEIGHT_M > this.position;
    const direction = moving ? (up ? DIRECTION.up : DIRECTION.down) : this.phase === 'idle' && this.queue.length === 0 ? DIRECTION.none : DIRECTION.stopped;
    let door: number = DOOR.closed;
    if (this.phase === 'opening') door = DOOR.opening;
    else if (this.phase === 'open') door = DOOR.opened;
    else if (this.phase === 'closing') door = DOOR.closing;
    img.set('in_service', this.inService);
    // The trapped passengers press the alarm button after a few seconds (DOMAIN.md "Entrapment").
    img.set('alarm_button', this.phase === 'stuck' && this.book.has('entrapment') && this.stuckS >= 5);
    img.set('door_zone', this.inDoorZone);
    img.set('car_floor', this.floor);
    img.set('direction', direction);
    img.set('door_status', door);
    img.set('car_mode', this.carMode);
    img.set('load', Math.max(0, Math.min(100, this.loadReading)));
    img.set('motor_temp', this.tempReading);
    img.set('trips', this.trips);
    img.set('fault_code', this.faultCode);
    img.set('car_position', this.position);
    img.set('levelling_error', this.levelling);
    img.set('fire_recall', this.recall);
    img.commit();
  }
}

export const liftControllerModel: SimulatorModel<ModbusDevice> = {
  name: LIFT_CONTROLLER_MODEL,
  protocol: 'modbus-tcp',
  description: 'One lift car\'s controller (22 floors, B2–20F) with daily traffic; BACnet Lift codes in Modbus registers',
  reference: () =>
    [
      'In the style of a lift remote-monitoring gateway (KONE / Schindler-like; addresses are ours, unverified); every code is the BACnet Lift enumeration\'s (DOMAIN.md "Lifts"). Params: `car` (number, informational), `firefighter` (true: the fire-fighters\' lift — 40 % of the traffic, car mode 6 on recall).',
      '',
      LIFT_CONTROLLER_MAP.markdown(),
      '',
      'Behaviour (DOMAIN.md "Lifts"; times unverified): landings every 3.60 m, 2.5 m/s, doors open 2.5 s, dwell 4 s, close 3.5 s, 1 s to start and to stop. Journeys arrive at random with a rate by the site\'s local time — about 1 an hour at night, 30 in the morning up-peak (08:15, mostly from the lobby and car park upwards), 22 at lunch, 30 in the evening down-peak (18:00, mostly down) — so a car makes about 500 trips a day. The car serves its journeys in turn (origin, then destination) with 1–12 persons; load is persons × 100 / 18 %. The motor warms with the share of time moving (30 °C + 35 K at full duty, time constant 15 min).',
      '',
      new FaultBook(LIFT_CONTROLLER_MODEL, FAULTS).markdown(),
    ].join('\n'),
  async start(ctx) {
    const params = ctx.device.simulator?.params ?? {};
    const lift = new LiftController({ seed: ctx.seed, timeZone: ctx.site.site.timezone, start: ctx.clock.now(), firefighter: params.firefighter === true });
    return serveModbus(LIFT_CONTROLLER_MODEL, ctx, lift);
  },
};
