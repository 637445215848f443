/** Loads and validates a site file, with errors that name the file, line and field. */
import { fileURLToPath } from 'node:url';
import { SiteFileSchema, type Site } from './site-schema.ts';
import { splitPointId } from './ids.ts';
import { expandDetectors } from './detectors.ts';
import { FileProblemsError, fieldName, parseYamlFile, readYamlText, type FileProblem, type YamlFileOptions, type YamlPath } from './yaml-file.ts';

/** The bundled demo building. */
export const DEMO_SITE_FILE = fileURLToPath(new URL('./sites/demo.yaml', import.meta.url));

export type SiteProblem = FileProblem;

export class SiteError extends FileProblemsError {
  readonly code = 'VIGIL_ERR_SITE';
  constructor(problems: SiteProblem[]) {
    super(problems);
    this.name = 'SiteError';
  }
}

type Path = YamlPath;

const SITE_FILE: YamlFileOptions = {
  kind: 'site',
  mapping: 'a site file is a YAML mapping with site, buildings, assets, devices …',
  fail: (problems) => new SiteError(problems),
};

/** Parses and validates site-file text. `file` names the source in errors. */
export function parseSite(text: string, file = 'site.yaml'): Site {
  const { value: site, problem } = parseYamlFile(text, file, SiteFileSchema, SITE_FILE);
  const refProblems = checkReferences(site).map(([path, message]) => problem(path, message));
  if (refProblems.length > 0) throw new SiteError(refProblems);
  return site;
}

/** Reads, parses and validates a site file. */
export function loadSiteFile(path: string): Site {
  return parseSite(readYamlText(path, SITE_FILE), path);
}

/** Cross-references the schema cannot express: unique ids and names that must exist. */
function checkReferences(site: Site): Array<[Path, string]> {
  const out: Array<[Path, string]> = [];
  const unique = (kind: string, items: Array<{ id: string }>, base: Path) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      if (seen.has(item.id)) out.push([[...base, i, 'id'], `duplicate ${kind} id '${item.id}' (first at ${fieldName([...base, seen.get(item.id)!])})`]);
      else seen.set(item.id, i);
    });
  };

  unique('building', site.buildings, ['buildings']);
  site.buildings.forEach((b, i) => unique('floor', b.floors, ['buildings', i, 'floors']));
  unique('asset', site.assets, ['assets']);
  unique('device', site.devices, ['devices']);
  unique('detector', site.detectors, ['detectors']);

  const buildings = new Map(site.buildings.map((b) => [b.id, b]));
  site.assets.forEach((a, i) => {
    const b = buildings.get(a.building);
    if (!b) out.push([['assets', i, 'building'], `unknown building '${a.building}'; known: ${[...buildings.keys()].join(', ')}`]);
    else if (!b.floors.some((f) => f.id === a.floor)) out.push([['assets', i, 'floor'], `building '${b.id}' has no floor '${a.floor}'`]);
  });

  const assets = new Set(site.assets.map((a) => a.id));
  const points = new Map<string, Path>();
  const endpoints = new Map<string, number>();
  site.devices.forEach((d, i) => {
    if (d.protocol !== 'mqtt') {
      // Modbus TCP devices may share a gateway's port by unit id; BACnet/IP devices each need their own UDP port.
      const endpoint = d.protocol === 'modbus-tcp' ? `tcp ${d.host}:${d.port} unit ${d.unit}` : `udp ${d.host}:${d.port}`;
      if (endpoints.has(endpoint)) out.push([['devices', i, 'port'], `devices[${endpoints.get(endpoint)}] already uses ${endpoint}`]);
      else endpoints.set(endpoint, i);
    }
    d.points.forEach((p, j) => {
      const path: Path = ['devices', i, 'points', j, 'id'];
      const { asset } = splitPointId(p.id);
      if (!assets.has(asset)) out.push([path, `the point's asset '${asset}' is not in assets`]);
      if (points.has(p.id)) out.push([path, `duplicate point id '${p.id}' (first at ${fieldName(points.get(p.id)!)})`]);
      else points.set(p.id, path);
      if (!('modbus' in p)) return;
      const bits = p.modbus.table === 'coil' || p.modbus.table === 'discrete';
      if (bits && p.modbus.type !== 'bool') out.push([['devices', i, 'points', j, 'modbus', 'type'], `a ${p.modbus.table} holds one bit: type must be bool`]);
      if (p.modbus.bit !== undefined && (bits || p.modbus.type !== 'bool'))
        out.push([['devices', i, 'points', j, 'modbus', 'bit'], bits ? `a ${p.modbus.table} is a bit already: drop 'bit'` : `'bit' picks one bit of a register: type must be bool`]);
    });
  });

  for (const p of expandDetectors(site).problems) out.push([['detectors', p.index, p.field], p.message]);
  site.detectors.forEach((det, i) => {
    if (det.type === 'threshold' && det.lo === undefined && det.hi === undefined && det.lolo === undefined && det.hihi === undefined)
      out.push([['detectors', i], 'a threshold detector needs at least one of lolo, lo, hi, hihi']);
    if (det.type === 'rate-of-change' && det.rise === undefined && det.fall === undefined) out.push([['detectors', i], 'a rate-of-change detector needs rise, fall or both']);
    if (det.type === 'event' && det.count > 1 && det.windowMs === 0) out.push([['detectors', i, 'windowMs'], 'a burst (count > 1) needs windowMs']);
  });

  const shifts = new Set(site.roster.shifts.map((s) => s.id));
  site.roster.people.forEach((p, i) => {
    p.shifts.forEach((s, j) => {
      if (!shifts.has(s)) out.push([['roster', 'people', i, 'shifts', j], `unknown shift '${s}'`]);
    });
  });
  const usernames = new Map<string, number>();
  site.roster.people.forEach((p, i) => {
    if (usernames.has(p.username)) out.push([['roster', 'people', i, 'username'], `duplicate username '${p.username}'`]);
    else usernames.set(p.username, i);
  });
  return out;
}

/** Look-ups a running component needs over and over. */
export function indexSite(site: Site) {
  const assets = new Map(site.assets.map((a) => [a.id, a]));
  const points = new Map(site.devices.flatMap((d) => d.points.map((p) => [p.id, { point: p, device: d }] as const)));
  return { assets, points, devices: new Map(site.devices.map((d) => [d.id, d])) };
}
