/**
 * The `access-control` model: an access-control vendor bridge publishing the site's doors (assets of
 * class `door`, each with one card reader) and a guard-patrol route to MQTT, below the device's
 * `topic`. Event and alarm codes follow the BACnet access-control objects (DOMAIN.md, "Access
 * control and patrol"); the event names follow what bridges commonly send ("forced open" /
 * "forced open cancelled"). Traffic follows the site's occupancy in its own time zone.
 */
import type { MqttDevice, Site } from '@vigil/model';
import type { FaultParams, SimulatorModel } from '../device.ts';
import { SimError } from '../errors.ts';
import { Agenda, BridgeOutput, paramsAndFaultsMarkdown, simulatedBridge, LocalTime, occupancy, param, poissonGap, pseudonym, streams } from './bridge.ts';

export const ACCESS_CONTROL_MODEL = 'access-control';

/** BACnet access events (ASHRAE 135 BACnetAccessEvent) the bridge reports. */
export const ACCESS_EVENTS = {
  granted: 1,
  'lockout-max-attempts': 6,
  'denied-unknown-credential': 129,
  'denied-outside-time-range': 136,
  'denied-credential-expired': 152,
} as const;
type AccessEventName = keyof typeof ACCESS_EVENTS;

/** BACnet door alarm states (BACnetDoorAlarmState). */
export const DOOR_ALARM_STATES = { normal: 0, 'door-open-too-long': 2, 'forced-open': 3, tamper: 4, 'door-fault': 5 } as const;
type DoorAlarmStateName = keyof typeof DOOR_ALARM_STATES;

/** Model parameters (`simulator.params` in the site file), with their defaults. */
export const ACCESS_CONTROL_DEFAULTS = {
  /** Card swipes per door and hour at peak occupancy (the site's total grows with its doors, e.g. under `--scale`). */
  peakSwipesPerDoorHour: 25,
  /** Held open: pre-alarm after this many seconds (DOMAIN.md: Axis-like 10 s). */
  heldPreAlarmS: 10,
  /** Held open: door-open-too-long alarm after this many seconds (DOMAIN.md: 30 s). */
  heldAlarmS: 30,
  /** A patrol round starts every this many hours, from local midnight. */
  patrolEveryH: 2,
  /** Each checkpoint's time window, in minutes, one after another along the route. */
  patrolWindowMin: 4,
};

/** Retained state is republished this often, in simulated time (1 minute). */
const STATE_PERIOD_MS = 60_000;
/** A forced door swings shut after this long; its alarm stays until the fault is cleared (reset). */
const FORCED_OPEN_MS = 5_000;
/** Size of the pseudonymous card population, and of the pool of unknown cards that get denied. */
const CARDHOLDERS = 800;
const UNKNOWN_CARDS = 40;
/** Denied share of swipes: more at night, when most credentials are outside their time range. */
const DENIED_SHARE_DAY = 0.025;
const DENIED_SHARE_NIGHT = 0.15;
/** Lobby doors (the ground floor) see this many times the traffic of another door. */
const LOBBY_WEIGHT = 3;
/** Consecutive denials of one card before the controller locks it out (event 6). */
const LOCKOUT_AFTER = 5;

interface FaultDef {
  description: string;
  params: readonly string[];
}

export const ACCESS_CONTROL_FAULTS: Record<string, FaultDef> = {
  'door-forced': {
    description: 'A door opens without a valid credential: event door-forced-open (alarm state 3); it swings shut after 5 s, the alarm stays until cleared. Param: door (asset id; default the first door).',
    params: ['door'],
  },
  'held-open': {
    description: 'A door is opened with a valid card and propped open: pre-alarm after heldPreAlarmS (10 s), door-open-too-long (alarm state 2) after heldAlarmS (30 s); cleared: the door closes. Param: door.',
    params: ['door'],
  },
  'reader-offline': {
    description: "A door's reader stops answering its controller: event reader-offline, no swipes reported there until cleared. Param: door.",
    params: ['door'],
  },
  'reader-tamper': {
    description: "A door's reader housing is opened: event reader-tamper (alarm state 4) until cleared. Param: door.",
    params: ['door'],
  },
  'denied-burst': {
    description: `One unknown card is tried again and again at a door: count denials (code 129) 2–5 s apart, then a lockout (code 6) when count ≥ ${LOCKOUT_AFTER}. Params: door, count (1–100, default 8).`,
    params: ['door', 'count'],
  },
  'missed-checkpoint': {
    description: 'The guard does not reach a patrol checkpoint in its window: checkpoint-missed at the end of each window while active. Param: checkpoint (cp-<floor>; default the first).',
    params: ['checkpoint'],
  },
  'fire-release': {
    description: "The fire-alarm interface releases doors (unlocked) until cleared. Param: floor (a floor id; default every floor).",
    params: ['floor'],
  },
};

