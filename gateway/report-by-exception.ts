/**
 * Report by exception: a point's sample goes out when it says something new (past the point's
 * deadband, or a new quality), and at least every heartbeat so ingest knows the point is alive.
 */
import type { Device, Sample } from '@vigil/model';

interface LastSent {
  value: Sample['value'];
  quality: Sample['quality'];
  reason: string | undefined;
  ts: number;
}

export class ReportByException {
  private readonly deadbands: Map<string, number>;
  private readonly lastSent = new Map<string, LastSent>();

  constructor(private readonly device: Device) {
    this.deadbands = new Map(device.points.map((p) => [p.id, p.deadband]));
  }

  /** The samples worth sending; remembers them as sent. */
  filter(samples: readonly Sample[]): Sample[] {
    const out: Sample[] = [];
    for (const sample of samples) {
      const last = this.lastSent.get(sample.point);
      if (!last || this.isNews(sample, last)) {
        out.push(sample);
        this.lastSent.set(sample.point, { value: sample.value, quality: sample.quality, reason: sample.reason, ts: sample.ts });
      }
    }
    return out;
  }

  private isNews(sample: Sample, last: LastSent): boolean {
    if (sample.ts - last.ts >= this.device.heartbeatMs) return true;
    if (sample.quality !== last.quality || sample.reason !== last.reason) return true;
    if (typeof sample.value === 'number' && typeof last.value === 'number') {
      return Math.abs(sample.value - last.value) > (this.deadbands.get(sample.point) ?? 0);
    }
    return sample.value !== last.value;
  }
}
