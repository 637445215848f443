/**
 * Detector templates resolved against the site: one instance per asset (and point) a detector
 * watches. The site loader checks with it that every detector watches something; ingest builds its
 * detectors from it.
 */
import type { Asset, DetectorConfig, Device, Site } from './site-schema.ts';
import { splitPointId } from './ids.ts';

export interface DetectorInstance {
  config: DetectorConfig;
  asset: string;
  /** The watched point, `<asset>.<point>`, for point detectors. */
  point?: string;
  /** The watched device, for comm-loss. */
  device?: string;
}

/** Points of the site, by asset: `{ asset → { point name → point id } }`. */
function pointsByAsset(site: Site): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const d of site.devices)
    for (const p of d.points) {
      const { asset, name } = splitPointId(p.id);
      const set = out.get(asset) ?? new Set<string>();
      set.add(name);
      out.set(asset, set);
    }
  return out;
}

/** The point names a detector reads on its asset, besides its target point. */
export function detectorInputs(config: DetectorConfig): string[] {
  switch (config.type) {
    case 'flatline':
    case 'deviation':
      return config.running ? [config.running] : [];
    case 'combined':
      return [...new Set(config.all.map((c) => c.point))];
    default:
      return [];
  }
}

/** The asset a device's points belong to (its first point's), or the device id for a device without points. */
export function deviceAsset(device: Device): string {
  const first = device.points[0];
  return first ? splitPointId(first.id).asset : device.id;
}

/**
 * Every instance of every detector. A template (`class:`) applies to each asset of the class that
 * has all the points it reads; `problems` lists detectors that match nothing, and why.
 */
export function expandDetectors(site: Site): { instances: DetectorInstance[]; problems: Array<{ index: number; field: string; message: string }> } {
  const points = pointsByAsset(site);
  const assets = new Map(site.assets.map((a) => [a.id, a]));
  const instances: DetectorInstance[] = [];
  const problems: Array<{ index: number; field: string; message: string }> = [];

  site.detectors.forEach((config, index) => {
    const problem = (field: string, message: string) => problems.push({ index, field, message });
    const needs = detectorInputs(config);
    const hasAll = (asset: string, names: string[]) => names.every((n) => points.get(asset)?.has(n));
    const ofClass = (cls: string): Asset[] => site.assets.filter((a) => a.class === cls);

    if (config.type === 'comm-loss') {
      const devices = config.device ? site.devices.filter((d) => d.id === config.device) : site.devices;
      if (config.device && devices.length === 0) problem('device', `unknown device '${config.device}'`);
      for (const d of devices) instances.push({ config, asset: deviceAsset(d), device: d.id });
      return;
    }

    if (config.type === 'event' || config.type === 'combined') {
      if ((config.asset === undefined) === (config.class === undefined)) return problem('asset', 'name either asset or class');
      const targets = config.asset !== undefined ? (assets.has(config.asset) ? [config.asset] : []) : ofClass(config.class!).map((a) => a.id);
      if (config.asset !== undefined && targets.length === 0) return problem('asset', `unknown asset '${config.asset}'`);
      if (config.class !== undefined && targets.length === 0) return problem('class', `no asset has class '${config.class}'`);
      const fit = targets.filter((a) => hasAll(a, needs));
      if (fit.length === 0) return problem(config.type === 'combined' ? 'all' : 'asset', `no ${config.asset ?? `asset of class '${config.class}'`} has the points ${needs.join(', ')}`);
      for (const asset of fit) instances.push({ config, asset });
      return;
    }

    // Point detectors: a point id, or a class template with a point name.
    if (config.class === undefined) {
      if (!config.point.includes('.')) return problem('point', `'${config.point}' is a point name: give '<asset>.<point>', or add class: to make a template`);
      const { asset, name } = splitPointId(config.point);
      if (!points.get(asset)?.has(name)) return problem('point', `unknown point '${config.point}'`);
      const missing = needs.filter((n) => !points.get(asset)?.has(n));
      if (missing.length > 0) return problem('running', `asset '${asset}' has no point ${missing.map((m) => `'${m}'`).join(', ')}`);
      instances.push({ config, asset, point: config.point });
      return;
    }
    if (config.point.includes('.')) return problem('point', `with class: the point is a point name such as '${splitPointId(config.point).name}'`);
    const members = ofClass(config.class);
    if (members.length === 0) return problem('class', `no asset has class '${config.class}'`);
    const fit = members.filter((a) => hasAll(a.id, [config.point, ...needs]));
    if (fit.length === 0) return problem('point', `no asset of class '${config.class}' has the point${needs.length ? 's' : ''} ${[config.point, ...needs].join(', ')}`);
    for (const a of fit) instances.push({ config, asset: a.id, point: `${a.id}.${config.point}` });
  });
  return { instances, problems };
}
