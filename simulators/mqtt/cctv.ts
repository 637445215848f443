/**
 * The `cctv` model: an NVR / video-management bridge publishing the health and analytics of the
 * site's cameras (assets of class `camera`, one NVR channel each) to MQTT, below the device's
 * `topic`. Events are shaped after Hikvision ISAPI's EventNotificationAlert (`channelID`,
 * `dateTime`, `activePostCount`, `eventType`, `eventState` active/inactive, `eventDescription`), with
 * the matching ONVIF topic where one exists (DOMAIN.md, "CCTV / VMS health").
 */
import type { MqttDevice, Site } from '@vigil/model';
import type { FaultParams, SimulatorModel } from '../device.ts';
import { SimError } from '../errors.ts';
import { Agenda, BridgeOutput, paramsAndFaultsMarkdown, simulatedBridge, LocalTime, param, poissonGap, streams } from './bridge.ts';

export const CCTV_MODEL = 'cctv';

/**
 * The event types the bridge sends: Hikvision ISAPI `eventType` names and ONVIF topics.
 * `ipcdisconnect` stands for the NVR's "IPC disconnected" exception (name unverified).
 */
export const CCTV_EVENT_TYPES = {
  ipcdisconnect: { description: 'Camera offline (IPC disconnected)', onvif: null },
  videoloss: { description: 'Video loss', onvif: 'tns1:VideoSource/SignalLoss' },
  tamperdetection: { description: 'Video tampering: view covered', onvif: 'tns1:RuleEngine/TamperDetector/Tamper' },
  defocus: { description: 'Video tampering: image blurred', onvif: 'tns1:VideoSource/ImageTooBlurry/AnalyticsService' },
  recordingfailure: { description: 'Recording stopped', onvif: null },
  diskerror: { description: 'HDD error', onvif: 'tns1:Device/HardwareFailure/StorageFailure' },
  linedetection: { description: 'Line crossing', onvif: 'tns1:RuleEngine/LineDetector/Crossed' },
  fielddetection: { description: 'Intrusion (field detection)', onvif: 'tns1:RuleEngine/FieldDetector/ObjectsInside' },
} as const;
type EventType = keyof typeof CCTV_EVENT_TYPES;

/** Model parameters (`simulator.params` in the site file), with their defaults. */
export const CCTV_DEFAULTS = {
  /** Floors whose cameras watch restricted zones (plant rooms, basements), comma-separated. */
  restrictedFloors: 'b2,b1,f20',
  /** After hours, for the intrusion analytics: from this local hour … */
  afterHoursFrom: 20,
  /** … to this one. */
  afterHoursTo: 7,
  /** Spontaneous intrusion detections per after-hours hour over all restricted cameras. */
  nightIntrusionsPerHour: 0.25,
  /** NVR disks; cameras record round-robin onto them. */
  disks: 4,
  /** Capacity of each disk, GB. */
  diskGB: 8000,
  /** Recording bit rate per camera, kbit/s (a 4 MP H.265 stream is 2–6 Mbit/s). */
  bitrateKbps: 4096,
};

/** Retained status is republished this often, in simulated time (1 minute). */
const STATUS_PERIOD_MS = 60_000;
/** An active durative alarm is sent again this often, its activePostCount rising (ISAPI sends active alarms repeatedly). */
const REPEAT_ACTIVE_MS = 30_000;
/** A spontaneous intrusion lasts 20–60 s. */
const NIGHT_INTRUSION_MS = [20_000, 60_000] as const;
/** In overwrite mode the NVR deletes the oldest footage in blocks of this share of a disk. */
const OVERWRITE_BLOCK = 0.05;

interface FaultDef {
  description: string;
  params: readonly string[];
}

export const CCTV_FAULTS: Record<string, FaultDef> = {
  'camera-offline': {
    description: 'A camera drops off the network: ipcdisconnect active, online false, not recording; cleared: back online. Param: camera (asset id; default the first camera).',
    params: ['camera'],
  },
  'video-loss': { description: "A camera's video signal is lost: videoloss active until cleared. Param: camera.", params: ['camera'] },
  tamper: {
    description: 'A camera is covered (tamperdetection) or blurred (defocus) until cleared. Params: camera, kind (covered or blurred, default covered).',
    params: ['camera', 'kind'],
  },
  'recording-stopped': { description: 'A camera stops recording (recordingfailure) until cleared. Param: camera.', params: ['camera'] },
  'disk-failure': {
    description: 'An NVR disk fails (diskerror): the cameras recording onto it stop recording; cleared: the disk is replaced (empty). Param: disk (1…disks, default 1).',
    params: ['disk'],
  },
  intrusion: {
    description: 'The analytics of a camera detect a person: linedetection or fielddetection active (repeated) until cleared. Params: camera, rule (line or field, default field).',
    params: ['camera', 'rule'],
  },
};

