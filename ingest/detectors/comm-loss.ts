/**
 * Communication loss of a device, from the gateway's status (`status/<gateway>`: a device `offline`,
 * or the gateway's last will) and from silence: nothing heard for `silencePolls` × its poll interval,
 * and never less than its heartbeat plus two polls (points are reported by exception, so a quiet
 * device still repeats every point once per heartbeat). Silence is the one detector on the wall clock
 * (DESIGN.md, "Identifiers and time"); a device never heard since start is left to the gateway's status.
 */
import type { CommLossDetector as CommLossConfig, DetectorInstance, Device, DeviceCommState } from '@vigil/model';
import { alarmSpec, formatDuration, type ActiveKeys, type AlarmSpec, type DetectorDecision } from './detector.ts';

interface Watched {
  alarm: AlarmSpec;
  silenceMs: number;
  lastHeard: number | null;
  /** Offline by the gateway's word. */
  reportedOffline: { reason?: string | undefined; since: number } | null;
  silent: boolean;
  active: boolean;
}

export class CommLossDetector {
  readonly #devices = new Map<string, Watched>();
  /** The devices each gateway last reported, for its last will. */
  readonly #gatewayDevices = new Map<string, Set<string>>();

  constructor(instances: Array<DetectorInstance & { config: CommLossConfig; device: string }>, devices: ReadonlyMap<string, Device>, isActive: ActiveKeys = () => false) {
    for (const inst of instances) {
      const device = devices.get(inst.device);
      if (!device || this.#devices.has(inst.device)) continue;
      const alarm = alarmSpec(inst);
      const silenceMs = Math.max(inst.config.silencePolls * device.pollIntervalMs, device.heartbeatMs + 2 * device.pollIntervalMs);
      const active = isActive(alarm.key);
      this.#devices.set(inst.device, { alarm, silenceMs, lastHeard: null, reportedOffline: null, silent: false, active });
    }
  }

  get alarms(): AlarmSpec[] {
    return [...this.#devices.values()].map((w) => w.alarm);
  }

  /** Devices whose communication alarm stands: their points' alarms are suppressed by design. */
  lost(): string[] {
    return [...this.#devices.entries()].filter(([, w]) => w.active).map(([d]) => d);
  }

  silenceMs(device: string): number | undefined {
    return this.#devices.get(device)?.silenceMs;
  }

  /** A batch of the device arrived (wall time). */
  heard(device: string, now: number): DetectorDecision[] {
    const w = this.#devices.get(device);
    if (!w) return [];
    w.lastHeard = now;
    w.silent = false;
    return this.#settle(w, now, 'samples arrive again');
  }

  /** The gateway's retained status: device states, or its last will (online false). */
  status(gateway: string, online: boolean, devices: Record<string, { state: DeviceCommState; reason?: string; since: number }> | undefined, now: number): DetectorDecision[] {
    const out: DetectorDecision[] = [];
    const known = this.#gatewayDevices.get(gateway) ?? new Set<string>();
    for (const d of Object.keys(devices ?? {})) known.add(d);
    this.#gatewayDevices.set(gateway, known);
    for (const d of known) {
      const w = this.#devices.get(d);
      if (!w) continue;
      const s = devices?.[d];
      if (!online) w.reportedOffline = { reason: `gateway ${gateway} offline`, since: now };
      // 'starting': the gateway has not tried the device yet — no news, not a loss.
      else if (s?.state === 'offline' && s.reason === 'starting') continue;
      else if (s?.state === 'offline') w.reportedOffline = { reason: s.reason, since: s.since };
      else if (s) w.reportedOffline = null;
      out.push(...this.#settle(w, now, `gateway ${gateway} reports ${d} ${s?.state ?? 'online'}`));
    }
    return out;
  }

  /** The wall clock moved on: silent devices. */
  tick(now: number): DetectorDecision[] {
    const out: DetectorDecision[] = [];
    for (const w of this.#devices.values()) {
      if (w.lastHeard === null || w.silent) continue;
      if (now - w.lastHeard < w.silenceMs) continue;
      w.silent = true;
      out.push(...this.#settle(w, now, ''));
    }
    return out;
  }

  #settle(w: Watched, now: number, clearRule: string): DetectorDecision[] {
    const lost = w.silent || w.reportedOffline !== null;
    if (lost === w.active) return [];
    w.active = lost;
    const device = w.alarm.device!;
    if (!lost) return [{ action: 'clear', alarm: w.alarm, ts: now, explanation: { rule: clearRule, values: [{ ts: now, value: 'online' }] } }];
    const rule = w.reportedOffline
      ? `${device} offline${w.reportedOffline.reason ? ` (${w.reportedOffline.reason})` : ''}`
      : `nothing heard from ${device} for ${formatDuration(w.silenceMs)}`;
    const values = w.lastHeard === null ? [] : [{ ts: w.lastHeard, value: 'last heard' }];
    return [{ action: 'activate', alarm: w.alarm, ts: now, explanation: { rule, values: [...values, { ts: now, value: 'offline' }], windowMs: w.silenceMs } }];
  }
}
