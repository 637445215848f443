/** Loads and validates a site file, with errors that name the file, line and field. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { SiteFileSchema, type Site } from './site-schema.ts';
import { ID_PATTERN, POINT_ID_PATTERN, splitPointId } from './ids.ts';
import { expandDetectors } from './detectors.ts';

/** The bundled demo building. */
export const DEMO_SITE_FILE = fileURLToPath(new URL('./sites/demo.yaml', import.meta.url));

export interface SiteProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `devices[0].port`. */
  field: string;
  message: string;
}

export class SiteError extends Error {
  readonly code = 'VIGIL_ERR_SITE';
  constructor(readonly problems: SiteProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n'));
    this.name = 'SiteError';
  }
}

type Path = (string | number)[];

const friendly: Record<string, string> = {
  [ID_PATTERN]: "must be lower-case letters, digits, '-' or '_', starting with a letter or digit",
  [POINT_ID_PATTERN]: "must be '<asset>.<point>', each part lower-case letters, digits, '-' or '_'",
};

function fieldName(path: Path): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${key}` : key), '') || '(root)';
}

function pointerToPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
}

function locate(doc: Document, counter: LineCounter, path: Path): { line: number; column: number } {
  // A missing field has no node: point at the nearest parent that exists.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = counter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

/**
 * Schema errors with their JSON-pointer paths. A union (a device: Modbus, BACnet or MQTT) is checked
 * against the branch its discriminating literal (e.g. `protocol`) names, so the error points at the
 * field that is wrong instead of saying "no branch matched".
 */
function schemaErrors(schema: TSchema, value: unknown, base: string): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  for (const err of Value.Errors(schema, value)) {
    if (seen.has(err.path)) continue;
    seen.add(err.path);
    const branches = (err.schema as { anyOf?: TSchema[] }).anyOf;
    if (branches && err.value && typeof err.value === 'object' && !Array.isArray(err.value)) {
      out.push(...unionErrors(branches, err.value as Record<string, unknown>, base + err.path));
      continue;
    }
    const pattern = (err.schema as { pattern?: string }).pattern;
    out.push({ path: base + err.path, message: (pattern && friendly[pattern]) || err.message.toLowerCase() });
  }
  return out;
}

function unionErrors(branches: TSchema[], value: Record<string, unknown>, path: string): Array<{ path: string; message: string }> {
  type Literal = [key: string, constant: unknown];
  const literals = (b: TSchema): Literal[] =>
    Object.entries((b as { properties?: Record<string, { const?: unknown }> }).properties ?? {})
      .filter(([, p]) => 'const' in p)
      .map(([k, p]) => [k, p.const]);
  const chosen = branches.find((b) => {
    const l = literals(b);
    return l.length > 0 && l.every(([k, c]) => value[k] === c);
  });
  if (chosen) return schemaErrors(chosen, Value.Default(chosen, value), path);
  const keys = [...new Set(branches.flatMap((b) => literals(b).map(([k]) => k)))];
  const allowed = keys.map((k) => `${k}: ${branches.flatMap((b) => literals(b).filter(([kk]) => kk === k).map(([, c]) => String(c))).join(' | ')}`);
  return [{ path: keys.length === 1 ? `${path}/${keys[0]}` : path, message: `must be one of ${allowed.join('; ')}` }];
}

/** Parses and validates site-file text. `file` names the source in errors. */
export function parseSite(text: string, file = 'site.yaml'): Site {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const problem = (path: Path, message: string): SiteProblem => ({ file, ...locate(doc, counter, path), field: fieldName(path), message });

  if (doc.errors.length > 0) {
    throw new SiteError(
      doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1, field: '(yaml)', message: e.message.split('\n')[0]! })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SiteError([problem([], 'a site file is a YAML mapping with site, buildings, assets, devices …')]);

  const value = Value.Default(SiteFileSchema, structuredClone(raw));
  const schemaProblems = schemaErrors(SiteFileSchema, value, '').map((e) => problem(pointerToPath(e.path), e.message));
  if (schemaProblems.length > 0) throw new SiteError(schemaProblems.slice(0, 20));

  const site = value as Site;
  const refProblems = checkReferences(site).map(([path, message]) => problem(path, message));
  if (refProblems.length > 0) throw new SiteError(refProblems);
  return site;
}

/** Reads, parses and validates a site file. */
export function loadSiteFile(path: string): Site {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SiteError([{ file: path, line: 1, column: 1, field: '(file)', message: `cannot read the site file: ${(err as Error).message}` }]);
  }
  return parseSite(text, path);
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