interface Camera {
  id: string;
  name: string;
  floor: string;
  channel: number;
  disk: number;
  restricted: boolean;
  online: boolean;
  videoLoss: boolean;
  tamper: 'none' | 'covered' | 'blurred';
  recordingStopped: boolean;
  /** Active durative alarms: event type → its repeat and post count. */
  alarms: Map<EventType, { posts: number; repeat: { cancel(): void } }>;
}

interface Disk {
  id: number;
  usedGB: number;
  failed: boolean;
  overwriting: boolean;
}

export interface CctvBridgeOptions {
  site: Site;
  device: MqttDevice;
  seed: number;
  start: number;
  out: BridgeOutput;
}

export class CctvBridge {
  readonly cameras: Camera[];
  readonly disks: Disk[];
  private readonly byId: Map<string, Camera>;
  private readonly agenda = new Agenda();
  private readonly local: LocalTime;
  private readonly noise;
  private readonly settings: ReturnType<typeof readSettings>;
  private readonly active = new Map<string, { key: string; undo: (at: number) => void }>();
  private now: number;
  /** Disk usage is integrated up to this time. */
  private usedUntil: number;

  constructor(private readonly opts: CctvBridgeOptions) {
    const { site, device, seed, start } = opts;
    this.settings = readSettings(device);
    this.local = new LocalTime(site.site.timezone);
    this.noise = streams(seed, ['disk', 'analytics', 'fault'] as const);
    this.now = start;
    this.usedUntil = start;
    const restricted = new Set(this.settings.restrictedFloors);
    this.cameras = site.assets
      .filter((a) => a.class === 'camera')
      .map((a, i) => ({
        id: a.id,
        name: a.name,
        floor: a.floor,
        channel: i + 1,
        disk: (i % this.settings.disks) + 1,
        restricted: restricted.has(a.floor),
        online: true,
        videoLoss: false,
        tamper: 'none' as const,
        recordingStopped: false,
        alarms: new Map(),
      }));
    this.byId = new Map(this.cameras.map((c) => [c.id, c]));
    // Footage already on the disks when the bridge starts: 55–85 % full.
    this.disks = Array.from({ length: this.settings.disks }, (_, i) => ({
      id: i + 1,
      usedGB: this.settings.diskGB * (0.55 + 0.3 * this.noise.disk.unit()),
      failed: false,
      overwriting: false,
    }));
    this.agenda.at(start, (t) => this.snapshot(t));
    if (this.cameras.some((c) => c.restricted)) this.agenda.at(start + poissonGap(this.noise.analytics, this.settings.nightIntrusionsPerHour), (t) => this.nightDetection(t));
  }

  step(now: number): void {
    this.now = Math.max(this.now, now);
    this.agenda.runUntil(this.now);
  }

  faults(): Array<{ name: string; description: string; active: boolean }> {
    return Object.entries(CCTV_FAULTS).map(([name, f]) => ({ name, description: f.description, active: this.active.has(name) }));
  }

  inject(fault: string, params: FaultParams, at: number): void {
    const def = CCTV_FAULTS[fault];
    if (!def) throw new SimError('not-found', `no fault '${fault}' on a cctv bridge (faults: ${Object.keys(CCTV_FAULTS).join(', ')})`);
    param.only(params, fault, def.params);
    const apply = this.prepare(fault, params);
    const key = JSON.stringify(params);
    const current = this.active.get(fault);
    if (current?.key === key) return;
    if (current) this.clear(fault, at);
    this.active.set(fault, { key, undo: apply(Math.max(at, this.now)) });
  }

  clear(fault: string, at: number): void {
    if (!CCTV_FAULTS[fault]) throw new SimError('not-found', `no fault '${fault}' on a cctv bridge`);
    const current = this.active.get(fault);
    if (!current) return;
    this.active.delete(fault);
    current.undo(Math.max(at, this.now));
  }

  /** Whether a camera is recording now: online, its disk working, not stopped. */
  recording(c: Camera): boolean {
    return c.online && !c.recordingStopped && !this.disks[c.disk - 1]!.failed;
  }