interface Door {
  id: string;
  name: string;
  floor: string;
  reader: string;
  weight: number;
  /** Open after a valid passage until this time. */
  passageUntil: number;
  forced: boolean;
  forcedOpenUntil: number;
  heldOpen: boolean;
  heldAlarm: boolean;
  tamper: boolean;
  readerOnline: boolean;
  released: boolean;
}

interface Checkpoint {
  id: string;
  floor: string;
}

export interface AccessControlBridgeOptions {
  site: Site;
  device: MqttDevice;
  seed: number;
  /** Simulated time the bridge starts at. */
  start: number;
  out: BridgeOutput;
}

/** The bridge's behaviour, apart from how it is started: stepped in simulated time. */
export class AccessControlBridge {
  readonly doors: Door[];
  readonly checkpoints: Checkpoint[];
  private readonly byId: Map<string, Door>;
  private readonly agenda = new Agenda();
  private readonly local: LocalTime;
  private readonly noise;
  private readonly settings: typeof ACCESS_CONTROL_DEFAULTS;
  private readonly active = new Map<string, { key: string; undo: (at: number) => void }>();
  private readonly missing = new Set<string>();
  private readonly totalWeight: number;
  /** Swipes per hour over the whole site at peak occupancy. */
  private readonly peakPerHour: number;
  private now: number;

  constructor(private readonly opts: AccessControlBridgeOptions) {
    const { site, device, seed, start } = opts;
    this.settings = readSettings(device);
    this.local = new LocalTime(site.site.timezone);
    this.noise = streams(seed, ['traffic', 'patrol', 'fault'] as const);
    this.now = start;
    const lobby = new Set(site.buildings.flatMap((b) => b.floors.filter((f) => f.level === 0).map((f) => f.id)));
    this.doors = site.assets
      .filter((a) => a.class === 'door')
      .map((a) => ({
        id: a.id,
        name: a.name,
        floor: a.floor,
        reader: `${a.id}-rdr`,
        weight: lobby.has(a.floor) ? LOBBY_WEIGHT : 1,
        passageUntil: 0,
        forced: false,
        forcedOpenUntil: 0,
        heldOpen: false,
        heldAlarm: false,
        tamper: false,
        readerOnline: true,
        released: false,
      }));
    this.byId = new Map(this.doors.map((d) => [d.id, d]));
    this.totalWeight = this.doors.reduce((s, d) => s + d.weight, 0);
    this.peakPerHour = this.settings.peakSwipesPerDoorHour * this.doors.length;
    // One checkpoint per floor, walked from the lowest basement up.
    const multi = site.buildings.length > 1;
    this.checkpoints = site.buildings.flatMap((b) =>
      [...b.floors].sort((x, y) => x.level - y.level).map((f) => ({ id: multi ? `cp-${b.id}-${f.id}` : `cp-${f.id}`, floor: f.id })),
    );

    this.agenda.at(start, (t) => this.snapshot(t));
    if (this.doors.length > 0) this.agenda.at(start + poissonGap(this.noise.traffic, this.peakPerHour), (t) => this.arrival(t));
    if (this.checkpoints.length > 0) {
      const every = this.settings.patrolEveryH * 3_600_000;
      this.agenda.at(this.local.nextMultiple(start, every), (t) => this.round(t));
    }
  }

  step(now: number): void {
    this.now = Math.max(this.now, now);
    this.agenda.runUntil(this.now);
  }

  faults(): Array<{ name: string; description: string; active: boolean }> {
    return Object.entries(ACCESS_CONTROL_FAULTS).map(([name, f]) => ({ name, description: f.description, active: this.active.has(name) }));
  }

