/**
 * `vigil gateway discover`: Who-Is (clause 16.10) to a list or range of addresses, then each
 * device's Object_List and its objects' names, rendered as a site-file snippet to edit.
 *
 * On loopback, discovery is a unicast Who-Is to each address (a loopback broadcast reaches only
 * sockets bound to 0.0.0.0); a broadcast Who-Is goes out only when a deployment names a real
 * interface and its broadcast address.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BacnetLink, classifyFailure, type IAm, type ObjectId } from './bacnet-link.ts';
import { primitive, PROP, propertyError, type DecodedValue } from './bacnet-values.ts';

/** A range of UDP ports on one host: loopback devices differ by port (LIBRARIES.md). */
export interface BacnetPortRange {
  host: string;
  fromPort: number;
  toPort: number;
}

export interface DiscoverBacnetOptions {
  /** `host:port` addresses, or a range of ports on one host. */
  addresses: string[] | BacnetPortRange;
  /** Interface to bind. Default 127.0.0.1. */
  interface?: string;
  /** UDP port to bind. Default 0: an ephemeral port. */
  port?: number;
  /** Also broadcast a Who-Is here (`host:port`); only for a real interface named by a deployment. */
  broadcastAddress?: string;
  /** How long to wait for I-Am answers, and for each read. Default 2000 ms. */
  timeoutMs?: number;
  log?: Logger;
}

export interface DiscoveredObject {
  type: number;
  instance: number;
  name: string | null;
  description: string | null;
}

export interface DiscoveredDevice {
  address: string;
  instance: number;
  vendorId: number;
  maxApdu: number;
  name: string | null;
  objects: DiscoveredObject[];
  /** Why the object list could not be read, if it could not. */
  error?: string;
}

export interface BacnetDiscovery {
  devices: DiscoveredDevice[];
  /** A site-file `devices:` snippet: one device per I-Am, one point per object (Present_Value). */
  yaml: string;
}

/** Addresses a range or list stands for; at most 4096 (a typo must not start a scan of the world). */
export function expandAddresses(addresses: string[] | BacnetPortRange): string[] {
  if (Array.isArray(addresses)) return addresses;
  const { host, fromPort, toPort } = addresses;
  if (!(Number.isInteger(fromPort) && Number.isInteger(toPort) && fromPort >= 1 && toPort <= 65535 && fromPort <= toPort)) throw new Error(`port range ${fromPort}-${toPort} must be 1–65535, from ≤ to`);
  if (toPort - fromPort >= 4096) throw new Error(`port range ${fromPort}-${toPort} is longer than 4096 ports`);
  return Array.from({ length: toPort - fromPort + 1 }, (_, i) => `${host}:${fromPort + i}`);
}

