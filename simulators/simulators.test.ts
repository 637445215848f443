import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import ModbusSerial from 'modbus-serial';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { eventually, freePort, portOf, useFreePorts } from '../testing/index.ts';
import { startSimulators, type RunningSimulators } from './index.ts';

// modbus-serial's typings declare an ES default export over a CommonJS module: take the class's type from them.
type ModbusClient = InstanceType<typeof ModbusSerial.default>;
const ModbusRTU = ModbusSerial as unknown as new () => ModbusClient;

/** The demo site with its pumps moved to free ports. */
async function demoSiteOnFreePorts(): Promise<Site> {
  const site = loadSiteFile(DEMO_SITE_FILE);
  await useFreePorts(site);
  return site;
}

async function client(port: number, unit = 1): Promise<ModbusClient> {
  const c = new ModbusRTU();
  await c.connectTCP('127.0.0.1', { port });
  c.setID(unit);
  c.setTimeout(2000);
  return c;
}

/** The documented map, decoded as the gateway will (scale, float32 ABCD). */
async function readPump(c: ModbusClient) {
  const regs = (await c.readHoldingRegisters(0, 5)).buffer;
  return {
    running: (await c.readDiscreteInputs(0, 1)).data[0],
    speedPct: regs.readUInt16BE(0) * 0.01,
    currentA: regs.readUInt16BE(2) * 0.1,
    pressureMPa: regs.readFloatBE(4),
    faultCode: regs.readUInt16BE(8),
  };
}