  /** Applies at simulated time `at`. Injecting an active fault again with other params moves it. */
  inject(fault: string, params: FaultParams, at: number): void {
    const def = ACCESS_CONTROL_FAULTS[fault];
    if (!def) throw new SimError('not-found', `no fault '${fault}' on an access-control bridge (faults: ${Object.keys(ACCESS_CONTROL_FAULTS).join(', ')})`);
    param.only(params, fault, def.params);
    const apply = this.prepare(fault, params);
    const key = JSON.stringify(params);
    const current = this.active.get(fault);
    if (current?.key === key) return;
    if (current) this.clear(fault, at);
    this.active.set(fault, { key, undo: apply(Math.max(at, this.now)) });
  }

  clear(fault: string, at: number): void {
    if (!ACCESS_CONTROL_FAULTS[fault]) throw new SimError('not-found', `no fault '${fault}' on an access-control bridge`);
    const current = this.active.get(fault);
    if (!current) return;
    this.active.delete(fault);
    current.undo(Math.max(at, this.now));
  }

  /** Checks params and returns the fault's effect: apply(at) → undo(at). Throws before anything changes. */
  private prepare(fault: string, params: FaultParams): (at: number) => (at: number) => void {
    const doorIds = this.doors.map((d) => d.id);
    const door = () => {
      if (doorIds.length === 0) throw new SimError('invalid', `site has no doors (assets of class 'door')`);
      return this.byId.get(param.choice(params, 'door', doorIds, doorIds[0]!))!;
    };
    const at = this.agenda;
    switch (fault) {
      case 'door-forced': {
        const d = door();
        return (t0) => {
          const close = at.at(t0, (t) => {
            d.forced = true;
            d.forcedOpenUntil = t + FORCED_OPEN_MS;
            this.doorEvent(d, t, 'door-forced-open');
            at.at(t + FORCED_OPEN_MS, (t2) => this.publishDoor(d, t2));
          });
          return (t1) => {
            close.cancel();
            at.at(t1, (t) => {
              if (!d.forced) return;
              d.forced = false;
              d.forcedOpenUntil = 0;
              this.doorEvent(d, t, 'door-forced-open-cancelled');
            });
          };
        };
      }
      case 'held-open': {
        const d = door();
        const { heldPreAlarmS, heldAlarmS } = this.settings;
        return (t0) => {
          const steps = [
            at.at(t0, (t) => {
              d.heldOpen = true;
              this.swipe(d, t, 'granted', this.cardholder(this.noise.fault.unit()));
              this.publishDoor(d, t);
            }),
            at.at(t0 + heldPreAlarmS * 1000, (t) => this.doorEvent(d, t, 'door-held-open', { stage: 'pre-alarm', openForS: heldPreAlarmS })),
            at.at(t0 + heldAlarmS * 1000, (t) => {
              d.heldAlarm = true;
              this.doorEvent(d, t, 'door-held-open', { stage: 'alarm', openForS: heldAlarmS });
            }),
          ];
          return (t1) => {
            steps.forEach((s) => s.cancel());
            at.at(t1, (t) => {
              if (!d.heldOpen) return;
              const alarmed = d.heldAlarm || t >= t0 + heldPreAlarmS * 1000;
              d.heldOpen = false;
              d.heldAlarm = false;
              if (alarmed) this.doorEvent(d, t, 'door-held-open-cancelled');
              else this.publishDoor(d, t);
            });
          };
        };
      }
      case 'reader-offline': {
        const d = door();
        return (t0) => {
          at.at(t0, (t) => {
            d.readerOnline = false;
            this.doorEvent(d, t, 'reader-offline');
          });
          return (t1) =>
            void at.at(t1, (t) => {
              d.readerOnline = true;
              this.doorEvent(d, t, 'reader-online');
            });
        };
      }
      case 'reader-tamper': {
        const d = door();
        return (t0) => {
          at.at(t0, (t) => {
            d.tamper = true;
            this.doorEvent(d, t, 'reader-tamper');
          });
          return (t1) =>
            void at.at(t1, (t) => {
              d.tamper = false;
              this.doorEvent(d, t, 'reader-tamper-cancelled');
            });
        };
      }
      case 'denied-burst': {
        const d = door();
        const count = param.integer(params, 'count', 1, 100, 8);
        return (t0) => {
          const card = this.unknownCard(this.noise.fault.unit());
          const steps: Array<{ cancel(): void }> = [];
          let t = t0;
          for (let i = 0; i < count; i++) {
            if (i > 0) t += 2000 + Math.floor(this.noise.fault.unit() * 3000);
            steps.push(at.at(t, (ts) => this.swipe(d, ts, 'denied-unknown-credential', card)));
          }
          if (count >= LOCKOUT_AFTER) steps.push(at.at(t + 1000, (ts) => this.swipe(d, ts, 'lockout-max-attempts', card)));
          return () => steps.forEach((s) => s.cancel());
        };
      }
      case 'missed-checkpoint': {
        const ids = this.checkpoints.map((c) => c.id);
        if (ids.length === 0) throw new SimError('invalid', 'the site has no floors, so no patrol checkpoints');
        const cp = param.choice(params, 'checkpoint', ids, ids[0]!);
        return () => {
          this.missing.add(cp);
          return () => this.missing.delete(cp);
        };
      }
      case 'fire-release': {
        const floors = [...new Set(this.doors.map((d) => d.floor))];
        const floor = param.choice(params, 'floor', floors, '');
        const doors = this.doors.filter((d) => !floor || d.floor === floor);
        const set = (released: boolean) => (t0: number) =>
          void at.at(t0, (t) => {
            for (const d of doors) {
              d.released = released;
              this.doorEvent(d, t, released ? 'door-released' : 'door-secured', { reason: 'fire-alarm' });
            }
          });
        return (t0) => {
          set(true)(t0);
          return set(false);
        };
      }
      default:
        throw new SimError('not-found', `no fault '${fault}'`);
    }
  }

