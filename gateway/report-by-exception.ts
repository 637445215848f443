/**
 * Report by exception: a point's sample goes out when it says something new (past the point's
 * deadband, or a new quality), and at least every heartbeat so ingest knows the point is alive.
 *
 * What was last sent lives in typed arrays indexed by point, updated in place: a gateway carrying
 * 100,000 points a second would otherwise allocate (and promote to the old generation) an object per
 * point per second, which is most of its memory.
 */
import type { Device, Sample, SampleValue } from '@vigil/model';

const QUALITY_CODES = { good: 1, uncertain: 2, bad: 3 } as const;
/** `kind` of a point never sent, sent with a number, or with anything else (kept in `otherValue`). */
const NEVER = 0;
const NUMBER = 1;
const OTHER = 2;

export class ReportByException {
  private readonly index = new Map<string, number>();
  private readonly heartbeatMs: number;
  private deadband: Float64Array;
  private kind: Uint8Array;
  private quality: Uint8Array;
  private numberValue: Float64Array;
  private ts: Float64Array;
  /** Non-numeric values (booleans, strings, null) and reasons: sparse, most points are numbers and good. */
  private readonly otherValue: Array<SampleValue | undefined> = [];
  private readonly reason: Array<string | undefined> = [];

  constructor(device: Device) {
    this.heartbeatMs = device.heartbeatMs;
    const n = Math.max(1, device.points.length);
    this.deadband = new Float64Array(n);
    this.kind = new Uint8Array(n);
    this.quality = new Uint8Array(n);
    this.numberValue = new Float64Array(n);
    this.ts = new Float64Array(n);
    device.points.forEach((p, i) => {
      this.index.set(p.id, i);
      this.deadband[i] = p.deadband;
    });
  }

  /** The samples worth sending; remembers them as sent. */
  filter(samples: readonly Sample[]): Sample[] {
    const out: Sample[] = [];
    for (const sample of samples) {
      const i = this.indexOf(sample.point);
      if (this.kind[i] === NEVER || this.isNews(i, sample)) {
        out.push(sample);
        this.remember(i, sample);
      }
    }
    return out;
  }

  private isNews(i: number, sample: Sample): boolean {
    if (sample.ts - this.ts[i]! >= this.heartbeatMs) return true;
    if (QUALITY_CODES[sample.quality] !== this.quality[i] || sample.reason !== this.reason[i]) return true;
    if (typeof sample.value === 'number') return this.kind[i] !== NUMBER || Math.abs(sample.value - this.numberValue[i]!) > this.deadband[i]!;
    return this.kind[i] !== OTHER || sample.value !== this.otherValue[i];
  }

  private remember(i: number, sample: Sample): void {
    this.ts[i] = sample.ts;
    this.quality[i] = QUALITY_CODES[sample.quality];
    if (sample.reason !== undefined || this.reason[i] !== undefined) this.reason[i] = sample.reason;
    if (typeof sample.value === 'number') {
      this.kind[i] = NUMBER;
      this.numberValue[i] = sample.value;
      if (this.otherValue[i] !== undefined) this.otherValue[i] = undefined;
    } else {
      this.kind[i] = OTHER;
      this.otherValue[i] = sample.value;
    }
  }

  /** A point the site file does not list (an MQTT source may carry one) gets a slot on first sight, deadband 0. */
  private indexOf(point: string): number {
    const known = this.index.get(point);
    if (known !== undefined) return known;
    const i = this.index.size;
    this.index.set(point, i);
    if (i >= this.kind.length) this.grow(this.kind.length * 2);
    return i;
  }

  private grow(size: number): void {
    const grown = <T extends Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.deadband = grown(this.deadband, (n) => new Float64Array(n));
    this.kind = grown(this.kind, (n) => new Uint8Array(n));
    this.quality = grown(this.quality, (n) => new Uint8Array(n));
    this.numberValue = grown(this.numberValue, (n) => new Float64Array(n));
    this.ts = grown(this.ts, (n) => new Float64Array(n));
  }
}