  private prepare(fault: string, params: FaultParams): (at: number) => (at: number) => void {
    const ids = this.cameras.map((c) => c.id);
    const camera = () => {
      if (ids.length === 0) throw new SimError('invalid', `site has no cameras (assets of class 'camera')`);
      return this.byId.get(param.choice(params, 'camera', ids, ids[0]!))!;
    };
    // A fault that changes a camera at t0 and changes it back at t1, each followed by its events.
    const onCamera = (c: Camera, set: (on: boolean, t: number) => void) => (t0: number) => {
      this.agenda.at(t0, (t) => set(true, t));
      return (t1: number) => void this.agenda.at(t1, (t) => set(false, t));
    };
    switch (fault) {
      case 'camera-offline': {
        const c = camera();
        return onCamera(c, (on, t) => {
          this.accrue(t);
          const wasRecording = this.recording(c);
          c.online = !on;
          this.alarm(c, 'ipcdisconnect', on, t);
          this.recordingChanged(c, wasRecording, t);
          this.publishCamera(c, t);
        });
      }
      case 'video-loss': {
        const c = camera();
        return onCamera(c, (on, t) => {
          c.videoLoss = on;
          this.alarm(c, 'videoloss', on, t);
          this.publishCamera(c, t);
        });
      }
      case 'tamper': {
        const c = camera();
        const kind = param.choice(params, 'kind', ['covered', 'blurred'], 'covered') as 'covered' | 'blurred';
        return onCamera(c, (on, t) => {
          c.tamper = on ? kind : 'none';
          this.alarm(c, kind === 'covered' ? 'tamperdetection' : 'defocus', on, t);
          this.publishCamera(c, t);
        });
      }
      case 'recording-stopped': {
        const c = camera();
        return onCamera(c, (on, t) => {
          this.accrue(t);
          const was = this.recording(c);
          c.recordingStopped = on;
          this.recordingChanged(c, was, t);
          this.publishCamera(c, t);
        });
      }
      case 'disk-failure': {
        const disk = this.disks[param.integer(params, 'disk', 1, this.disks.length, 1) - 1]!;
        const set = (failed: boolean) => (t0: number) =>
          void this.agenda.at(t0, (t) => {
            this.accrue(t);
            const on = this.cameras.filter((c) => c.disk === disk.id);
            const was = on.map((c) => this.recording(c));
            disk.failed = failed;
            if (!failed) {
              // Cleared = the failed disk was replaced: a new, empty one.
              disk.usedGB = 0;
              disk.overwriting = false;
            }
            this.opts.out.event('nvr/event', { ts: t, dateTime: this.local.iso(t), eventType: 'diskerror', eventState: failed ? 'active' : 'inactive', eventDescription: CCTV_EVENT_TYPES.diskerror.description, onvifTopic: CCTV_EVENT_TYPES.diskerror.onvif, disk: disk.id });
            on.forEach((c, i) => this.recordingChanged(c, was[i]!, t));
            this.publishNvr(t);
            on.forEach((c) => this.publishCamera(c, t));
          });
        return (t0) => {
          set(true)(t0);
          return set(false);
        };
      }
      case 'intrusion': {
        const c = camera();
        const rule = param.choice(params, 'rule', ['line', 'field'], 'field');
        const type: EventType = rule === 'line' ? 'linedetection' : 'fielddetection';
        return onCamera(c, (on, t) => this.alarm(c, type, on, t, { detectionTarget: 'human', restrictedZone: c.restricted }));
      }
      default:
        throw new SimError('not-found', `no fault '${fault}'`);
    }
  }

  /**
   * Starts or ends a durative alarm: `active` now and again every REPEAT_ACTIVE_MS (activePostCount
   * rising) while it lasts, one `inactive` when it ends.
   */
  private alarm(c: Camera, type: EventType, on: boolean, t: number, extra: object = {}): void {
    const current = c.alarms.get(type);
    if (on === Boolean(current)) return;
    if (on) {
      const entry = { posts: 0, repeat: { cancel() {} } };
      const post = (ts: number) => {
        entry.posts++;
        this.cameraEvent(c, type, 'active', entry.posts, ts, extra);
        entry.repeat = this.agenda.at(ts + REPEAT_ACTIVE_MS, post);
      };
      c.alarms.set(type, entry);
      post(t);
    } else {
      current!.repeat.cancel();
      c.alarms.delete(type);
      this.cameraEvent(c, type, 'inactive', current!.posts, t, extra);
    }
  }