  /** One candidate swipe of the site's traffic (thinned by occupancy). Always draws the same numbers, whatever happens. */
  private arrival(t: number): void {
    const n = this.noise.traffic;
    const [keep, which, who, outcome, reason, passage] = [n.unit(), n.unit(), n.unit(), n.unit(), n.unit(), n.unit()];
    const share = occupancy(this.local.hour(t), this.local.weekday(t));
    if (keep < share) {
      const d = this.pickDoor(which);
      const deniedShare = share < 0.1 ? DENIED_SHARE_NIGHT : DENIED_SHARE_DAY;
      if (outcome >= deniedShare) {
        d.passageUntil = t + 3000 + Math.floor(passage * 3000);
        this.swipe(d, t, 'granted', this.cardholder(who));
      } else {
        const night = share < 0.1;
        const name: AccessEventName = reason < (night ? 0.2 : 0.5) ? 'denied-unknown-credential' : reason < 0.85 ? 'denied-outside-time-range' : 'denied-credential-expired';
        this.swipe(d, t, name, name === 'denied-unknown-credential' ? this.unknownCard(who) : this.cardholder(who));
      }
    }
    this.agenda.at(t + poissonGap(n, this.peakPerHour), (next) => this.arrival(next));
  }

  /** A patrol round: each checkpoint in its window, in route order. */
  private round(start: number): void {
    const windowMs = this.settings.patrolWindowMin * 60_000;
    const guard = pseudonym('guard', `${this.opts.site.site.id}/guard/${Math.floor(this.noise.patrol.unit() * 6)}`);
    const roundId = this.local.iso(start);
    this.checkpoints.forEach((cp, i) => {
      const windowStart = start + i * windowMs;
      const windowEnd = windowStart + windowMs;
      const scanAt = windowStart + Math.floor((0.15 + 0.7 * this.noise.patrol.unit()) * windowMs);
      let scanned = false;
      const body = () => ({ route: 'tower-round', round: roundId, checkpoint: cp.id, floor: cp.floor, guard, windowStart, windowEnd });
      this.agenda.at(scanAt, (t) => {
        if (this.missing.has(cp.id)) return;
        scanned = true;
        this.opts.out.event(`patrol/${cp.id}/event`, { ts: t, time: this.local.iso(t), type: 'checkpoint-scan', ...body(), onTime: true });
      });
      this.agenda.at(windowEnd, (t) => {
        if (!scanned) this.opts.out.event(`patrol/${cp.id}/event`, { ts: t, time: this.local.iso(t), type: 'checkpoint-missed', ...body() });
      });
    });
    const every = this.settings.patrolEveryH * 3_600_000;
    this.agenda.at(this.local.nextMultiple(start + 1, every), (t) => this.round(t));
  }

