/**
 * Polls one BACnet/IP device as the site file describes it, through the gateway's shared
 * BacnetLink: ReadPropertyMultiple (clause 15.7) batched within one APDU, ReadProperty (15.5) for a
 * device that rejects it, and SubscribeCOV (13.14) for `cov: true` points with renewal before the
 * lifetime ends and polling while COV is refused or silent.
 *
 * Not handled: segmented requests (a batch is kept small enough for one APDU instead), devices
 * behind a BACnet router (DNET/DADR addressing), COV on properties other than Present_Value and
 * Status_Flags (SubscribeCOVProperty, 13.15), and intrinsic event notifications.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { BacnetDevice, BacnetPoint, Sample } from '@vigil/model';
import type { DeviceState, Driver, DriverSink } from './driver.ts';
import { classifyFailure, type BacnetFailure, type BacnetLink, type CovNotification, type ObjectId, type ReadSpec } from './bacnet-link.ts';
import { enumeratedOf, PROP, sampleOf, statusFlagsOf, writeTagFor, type DecodedValue, type ObjectHealth } from './bacnet-values.ts';

export interface BacnetDriverOptions {
  device: BacnetDevice;
  link: BacnetLink;
  log: Logger;
  /** SubscribeCOV lifetime in seconds (clause 13.14.1.1.4); renewed at half of it. Default 300 (5 minutes). */
  covLifetimeS?: number;
}

/** Objects per ReadPropertyMultiple: about 40 octets of answer each keeps a request well inside one 1476-octet APDU. */
const OBJECTS_PER_RPM = 20;

interface PolledObject {
  objectId: ObjectId;
  key: string;
  points: BacnetPoint[];
}

/** One SubscribeCOV of one object, and what its notifications said last. */
interface CovSubscription {
  objectId: ObjectId;
  key: string;
  /** The `cov: true` points this subscription serves (Present_Value or Status_Flags). */
  points: BacnetPoint[];
  /** The device refused it (error, reject or abort): its points are polled. */
  refused: boolean;
  /** Wall time of the last acknowledged (re)subscription; null until one succeeded. */
  subscribedAt: number | null;
  renewAt: number;
  /** Wall time of the last notification (the initial one included, clause 13.14). */
  heardAt: number | null;
  /** Last notified samples (value and quality), by point id. */
  latest: Map<string, Sample>;
}

const keyOf = (o: ObjectId) => `${o.type}:${o.instance}`;

export class BacnetDriver implements Driver {
  readonly device: string;
  private readonly config: BacnetDevice;
  private readonly link: BacnetLink;
  private readonly log: Logger;
  private readonly address: string;
  private readonly renewEveryMs: number;
  private readonly lifetimeS: number;
  private readonly objects: PolledObject[];
  private readonly subscriptions = new Map<string, CovSubscription>();
  private readonly processId: number;
  private readonly pointsById: Map<string, BacnetPoint>;
  /** False once the device rejected ReadPropertyMultiple: ReadProperty from then on. */
  private rpm = true;
  private commState: DeviceState | null = null;
  private reachable = false;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private sink: DriverSink | null = null;
  private unsubscribeCov: (() => void) | null = null;
  private unsubscribeIAm: (() => void) | null = null;
  private iAmChecked = false;

  constructor(opts: BacnetDriverOptions) {
    this.config = opts.device;
    this.device = opts.device.id;
    this.link = opts.link;
    this.log = opts.log.child({ device: opts.device.id });
    this.address = `${opts.device.host}:${opts.device.port}`;
    this.lifetimeS = Math.max(2, Math.round(opts.covLifetimeS ?? 300));
    // Renew at half the lifetime: a lost renewal still leaves time for the next before it expires.
    this.renewEveryMs = (this.lifetimeS * 1000) / 2;
    this.processId = this.link.allocateProcessId();
    this.pointsById = new Map(opts.device.points.map((p) => [p.id, p]));
    const byObject = new Map<string, PolledObject>();
    for (const p of opts.device.points) {
      const objectId = { type: p.bacnet.type, instance: p.bacnet.instance };
      const key = keyOf(objectId);
      if (!byObject.has(key)) byObject.set(key, { objectId, key, points: [] });
      byObject.get(key)!.points.push(p);
      // COV (clause 13.1) reports Present_Value and Status_Flags; other properties stay polled.
      if (p.bacnet.cov && (p.bacnet.property === PROP.presentValue || p.bacnet.property === PROP.statusFlags)) {
        if (!this.subscriptions.has(key)) this.subscriptions.set(key, { objectId, key, points: [], refused: false, subscribedAt: null, renewAt: 0, heardAt: null, latest: new Map() });
        this.subscriptions.get(key)!.points.push(p);
      }
    }
    this.objects = [...byObject.values()];
  }