describe('startSimulators: the demo booster pumps over Modbus TCP', () => {
  let site: Site;
  let sims: RunningSimulators;
  let pump1: ModbusClient;

  beforeAll(async () => {
    site = await demoSiteOnFreePorts();
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), seed: 11 });
    pump1 = await client(portOf(site.devices[0]));
  });
  afterAll(async () => {
    pump1?.close(() => undefined);
    await sims?.close();
  });

  it('lists its endpoints with their faults', () => {
    expect(sims.endpoints.map((e) => [e.device, e.protocol, e.host, e.port, e.unit, e.model])).toEqual(
      site.devices.map((d) => [d.id, 'modbus-tcp', '127.0.0.1', portOf(d), 1, 'booster-pump']),
    );
    expect(sims.endpoints[0]!.faults.map((f) => [f.name, f.active])).toEqual([
      ['cavitation', false],
      ['no-response', false],
    ]);
  });

  it('serves the documented register map with plausible values', async () => {
    const p = await readPump(pump1);
    expect(p.running).toBe(true);
    expect(p.speedPct).toBeGreaterThanOrEqual(70);
    expect(p.speedPct).toBeLessThanOrEqual(85);
    expect(p.currentA).toBeGreaterThan(15);
    expect(p.currentA).toBeLessThan(22);
    expect(p.pressureMPa).toBeGreaterThan(0.785);
    expect(p.pressureMPa).toBeLessThan(0.815);
    expect(p.faultCode).toBe(0);
    expect((await pump1.readCoils(0, 1)).data[0]).toBe(true);
    // Input registers mirror the holding registers.
    const input = (await pump1.readInputRegisters(0, 16)).data;
    expect(input.length).toBe(16);
    // Values move: the model updates every 250 ms.
    const first = (await pump1.readHoldingRegisters(0, 4)).data;
    await eventually(async () => JSON.stringify((await pump1.readHoldingRegisters(0, 4)).data) !== JSON.stringify(first));
  });

  it('answers unit 0xFF; both pumps are served', async () => {
    const broadcast = await client(portOf(site.devices[0]), 0xff);
    const pump2 = await client(portOf(site.devices[1]));
    try {
      expect((await broadcast.readDiscreteInputs(0, 1)).data[0]).toBe(true);
      expect((await pump2.readHoldingRegisters(2, 2)).buffer.readFloatBE(0)).toBeGreaterThan(0.78);
    } finally {
      broadcast.close(() => undefined);
      pump2.close(() => undefined);
    }
  });

  it('answers an exception that modbus-serial reports, for a read past the bank', async () => {
    await expect(pump1.readHoldingRegisters(10, 10)).rejects.toMatchObject({ modbusCode: 2 });
    // Measurements are read-only; the set point is writable within 100-1600 kPa.
    await expect(pump1.writeRegister(0, 1234)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(pump1.writeRegister(5, 5000)).rejects.toMatchObject({ modbusCode: 3 });
  });

  it('the run coil stops the pump: not running, speed 0, current 0, pressure decays toward 0.1 MPa', async () => {
    const pump2 = await client(portOf(site.devices[1]));
    try {
      await pump2.writeCoil(0, false);
      const stopped = await readPump(pump2);
      expect(stopped).toMatchObject({ running: false, speedPct: 0, currentA: 0 });
      await eventually(async () => (await readPump(pump2)).pressureMPa < 0.3, 10_000);
      await pump2.writeCoil(0, true);
      await eventually(async () => {
        const p = await readPump(pump2);
        return p.running && p.speedPct >= 70 && p.pressureMPa > 0.75;
      });
    } finally {
      pump2.close(() => undefined);
    }
  });

  it('cavitation changes pressure, current and fault code; clear recovers within about 2 s', async () => {
    const entry = sims.inject('booster-1', 'cavitation');
    expect(entry.faults.find((f) => f.name === 'cavitation')?.active).toBe(true);
    expect((await readPump(pump1)).faultCode).toBe(208);
    await eventually(async () => (await readPump(pump1)).pressureMPa < 0.6);
    const samples = [];
    for (let i = 0; i < 12; i++) {
      samples.push(await readPump(pump1));
      await new Promise((r) => setTimeout(r, 250));
    }
    const pressures = samples.map((s) => s.pressureMPa);
    const currents = samples.map((s) => s.currentA);
    expect(Math.max(...pressures)).toBeLessThan(0.6);
    expect(Math.max(...pressures) - Math.min(...pressures)).toBeGreaterThan(0.05);
    expect(Math.max(...currents) - Math.min(...currents)).toBeGreaterThan(1);

    const cleared = sims.clear('booster-1', 'cavitation');
    expect(cleared.faults.every((f) => !f.active)).toBe(true);
    // The model recovers within 2 s of model time (booster-pump.test.ts); here only that it does.
    await eventually(async () => {
      const p = await readPump(pump1);
      return p.faultCode === 0 && Math.abs(p.pressureMPa - 0.8) < 0.015;
    }, 5000);
  });

  it('no-response: requests go unanswered until cleared', async () => {
    sims.inject('booster-2', 'no-response');
    const pump2 = await client(portOf(site.devices[1]));
    try {
      pump2.setTimeout(300);
      await expect(pump2.readHoldingRegisters(0, 1)).rejects.toThrow(/Timed out/i);
      sims.clear('booster-2', 'no-response');
      await expect(pump2.readHoldingRegisters(0, 1)).resolves.toBeTruthy();
    } finally {
      pump2.close(() => undefined);
    }
  });

  it('inject and clear throw code not-found for an unknown device or fault, invalid for bad params', () => {
    expect(() => sims.inject('booster-9', 'cavitation')).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => sims.clear('booster-1', 'flood')).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => sims.inject('booster-1', 'cavitation', { severity: 9 })).toThrow(expect.objectContaining({ code: 'invalid' }));
  });

  it('counts what it served', () => {
    const counters = sims.counters();
    expect(counters.devices['booster-1']!.requests).toBeGreaterThan(10);
    expect(counters.bus).toBeNull();
  });
});

describe('startSimulators options', () => {
  it('serves only the devices asked for, and refuses one the site does not have', async () => {
    const site = await demoSiteOnFreePorts();
    const log = pino({ level: 'silent' });
    const sims = await startSimulators({ site, log, devices: ['booster-2'] });
    try {
      expect(sims.endpoints.map((e) => e.device)).toEqual(['booster-2']);
    } finally {
      await sims.close();
    }
    await expect(startSimulators({ site, log, devices: ['nope'] })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('fails with a clear message when a port is taken, and leaves nothing running', async () => {
    const site = await demoSiteOnFreePorts();
    const log = pino({ level: 'silent' });
    const first = await startSimulators({ site, log, devices: ['booster-2'] });
    try {
      await expect(startSimulators({ site, log })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+/);
      // booster-1 was started before the failure and must have been closed again.
      const again = await startSimulators({ site, log, devices: ['booster-1'] });
      await again.close();
    } finally {
      await first.close();
    }
  });
});