  /** Retained state of every door and of the bridge; only the latest snapshot of a long step goes out. */
  private snapshot(t: number): void {
    this.agenda.at(t + STATE_PERIOD_MS, (next) => this.snapshot(next));
    if (t + STATE_PERIOD_MS <= this.now) return;
    this.opts.out.state('bridge/status', {
      ts: t,
      online: true,
      doors: this.doors.length,
      readersOnline: this.doors.filter((d) => d.readerOnline).length,
      checkpoints: this.checkpoints.length,
    });
    for (const d of this.doors) this.publishDoor(d, t);
  }

  private swipe(d: Door, t: number, name: AccessEventName, card: string): void {
    if (!d.readerOnline) return; // an offline reader reports nothing
    this.opts.out.event(`door/${d.id}/event`, {
      ts: t,
      time: this.local.iso(t),
      type: name === 'granted' ? 'access-granted' : name === 'lockout-max-attempts' ? 'lockout' : 'access-denied',
      door: d.id,
      reader: d.reader,
      accessEvent: ACCESS_EVENTS[name],
      accessEventText: name,
      card,
    });
  }

  private doorEvent(d: Door, t: number, type: string, extra: object = {}): void {
    const state = this.alarmState(d);
    this.opts.out.event(`door/${d.id}/event`, { ts: t, time: this.local.iso(t), type, door: d.id, reader: d.reader, alarmState: DOOR_ALARM_STATES[state], alarmStateText: state, ...extra });
    this.publishDoor(d, t);
  }

  private publishDoor(d: Door, t: number): void {
    const state = this.alarmState(d);
    this.opts.out.state(`door/${d.id}/state`, {
      ts: t,
      door: d.id,
      reader: d.reader,
      open: d.heldOpen || t < d.passageUntil || (d.forced && t < d.forcedOpenUntil),
      locked: !d.released && !d.heldOpen && t >= d.passageUntil,
      alarmState: DOOR_ALARM_STATES[state],
      alarmStateText: state,
      readerOnline: d.readerOnline,
    });
  }

  /** One alarm state per door (BACnet): the most serious condition wins. */
  private alarmState(d: Door): DoorAlarmStateName {
    if (d.forced) return 'forced-open';
    if (d.heldAlarm) return 'door-open-too-long';
    if (d.tamper) return 'tamper';
    return 'normal';
  }

  private pickDoor(u: number): Door {
    let left = u * this.totalWeight;
    for (const d of this.doors) {
      left -= d.weight;
      if (left < 0) return d;
    }
    return this.doors[this.doors.length - 1]!;
  }

  private cardholder(u: number): string {
    return pseudonym('card', `${this.opts.site.site.id}/cardholder/${Math.floor(u * CARDHOLDERS)}`);
  }

  private unknownCard(u: number): string {
    return pseudonym('card', `${this.opts.site.site.id}/unknown/${Math.floor(u * UNKNOWN_CARDS)}`);
  }
}

function readSettings(device: MqttDevice): typeof ACCESS_CONTROL_DEFAULTS {
  const p = device.simulator?.params ?? {};
  param.only(p, `${ACCESS_CONTROL_MODEL} model`, Object.keys(ACCESS_CONTROL_DEFAULTS));
  const d = ACCESS_CONTROL_DEFAULTS;
  const s = {
    peakSwipesPerDoorHour: param.integer(p, 'peakSwipesPerDoorHour', 1, 3600, d.peakSwipesPerDoorHour),
    heldPreAlarmS: param.integer(p, 'heldPreAlarmS', 1, 3600, d.heldPreAlarmS),
    heldAlarmS: param.integer(p, 'heldAlarmS', 1, 3600, d.heldAlarmS),
    patrolEveryH: param.integer(p, 'patrolEveryH', 1, 24, d.patrolEveryH),
    patrolWindowMin: param.integer(p, 'patrolWindowMin', 1, 60, d.patrolWindowMin),
  };
  if (s.heldAlarmS < s.heldPreAlarmS) throw new SimError('invalid', `param 'heldAlarmS' (${s.heldAlarmS}) must not be below 'heldPreAlarmS' (${s.heldPreAlarmS})`);
  return s;
}