  start(sink: DriverSink): void {
    if (this.loop) return;
    this.sink = sink;
    this.unsubscribeCov = this.link.onCovFor(this.processId, (n) => this.onNotification(n));
    this.unsubscribeIAm = this.link.onIAm((i) => {
      if (i.address !== this.address || this.iAmChecked) return;
      this.iAmChecked = true;
      if (i.deviceId !== this.config.instance) this.log.error({ expected: this.config.instance, found: i.deviceId, address: this.address }, 'a different BACnet device answers at this address');
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    // Cancel our subscriptions (clause 13.14.1.1.2) so the device stops notifying a gone gateway; best effort.
    if (this.reachable) {
      await Promise.all(
        [...this.subscriptions.values()]
          .filter((s) => s.subscribedAt !== null)
          .map((s) => this.link.subscribeCov(this.address, s.objectId, this.processId, 0, Math.min(500, this.config.timeoutMs), true).catch(() => undefined)),
      );
    }
    this.unsubscribeCov?.();
    this.unsubscribeIAm?.();
  }

  /**
   * WriteProperty of a commandable point at a priority (clause 19.2: 1 highest … 16 lowest; 6 is
   * reserved for minimum on/off time). `null` relinquishes the slot. Throws with the device's answer.
   */
  async write(pointId: string, value: number | boolean | null, priority = 16): Promise<void> {
    const point = this.pointsById.get(pointId);
    if (!point) throw new Error(`device '${this.device}' has no point '${pointId}'`);
    if (!Number.isInteger(priority) || priority < 1 || priority > 16) throw new Error(`priority must be an integer 1–16, got ${priority}`);
    // Engineering value back to the raw value the device holds.
    const raw = typeof value === 'number' ? (value - point.offset) / point.scale : value;
    try {
      await this.link.write(this.address, { type: point.bacnet.type, instance: point.bacnet.instance }, point.bacnet.property, writeTagFor(point.bacnet.type, raw), priority, this.config.timeoutMs);
    } catch (err) {
      const failure = classifyFailure(err);
      throw new Error(failure.kind === 'timeout' ? `write to ${pointId} timed out` : `write to ${pointId} refused: ${failure.code}`);
    }
    this.log.info({ point: pointId, value, priority }, 'BACnet write');
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    this.link.whoIs(this.address, { lowLimit: this.config.instance, highLimit: this.config.instance });
    while (!this.stopped) {
      const started = Date.now();
      try {
        await this.cycle(started);
      } catch (err) {
        // A bug here must not stop polling for good.
        this.log.error({ err }, 'BACnet poll cycle failed');
      }
      // The next cycle at the poll interval, or sooner when a subscription is due for renewal.
      await this.pause(Math.min(started + this.config.pollIntervalMs, this.nextRenewalAt()) - Date.now());
    }
  }

  private nextRenewalAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const sub of this.subscriptions.values()) if (!sub.refused && sub.subscribedAt !== null) at = Math.min(at, sub.renewAt);
    return at;
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return;
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
    } catch {
      // aborted by stop()
    }
  }

  /** One cycle: keep the subscriptions, read what COV does not serve, report. */
  private async cycle(ts: number): Promise<void> {
    const outcome = { answered: 0, timeouts: 0, exceptions: 0 };
    const note = (failure: BacnetFailure | null) => {
      if (!failure) outcome.answered++;
      else if (failure.kind === 'timeout') outcome.timeouts++;
      else outcome.exceptions++;
    };

    await this.maintainSubscriptions(ts, note);
    if (this.stopped) return;

    const served = new Set<string>();
    for (const sub of this.subscriptions.values()) if (this.healthy(sub, ts)) for (const p of sub.points) served.add(p.id);
    const wanted = this.objects.map((o) => ({ ...o, points: o.points.filter((p) => !served.has(p.id)) })).filter((o) => o.points.length > 0);
    const samples: Sample[] = [];
    for (let i = 0; i < wanted.length && !this.stopped; i += OBJECTS_PER_RPM) {
      samples.push(...(await this.readObjects(wanted.slice(i, i + OBJECTS_PER_RPM), ts, note)));
    }
    if (this.stopped) return;

    if (outcome.answered === 0 && outcome.timeouts > 0) {
      this.lost(ts);
      return;
    }
    if (!this.reachable) {
      this.reachable = true;
      this.log.info({ address: this.address }, 'BACnet device answers');
    }
    // COV points that are healthy: their last notified value, restamped, so the heartbeat still flows.
    for (const sub of this.subscriptions.values()) {
      if (!this.healthy(sub, ts)) continue;
      for (const s of sub.latest.values()) samples.push({ ...s, ts });
    }
    const trouble = outcome.timeouts > 0 ? 'timeout' : outcome.exceptions > 0 ? 'exception' : null;
    this.setState(trouble ? { state: 'degraded', reason: trouble, since: ts } : { state: 'online', since: ts });
    if (samples.length > 0) this.sink?.cycle({ device: this.device, ts, samples, kind: 'poll', durationMs: Date.now() - ts });
  }

  /** Heard within one renewal period (plus a reply's time): its notifications stand for polling. */
  private healthy(sub: CovSubscription, now: number): boolean {
    return !sub.refused && sub.subscribedAt !== null && sub.heardAt !== null && now - sub.heardAt <= this.renewEveryMs + this.config.timeoutMs;
  }

  private async maintainSubscriptions(now: number, note: (f: BacnetFailure | null) => void): Promise<void> {
    for (const sub of this.subscriptions.values()) {
      if (this.stopped || sub.refused || now < sub.renewAt) continue;
      try {
        // Clause 13.14.1.1.4: a repeat of the same subscription renews it (and brings a new initial notification).
        await this.link.subscribeCov(this.address, sub.objectId, this.processId, this.lifetimeS, this.config.timeoutMs);
        note(null);
        sub.subscribedAt = Date.now();
        sub.renewAt = now + this.renewEveryMs;
      } catch (err) {
        const failure = classifyFailure(err);
        note(failure);
        this.sink?.error(this.device, failure.kind);
        if (failure.kind === 'exception') {
          sub.refused = true;
          this.log.warn({ object: sub.key, answer: failure.code }, 'SubscribeCOV refused; the object is polled instead');
        } else {
          // Not answered: the device is probably away; try again next cycle (its points are polled
          // while it is not heard) and do not wait out a timeout for every other subscription now.
          sub.renewAt = now + this.config.pollIntervalMs;
          return;
        }
      }
    }
  }

  private onNotification(n: CovNotification): void {
    if (n.from !== this.address) return; // not our device: a stray or spoofed notification
    const sub = this.subscriptions.get(keyOf(n.objectId));
    if (!sub || sub.refused) return;
    const ts = Date.now();
    sub.heardAt = ts;
    const byId = new Map(n.values.map((v) => [v.id, v.value]));
    // COV notifications carry no timestamp: the time of receipt stands for the source time.
    const health: ObjectHealth = { statusFlags: statusFlagsOf(byId.get(PROP.statusFlags)) };
    const samples: Sample[] = [];
    for (const p of sub.points) {
      const values = byId.get(p.bacnet.property);
      if (!values) continue;
      const sample = p.bacnet.property === PROP.statusFlags ? statusFlagsSample(p, values, ts) : sampleOf(p, values, health, ts);
      sub.latest.set(p.id, sample);
      samples.push(sample);
    }
    if (samples.length > 0 && this.reachable) this.sink?.cycle({ device: this.device, ts, samples, kind: 'poll' });
  }

  /** Reads the objects' properties plus Status_Flags and Reliability, by RPM or, for a legacy device, RP. */
  private async readObjects(objects: PolledObject[], ts: number, note: (f: BacnetFailure | null) => void): Promise<Sample[]> {
    if (this.rpm) {
      const specs: ReadSpec[] = objects.map((o) => ({ objectId: o.objectId, properties: [...new Set([...o.points.map((p) => p.bacnet.property), PROP.statusFlags, PROP.reliability])] }));
      try {
        const results = await this.link.readMultiple(this.address, specs, this.config.timeoutMs);
        note(null);
        const byKey = new Map(results.map((r) => [keyOf(r.objectId), new Map(r.values.map((v) => [v.id, v.value]))]));
        return objects.flatMap((o) => this.samplesOf(o, byKey.get(o.key), ts));
      } catch (err) {
        const failure = classifyFailure(err);
        if (failure.kind === 'timeout') {
          note(failure);
          this.sink?.error(this.device, 'timeout');
          return objects.flatMap((o) => o.points.map((p) => bad(p, ts, 'timeout')));
        }
        // Clause 15.7 is optional for a device: one that rejects it is read with ReadProperty from now on.
        this.rpm = false;
        this.log.warn({ answer: failure.code }, 'device rejected ReadPropertyMultiple; reading with ReadProperty');
      }
    }
    const samples: Sample[] = [];
    for (const o of objects) {
      if (this.stopped) break;
      const properties = [...new Set([...o.points.map((p) => p.bacnet.property), PROP.statusFlags])];
      const values = new Map<number, DecodedValue[]>();
      let failed: BacnetFailure | null = null;
      for (const property of properties) {
        try {
          values.set(property, await this.link.read(this.address, o.objectId, property, this.config.timeoutMs));
          note(null);
        } catch (err) {
          const failure = classifyFailure(err);
          note(failure);
          this.sink?.error(this.device, failure.kind);
          if (failure.kind === 'timeout') {
            failed = failure;
            break;
          }
          values.set(property, [{ type: 105, value: { errorClass: -1, errorCode: -1 } }]);
          if (property !== PROP.statusFlags) failed ??= failure;
        }
      }
      if (failed?.kind === 'timeout') samples.push(...o.points.map((p) => bad(p, ts, 'timeout')));
      else samples.push(...this.samplesOf(o, values, ts));
    }
    return samples;
  }

  private samplesOf(o: PolledObject, values: Map<number, DecodedValue[]> | undefined, ts: number): Sample[] {
    if (!values) return o.points.map((p) => bad(p, ts, 'exception missing-object'));
    const health: ObjectHealth = { statusFlags: statusFlagsOf(values.get(PROP.statusFlags)), reliability: enumeratedOf(values.get(PROP.reliability)) };
    return o.points.map((p) => (p.bacnet.property === PROP.statusFlags ? statusFlagsSample(p, values.get(PROP.statusFlags), ts) : sampleOf(p, values.get(p.bacnet.property), health, ts)));
  }

  /** The device stopped answering: offline, and one comm-lost sample per point, on the transition only. */
  private lost(ts: number): void {
    this.reachable = false;
    // Its subscriptions may be gone with it (a restart): subscribe again when it answers.
    for (const sub of this.subscriptions.values()) {
      sub.subscribedAt = null;
      sub.heardAt = null;
      sub.renewAt = 0;
      sub.refused = false;
      sub.latest.clear();
    }
    this.iAmChecked = false;
    if (this.commState?.state === 'offline') return;
    this.log.warn({ address: this.address }, 'BACnet communication lost');
    this.setState({ state: 'offline', reason: 'comm-lost', since: ts });
    this.sink?.error(this.device, 'comm-lost');
    this.sink?.cycle({ device: this.device, ts, samples: this.config.points.map((p) => bad(p, ts, 'comm-lost')), kind: 'comm-lost' });
    this.link.whoIs(this.address, { lowLimit: this.config.instance, highLimit: this.config.instance });
  }

  private setState(next: DeviceState): void {
    const prev = this.commState;
    if (prev && prev.state === next.state && prev.reason === next.reason) return;
    this.commState = next;
    this.sink?.state(this.device, next);
  }
}

function bad(p: BacnetPoint, ts: number, reason: string): Sample {
  return { point: p.id, ts, value: null, quality: 'bad', reason };
}

/** A point on Status_Flags itself: the four flags as a number (bit 0 in-alarm … bit 3 out-of-service). */
function statusFlagsSample(p: BacnetPoint, values: DecodedValue[] | undefined, ts: number): Sample {
  const flags = statusFlagsOf(values);
  if (!flags) return bad(p, ts, 'exception unexpected-value');
  return { point: p.id, ts, value: flags.reduce((n, bit, i) => n | (bit << i), 0), quality: 'good' };
}
