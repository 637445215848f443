/** Builds every detector of a site and routes samples, events and gateway status to them. */
import { expandDetectors, indexSite, splitPointId, type DetectorInstance, type DeviceEvent, type Site } from '@vigil/model';
import type { ActiveKeys, DetectorDecision, DetectorSample, SampleDetector } from './detector.ts';
import { ThresholdDetector } from './threshold.ts';
import { RateOfChangeDetector } from './rate-of-change.ts';
import { FlatlineDetector } from './flatline.ts';
import { DeviationDetector } from './deviation.ts';
import { StateDetector } from './state.ts';
import { EventDetector } from './event.ts';
import { CombinedDetector } from './combined.ts';
import { CommLossDetector } from './comm-loss.ts';

export type { AlarmSpec, DetectorDecision, DetectorSample } from './detector.ts';
export { ThresholdDetector, RateOfChangeDetector, FlatlineDetector, DeviationDetector, StateDetector, EventDetector, CombinedDetector, CommLossDetector };

type Narrow<T extends DetectorInstance['config']['type']> = DetectorInstance & { config: Extract<DetectorInstance['config'], { type: T }> };

export class DetectorSet {
  readonly #byPoint = new Map<string, SampleDetector[]>();
  readonly #byAsset = new Map<string, EventDetector[]>();
  readonly comm: CommLossDetector;
  readonly count: number;

  constructor(site: Site, isActive: ActiveKeys = () => false) {
    const index = indexSite(site);
    const { instances } = expandDetectors(site);
    const unit = (p: string) => index.points.get(p)?.point.unit ?? '';
    const sampleDetectors: SampleDetector[] = [];
    const comm: Array<Narrow<'comm-loss'> & { device: string }> = [];
    for (const inst of instances) {
      const c = inst.config;
      const p = inst.point!;
      switch (c.type) {
        case 'threshold':
          sampleDetectors.push(new ThresholdDetector({ ...inst, config: c, point: p }, unit(p), isActive));
          break;
        case 'rate-of-change':
          sampleDetectors.push(new RateOfChangeDetector({ ...inst, config: c, point: p }, unit(p), isActive));
          break;
        case 'flatline':
          sampleDetectors.push(new FlatlineDetector({ ...inst, config: c, point: p }, unit(p), isActive));
          break;
        case 'deviation':
          sampleDetectors.push(new DeviationDetector({ ...inst, config: c, point: p }, unit(p), isActive, site.site.timezone));
          break;
        case 'state':
          sampleDetectors.push(new StateDetector({ ...inst, config: c, point: p }, index.points.get(p)?.point.states ?? {}, isActive));
          break;
        case 'combined':
          sampleDetectors.push(new CombinedDetector({ ...inst, config: c }, isActive));
          break;
        case 'event': {
          const list = this.#byAsset.get(inst.asset) ?? [];
          list.push(new EventDetector({ ...inst, config: c }, isActive));
          this.#byAsset.set(inst.asset, list);
          break;
        }
        case 'comm-loss':
          comm.push({ ...inst, config: c, device: inst.device! });
          break;
      }
    }
    for (const d of sampleDetectors)
      for (const p of d.points) {
        const list = this.#byPoint.get(p) ?? [];
        list.push(d);
        this.#byPoint.set(p, list);
      }
    this.comm = new CommLossDetector(comm, index.devices, isActive);
    this.count = instances.length;
  }

  /** Whether any detector reads this point (the hot path skips the rest). */
  watches(point: string): boolean {
    return this.#byPoint.has(point);
  }

  onSample(sample: DetectorSample): DetectorDecision[] {
    const list = this.#byPoint.get(sample.point);
    if (!list) return [];
    if (list.length === 1) return list[0]!.update(sample);
    return list.flatMap((d) => d.update(sample));
  }

  /** A device event, at its asset (or its point's asset). */
  onEvent(event: DeviceEvent): DetectorDecision[] {
    const asset = event.asset ?? (event.point ? splitPointId(event.point).asset : undefined);
    if (!asset) return [];
    return (this.#byAsset.get(asset) ?? []).flatMap((d) => d.update(event));
  }
}