/** The topic tree and payloads, rendered from the tables the bridge publishes from. */
export function accessControlReference(): string {
  const events = [
    ['access-granted', 'a valid card opened the door (accessEvent 1)'],
    ['access-denied', 'a card was refused (accessEvent 129, 136 or 152)'],
    ['lockout', `a card refused ${LOCKOUT_AFTER} times in a row is locked out (accessEvent 6)`],
    ['door-forced-open / door-forced-open-cancelled', 'opened without a credential (alarmState 3) / reset'],
    ['door-held-open', 'stage `pre-alarm` after heldPreAlarmS, `alarm` (alarmState 2) after heldAlarmS'],
    ['door-held-open-cancelled', 'the door closed after a held-open (pre-)alarm'],
    ['reader-offline / reader-online', 'the reader stopped / resumed answering its controller'],
    ['reader-tamper / reader-tamper-cancelled', 'reader housing opened (alarmState 4) / closed'],
    ['door-released / door-secured', 'unlocked by the fire-alarm interface / locked again'],
  ];
  return [
    `### \`${ACCESS_CONTROL_MODEL}\` (MQTT vendor bridge)`,
    '',
    "Every asset of class `door` in the site file is a door with one reader (`<door>-rdr`); the patrol route has one checkpoint per floor (`cp-<floor>`, lowest first). Swipes follow the site's occupancy in its time zone (busy office hours, quiet nights; weekends about a fifth). Card ids are pseudonyms: a stable hash (`card-5f3a9b2e`), never a real-looking number. Topics are below the device's `topic`:",
    '',
    '| topic | retained | QoS | payload |',
    '| --- | --- | --- | --- |',
    `| \`bridge/status\` | yes, every ${STATE_PERIOD_MS / 1000} s | 1 | \`{"ts","online","doors","readersOnline","checkpoints"}\` |`,
    `| \`door/<door>/state\` | yes, every ${STATE_PERIOD_MS / 1000} s and on change | 1 | \`{"ts","door","reader","open","locked","alarmState","alarmStateText","readerOnline"}\` |`,
    '| `door/<door>/event` | no | 0 | `{"seq","ts","time","type","door","reader", …}`: access events add `"accessEvent","accessEventText","card"`; door and reader events add `"alarmState","alarmStateText"` |',
    '| `patrol/<checkpoint>/event` | no | 0 | `{"seq","ts","time","type":"checkpoint-scan"\\|"checkpoint-missed","route","round","checkpoint","floor","guard","windowStart","windowEnd"}` |',
    '',
    '`seq` rises by one per event across the bridge (a gap means events published while no broker was there); `ts` is ms since the epoch (UTC), `time` the same instant in site-local ISO 8601.',
    '',
    'Access events (BACnetAccessEvent): ' + Object.entries(ACCESS_EVENTS).map(([n, c]) => `${c} ${n}`).join(', ') + '.',
    'Door alarm states (BACnetDoorAlarmState): ' + Object.entries(DOOR_ALARM_STATES).map(([n, c]) => `${c} ${n}`).join(', ') + '.',
    '',
    '| event `type` | meaning |',
    '| --- | --- |',
    ...events.map(([t, m]) => `| \`${t}\` | ${m} |`),
    '',
    ...paramsAndFaultsMarkdown(ACCESS_CONTROL_DEFAULTS, ACCESS_CONTROL_FAULTS),
  ].join('\n');
}

export const accessControlModel: SimulatorModel<MqttDevice> = {
  name: ACCESS_CONTROL_MODEL,
  protocol: 'mqtt',
  description: 'Access-control vendor bridge: doors with card readers and a guard-patrol route, as JSON over MQTT',
  reference: accessControlReference,
  async start(ctx) {
    const { site, device, seed, clock, vendor } = ctx;
    const out = new BridgeOutput(vendor, device.topic);
    const bridge = new AccessControlBridge({ site, device, seed, start: clock.now(), out });
    return simulatedBridge(ctx, ACCESS_CONTROL_MODEL, out, bridge, 'bridge/status');
  },
};