const isLoopback = (host: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

export async function discoverBacnet(opts: DiscoverBacnetOptions): Promise<BacnetDiscovery> {
  const log = opts.log ?? pino({ level: 'silent' });
  const iface = opts.interface ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 2000;
  const targets = expandAddresses(opts.addresses);
  for (const t of targets) {
    const host = t.slice(0, t.lastIndexOf(':') < 0 ? t.length : t.lastIndexOf(':'));
    // NETWORK SAFETY: from loopback, only loopback; other hosts only from the real interface a deployment names.
    if (isLoopback(iface) && !isLoopback(host)) throw new Error(`address ${t} is not on loopback; bind the interface that reaches it (--interface)`);
  }
  if (opts.broadcastAddress && isLoopback(iface)) throw new Error('a broadcast Who-Is is for a real interface; on loopback discover by unicast (list the addresses)');

  const link = await BacnetLink.open({ interface: iface, port: opts.port ?? 0, ...(opts.broadcastAddress ? { broadcastAddress: opts.broadcastAddress } : {}) }, log, timeoutMs);
  try {
    const found = new Map<string, IAm>();
    link.onIAm((i) => {
      if (!found.has(`${i.address}|${i.deviceId}`)) found.set(`${i.address}|${i.deviceId}`, i);
    });
    for (const [i, address] of targets.entries()) {
      link.whoIs(address);
      // Pace a long range: a few hundred datagrams at once can overflow a socket buffer.
      if (i % 64 === 63) await new Promise((r) => setTimeout(r, 5));
    }
    if (opts.broadcastAddress) link.whoIs(null);
    await new Promise((r) => setTimeout(r, timeoutMs));

    const devices: DiscoveredDevice[] = [];
    for (const iAm of [...found.values()].sort((a, b) => a.deviceId - b.deviceId)) {
      devices.push(await describeDevice(link, iAm, timeoutMs));
    }
    return { devices, yaml: renderSiteSnippet(devices) };
  } finally {
    link.close();
  }
}

async function describeDevice(link: BacnetLink, iAm: IAm, timeoutMs: number): Promise<DiscoveredDevice> {
  const device = { type: 8, instance: iAm.deviceId };
  const base: DiscoveredDevice = { address: iAm.address, instance: iAm.deviceId, vendorId: iAm.vendorId, maxApdu: iAm.maxApdu, name: null, objects: [] };
  try {
    base.name = text(await link.read(iAm.address, device, PROP.objectName, timeoutMs));
    const ids = await objectList(link, iAm.address, device, timeoutMs);
    base.objects = await describeObjects(link, iAm.address, ids.filter((o) => o.type !== 8), timeoutMs);
  } catch (err) {
    const failure = classifyFailure(err);
    base.error = failure.kind === 'timeout' ? 'timeout' : failure.code;
  }
  return base;
}

/** Object_List whole, or element by element when it does not fit one APDU (index 0 is its length, clause 12.1.5.1). */
async function objectList(link: BacnetLink, address: string, device: ObjectId, timeoutMs: number): Promise<ObjectId[]> {
  try {
    return (await link.read(address, device, PROP.objectList, timeoutMs)).map((v) => v.value as ObjectId).filter(isObjectId);
  } catch (err) {
    if (classifyFailure(err).kind === 'timeout') throw err;
  }
  const length = Number(primitive(await link.read(address, device, PROP.objectList, timeoutMs, 0)));
  const ids: ObjectId[] = [];
  for (let i = 1; i <= Math.min(length, 10_000); i++) {
    const v = (await link.read(address, device, PROP.objectList, timeoutMs, i))[0]?.value;
    if (isObjectId(v)) ids.push(v);
  }
  return ids;
}

function isObjectId(v: unknown): v is ObjectId {
  return typeof v === 'object' && v !== null && typeof (v as ObjectId).type === 'number' && typeof (v as ObjectId).instance === 'number';
}

async function describeObjects(link: BacnetLink, address: string, ids: ObjectId[], timeoutMs: number): Promise<DiscoveredObject[]> {
  const out: DiscoveredObject[] = [];
  let rpm = true;
  for (let i = 0; i < ids.length; i += 20) {
    const batch = ids.slice(i, i + 20);
    if (rpm) {
      try {
        const results = await link.readMultiple(address, batch.map((objectId) => ({ objectId, properties: [PROP.objectName, PROP.description] })), timeoutMs);
        for (const r of results) {
          const byId = new Map(r.values.map((v) => [v.id, v.value]));
          out.push({ ...r.objectId, name: text(byId.get(PROP.objectName)), description: text(byId.get(PROP.description)) });
        }
        continue;
      } catch (err) {
        if (classifyFailure(err).kind === 'timeout') throw err;
        rpm = false; // a device without ReadPropertyMultiple: names one by one
      }
    }
    for (const objectId of batch) {
      const name = await link.read(address, objectId, PROP.objectName, timeoutMs).catch(() => undefined);
      out.push({ ...objectId, name: text(name), description: null });
    }
  }
  return out;
}

function text(values: DecodedValue[] | undefined): string | null {
  if (!values || propertyError(values)) return null;
  const v = primitive(values);
  return typeof v === 'string' ? v : null;
}

/** Object types whose Present_Value is worth a COV subscription by default: life safety (21, 22), binary inputs (3). */
const COV_BY_DEFAULT = new Set([3, 21, 22]);

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 64) || 'x';

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The site-file snippet: devices with points named `<device>.<object-name>` (rename the asset part). */
export function renderSiteSnippet(devices: DiscoveredDevice[]): string {
  const lines = ['# BACnet/IP devices found by `vigil gateway discover`. Point ids are <device>.<object-name>:', '# replace the part before the dot with the asset each point belongs to, and keep the points you need.', 'devices:'];
  for (const d of devices) {
    const [host, port] = [d.address.slice(0, d.address.lastIndexOf(':')), d.address.slice(d.address.lastIndexOf(':') + 1)];
    const id = slug(d.name ?? `bacnet-${d.instance}`);
    lines.push(`  - id: ${id}`, ...(d.name ? [`    name: ${quote(d.name)}`] : []), '    protocol: bacnet-ip', `    host: ${host}`, `    port: ${port}`, `    instance: ${d.instance}`);
    if (d.error) lines.push(`    # object list not read: ${d.error}`);
    if (d.objects.length === 0) {
      lines.push('    points: []');
      continue;
    }
    lines.push('    points:');
    const used = new Set<string>();
    for (const o of d.objects) {
      let point = slug(o.name ?? `${o.type}-${o.instance}`);
      while (used.has(point)) point = `${point}-${o.instance}`;
      used.add(point);
      const name = o.description ?? o.name;
      lines.push(`      - { id: ${id}.${point}${name ? `, name: ${quote(name.slice(0, 200))}` : ''}, bacnet: { type: ${o.type}, instance: ${o.instance}${COV_BY_DEFAULT.has(o.type) ? ', cov: true' : ''} } }`);
    }
  }
  return `${lines.join('\n')}\n`;
}