  private recordingChanged(c: Camera, was: boolean, t: number): void {
    const now = this.recording(c);
    if (was !== now) this.alarm(c, 'recordingfailure', !now && c.online, t);
    // An offline camera's recording gap is reported as the disconnect, not as a second alarm.
    if (!c.online && c.alarms.has('recordingfailure')) this.alarm(c, 'recordingfailure', false, t);
  }

  /** A spontaneous detection in a restricted zone: kept only after hours (who walks there at night?). */
  private nightDetection(t: number): void {
    const n = this.noise.analytics;
    const [which, lasting, rule] = [n.unit(), n.unit(), n.unit()];
    const restricted = this.cameras.filter((c) => c.restricted);
    const c = restricted[Math.floor(which * restricted.length)]!;
    if (this.afterHours(t) && c.online && !c.alarms.has('linedetection') && !c.alarms.has('fielddetection')) {
      const type: EventType = rule < 0.5 ? 'linedetection' : 'fielddetection';
      const extra = { detectionTarget: 'human', restrictedZone: true };
      this.alarm(c, type, true, t, extra);
      const [min, max] = NIGHT_INTRUSION_MS;
      this.agenda.at(t + min + Math.floor(lasting * (max - min)), (end) => this.alarm(c, type, false, end, extra));
    }
    this.agenda.at(t + poissonGap(n, this.settings.nightIntrusionsPerHour), (next) => this.nightDetection(next));
  }

  private afterHours(t: number): boolean {
    const h = this.local.hour(t);
    const { afterHoursFrom: from, afterHoursTo: to } = this.settings;
    return from > to ? h >= from || h < to : h >= from && h < to;
  }

  /** Adds the footage recorded since the last accrual; a full disk overwrites its oldest block. */
  private accrue(t: number): void {
    const seconds = (t - this.usedUntil) / 1000;
    if (seconds <= 0) return;
    this.usedUntil = t;
    const gbPerCameraSecond = this.settings.bitrateKbps / 8 / 1_000_000;
    for (const disk of this.disks) {
      if (disk.failed) continue;
      const writers = this.cameras.filter((c) => c.disk === disk.id && this.recording(c)).length;
      disk.usedGB += writers * gbPerCameraSecond * seconds;
      const capacity = this.settings.diskGB;
      while (disk.usedGB >= capacity) {
        disk.overwriting = true;
        disk.usedGB -= capacity * OVERWRITE_BLOCK;
      }
    }
  }

  private snapshot(t: number): void {
    this.agenda.at(t + STATUS_PERIOD_MS, (next) => this.snapshot(next));
    this.accrue(t);
    if (t + STATUS_PERIOD_MS <= this.now) return; // only the latest snapshot of a long step goes out
    this.publishNvr(t);
    for (const c of this.cameras) this.publishCamera(c, t);
  }

  private cameraEvent(c: Camera, type: EventType, state: 'active' | 'inactive', posts: number, t: number, extra: object): void {
    const info = CCTV_EVENT_TYPES[type];
    this.opts.out.event(`camera/${c.id}/event`, {
      ts: t,
      camera: c.id,
      channelID: c.channel,
      channelName: c.name,
      dateTime: this.local.iso(t),
      activePostCount: posts,
      eventType: type,
      eventState: state,
      eventDescription: info.description,
      onvifTopic: info.onvif,
      ...extra,
    });
  }

  private publishCamera(c: Camera, t: number): void {
    this.opts.out.state(`camera/${c.id}/status`, {
      ts: t,
      camera: c.id,
      channelID: c.channel,
      channelName: c.name,
      floor: c.floor,
      restrictedZone: c.restricted,
      online: c.online,
      recording: this.recording(c),
      videoLoss: c.videoLoss,
      tamper: c.tamper,
      disk: c.disk,
    });
  }

  private publishNvr(t: number): void {
    const capacity = this.settings.diskGB;
    this.opts.out.state('nvr/status', {
      ts: t,
      online: true,
      channels: this.cameras.length,
      recordingChannels: this.cameras.filter((c) => this.recording(c)).length,
      disks: this.disks.map((d) => ({
        disk: d.id,
        status: d.failed ? 'error' : 'ok',
        capacityGB: capacity,
        usedGB: Math.round(d.usedGB * 10) / 10,
        usedPercent: Math.round((d.usedGB / capacity) * 1000) / 10,
        overwriting: d.overwriting,
      })),
    });
  }
}

