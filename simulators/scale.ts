/**
 * `vigil sim --scale N`: the building multiplied into N towers, so benchmarks can drive 50,000+
 * points from one site file. Tower 1 is the site as it is; tower k ≥ 2 gets every id suffixed
 * `-t<k>` and its ports and BACnet instances offset so that nothing collides.
 */
import type { Device, Site } from '@vigil/model';

/** BACnet device instances of tower k are offset by (k − 1) × this. */
export const INSTANCE_STRIDE = 10_000;
/** Simulator params naming shared plant (a booster set, a fire main): each tower gets its own. */
const SHARED_PLANT_PARAMS = ['set'];

const suffixed = (id: string, k: number) => (k === 1 ? id : `${id}-t${k}`);
const pointId = (id: string, k: number) => {
  const dot = id.indexOf('.');
  return `${suffixed(id.slice(0, dot), k)}${id.slice(dot)}`;
};

/** The span of the ports a protocol uses in the site (max − min + 1), so that towers sit side by side. */
function portSpan(devices: Device[], protocol: Device['protocol']): { min: number; span: number } {
  const ports = devices.filter((d) => d.protocol === protocol).map((d) => (d as { port: number }).port);
  if (ports.length === 0) return { min: 0, span: 0 };
  const min = Math.min(...ports);
  return { min, span: Math.max(...ports) - min + 1 };
}

export function scaleSite(site: Site, n: number): Site {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`scale must be a positive integer, got ${n}`);
  const modbus = portSpan(site.devices, 'modbus-tcp');
  const bacnet = portSpan(site.devices, 'bacnet-ip');
  const towers = Array.from({ length: n }, (_, i) => i + 1);
  const devices = towers.flatMap((k) =>
    site.devices.map((d): Device => {
      const copy = structuredClone(d);
      copy.id = suffixed(d.id, k);
      if (d.name && k > 1) copy.name = `${d.name} (tower ${k})`;
      copy.points = d.points.map((p) => ({ ...structuredClone(p), id: pointId(p.id, k) })) as typeof copy.points;
      if (copy.simulator && k > 1) {
        for (const key of SHARED_PLANT_PARAMS) {
          const value = copy.simulator.params[key];
          if (typeof value === 'string') copy.simulator.params[key] = suffixed(value, k);
        }
      }
      if (copy.protocol === 'modbus-tcp') copy.port += (k - 1) * modbus.span;
      if (copy.protocol === 'bacnet-ip') {
        copy.port += (k - 1) * bacnet.span;
        copy.instance += (k - 1) * INSTANCE_STRIDE;
        if (copy.instance > 4_194_302) throw new RangeError(`scale ${n}: BACnet instance of ${copy.id} passes 4194302`);
      }
      if (copy.protocol === 'mqtt' && d.protocol === 'mqtt') copy.topic = suffixed(d.topic, k);
      if ('port' in copy && copy.port > 65_535) throw new RangeError(`scale ${n}: port of ${copy.id} passes 65535; use fewer towers`);
      return copy;
    }),
  );
  return {
    ...structuredClone(site),
    site: { ...site.site, name: n === 1 ? site.site.name : `${site.site.name} × ${n}` },
    buildings: towers.flatMap((k) => site.buildings.map((b) => ({ ...structuredClone(b), id: suffixed(b.id, k), name: k === 1 ? b.name : `${b.name} ${k}` }))),
    assets: towers.flatMap((k) => site.assets.map((a) => ({ ...a, id: suffixed(a.id, k), building: suffixed(a.building, k), name: k === 1 ? a.name : `${a.name} (tower ${k})` }))),
    devices,
    detectors: towers.flatMap((k) => site.detectors.flatMap((det) => scaleDetector(det, k))),
  };
}

type Detector = Site['detectors'][number];

/**
 * A detector for tower k. One naming an asset, a point or a device is copied per tower; a class
 * template (`class:`) or a site-wide one (comm-loss of every device) already covers every tower's
 * assets, so it stays once.
 */
function scaleDetector(det: Detector, k: number): Detector[] {
  const fields = det as unknown as Record<string, unknown>;
  const specific = typeof fields.class !== 'string' && ((typeof fields.point === 'string' && fields.point.includes('.')) || typeof fields.asset === 'string' || typeof fields.device === 'string');
  if (!specific) return k === 1 ? [det] : [];
  const copy: Record<string, unknown> = { ...structuredClone(fields), id: suffixed(det.id, k) };
  if (typeof fields.point === 'string' && fields.point.includes('.')) copy.point = pointId(fields.point, k);
  if (typeof fields.asset === 'string') copy.asset = suffixed(fields.asset, k);
  if (typeof fields.device === 'string') copy.device = suffixed(fields.device, k);
  return [copy as unknown as Detector];
}
