import { describe, expect, it } from 'vitest';
import pino from 'pino';
import ModbusSerial from 'modbus-serial';
import { DEMO_SITE_FILE, loadSiteFile, parseSite, type Site } from '@vigil/model';
import { stringify } from 'yaml';
import { freePort } from '../testing/index.ts';
import { scaleSite, startSimulators } from './index.ts';

type ModbusClient = InstanceType<typeof ModbusSerial.default>;
const ModbusRTU = ModbusSerial as unknown as new () => ModbusClient;
const points = (site: Site) => site.devices.reduce((n, d) => n + d.points.length, 0);

describe('scaleSite', () => {
  const demo = loadSiteFile(DEMO_SITE_FILE);

  it('n = 1 is the site itself', () => {
    expect(scaleSite(demo, 1)).toEqual(demo);
  });

  it('multiplies buildings, assets, devices, points and per-asset detectors; the result validates as a site file (no duplicate id or endpoint)', () => {
    const big = scaleSite(demo, 4);
    expect(big.buildings.length).toBe(4 * demo.buildings.length);
    expect(big.assets.length).toBe(4 * demo.assets.length);
    expect(big.devices.length).toBe(4 * demo.devices.length);
    expect(points(big)).toBe(4 * points(demo));
    // The loader checks unique ids, endpoints, points' assets and detectors' points.
    expect(() => parseSite(stringify(big), 'scaled.yaml')).not.toThrow();
    const b3 = big.devices.find((d) => d.id === 'booster-1-t3')!;
    expect(b3.points[0]!.id).toBe('pump-b1-1-t3.run_cmd');
    expect(b3.simulator!.params.set).toBe('booster-t3');
    expect(big.assets.find((a) => a.id === 'pump-b1-1-t3')!.building).toBe('tower-t3');
    const ports = big.devices.filter((d) => d.protocol === 'modbus-tcp').map((d) => (d as { port: number }).port);
    expect(new Set(ports).size).toBe(ports.length);
    const topics = big.devices.filter((d) => d.protocol === 'mqtt').map((d) => (d as { topic: string }).topic);
    expect(new Set(topics).size).toBe(topics.length);
  });

  it('reaches 50,000+ points, and refuses a scale whose ports or BACnet instances run out', () => {
    const n = Math.ceil(50_000 / points(demo));
    expect(points(scaleSite(demo, n))).toBeGreaterThanOrEqual(50_000);
    expect(() => scaleSite(demo, 5000)).toThrow(/passes (65535|4194302)/);
    expect(() => scaleSite(demo, 0)).toThrow(RangeError);
  });

  it('each tower\'s booster set is its own: stopping tower 1\'s duty pump leaves tower 2\'s running', async () => {
    const base = loadSiteFile(DEMO_SITE_FILE);
    const big = scaleSite(base, 2);
    const ids = ['booster-1', 'booster-2', 'booster-3', 'booster-1-t2', 'booster-2-t2', 'booster-3-t2'];
    for (const d of big.devices) if (ids.includes(d.id) && d.protocol === 'modbus-tcp') d.port = await freePort();
    const sims = await startSimulators({ site: big, log: pino({ level: 'silent' }), devices: ids });
    const clients: ModbusClient[] = [];
    try {
      for (const id of ids) {
        const c = new ModbusRTU();
        await c.connectTCP('127.0.0.1', { port: (big.devices.find((d) => d.id === id) as { port: number }).port });
        c.setID(1);
        c.setTimeout(2000);
        clients.push(c);
      }
      // Take every pump of tower 1 out: tower 2 keeps pumping.
      for (const c of clients.slice(0, 3)) await c.writeCoil(0, false);
      await new Promise((r) => setTimeout(r, 600));
      const running = await Promise.all(clients.map(async (c) => (await c.readDiscreteInputs(0, 1)).data[0]));
      expect(running.slice(0, 3)).toEqual([false, false, false]);
      expect(running.slice(3).some(Boolean)).toBe(true);
    } finally {
      for (const c of clients) c.close(() => undefined);
      await sims.close();
    }
  });
});