function readSettings(device: MqttDevice) {
  const p = device.simulator?.params ?? {};
  param.only(p, `${CCTV_MODEL} model`, Object.keys(CCTV_DEFAULTS));
  const d = CCTV_DEFAULTS;
  const floors = p.restrictedFloors ?? d.restrictedFloors;
  if (typeof floors !== 'string') throw new SimError('invalid', `param 'restrictedFloors' must be floor ids separated by commas`);
  const rate = p.nightIntrusionsPerHour ?? d.nightIntrusionsPerHour;
  if (typeof rate !== 'number' || !(rate > 0 && rate <= 3600)) throw new SimError('invalid', `param 'nightIntrusionsPerHour' must be a number in (0, 3600]`);
  return {
    restrictedFloors: floors.split(',').map((f) => f.trim()).filter(Boolean),
    afterHoursFrom: param.integer(p, 'afterHoursFrom', 0, 23, d.afterHoursFrom),
    afterHoursTo: param.integer(p, 'afterHoursTo', 0, 23, d.afterHoursTo),
    nightIntrusionsPerHour: rate,
    disks: param.integer(p, 'disks', 1, 16, d.disks),
    diskGB: param.integer(p, 'diskGB', 1, 100_000, d.diskGB),
    bitrateKbps: param.integer(p, 'bitrateKbps', 64, 100_000, d.bitrateKbps),
  };
}

export function cctvReference(): string {
  return [
    `### \`${CCTV_MODEL}\` (MQTT NVR / VMS bridge)`,
    '',
    'Every asset of class `camera` in the site file is one NVR channel (`channelID` in file order, from 1), recording round-robin onto the NVR\'s disks. Cameras on the `restrictedFloors` watch restricted zones, where the intrusion analytics fire now and then after hours. Disk usage rises with recording and, once a disk is full, the NVR overwrites its oldest footage (usage drops by 5 % and rises again; `overwriting` true). Topics are below the device\'s `topic`:',
    '',
    '| topic | retained | QoS | payload |',
    '| --- | --- | --- | --- |',
    `| \`nvr/status\` | yes, every ${STATUS_PERIOD_MS / 1000} s and on change | 1 | \`{"ts","online","channels","recordingChannels","disks":[{"disk","status":"ok"\\|"error","capacityGB","usedGB","usedPercent","overwriting"}]}\` |`,
    '| `nvr/event` | no | 0 | `{"seq","ts","dateTime","eventType":"diskerror","eventState","eventDescription","onvifTopic","disk"}` |',
    `| \`camera/<camera>/status\` | yes, every ${STATUS_PERIOD_MS / 1000} s and on change | 1 | \`{"ts","camera","channelID","channelName","floor","restrictedZone","online","recording","videoLoss","tamper":"none"\\|"covered"\\|"blurred","disk"}\` |`,
    '| `camera/<camera>/event` | no | 0 | `{"seq","ts","camera","channelID","channelName","dateTime","activePostCount","eventType","eventState":"active"\\|"inactive","eventDescription","onvifTopic"}`; analytics add `"detectionTarget","restrictedZone"` |',
    '',
    `A durative alarm is sent \`active\` when it starts and again every ${REPEAT_ACTIVE_MS / 1000} s (\`activePostCount\` rising), then once \`inactive\` when it ends. \`dateTime\` is site-local ISO 8601 as ISAPI sends it; \`ts\` the same instant in ms since the epoch.`,
    '',
    '| `eventType` (ISAPI) | meaning | ONVIF topic |',
    '| --- | --- | --- |',
    ...Object.entries(CCTV_EVENT_TYPES).map(([t, e]) => `| \`${t}\` | ${e.description} | ${e.onvif ? `\`${e.onvif}\`` : '—'} |`),
    '',
    'Unverified names: `ipcdisconnect` (the NVR exception "IPC disconnected"), and the ONVIF topics for signal loss, blur, line crossing and field detection; the others are those DOMAIN.md lists.',
    '',
    ...paramsAndFaultsMarkdown(CCTV_DEFAULTS, CCTV_FAULTS),
  ].join('\n');
}

export const cctvModel: SimulatorModel<MqttDevice> = {
  name: CCTV_MODEL,
  protocol: 'mqtt',
  description: 'NVR / video-management bridge: camera health, tampering, recording, disks and intrusion analytics, as JSON over MQTT',
  reference: cctvReference,
  async start(ctx) {
    const { site, device, seed, clock, vendor } = ctx;
    const out = new BridgeOutput(vendor, device.topic);
    const bridge = new CctvBridge({ site, device, seed, start: clock.now(), out });
    return simulatedBridge(ctx, CCTV_MODEL, out, bridge, 'nvr/status');
  },
};
