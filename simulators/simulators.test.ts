import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import ModbusSerial from 'modbus-serial';
import { DEMO_SITE_FILE, loadSiteFile, type ModbusDevice, type Site } from '@vigil/model';
import { eventually, portOf, useFreePorts } from '../testing/index.ts';
import { createSimClock, startSimulators, type RunningSimulators } from './index.ts';
import { MAPS, decodeReads, implausible, mapReads, type RawReads } from './modbus/map-reads.ts';

// modbus-serial's typings declare an ES default export over a CommonJS module: take the class's type from them.
type ModbusClient = InstanceType<typeof ModbusSerial.default>;
const ModbusRTU = ModbusSerial as unknown as new () => ModbusClient;
const log = pino({ level: 'silent' });

/** The demo site with its devices moved to free ports. */
async function demoSiteOnFreePorts(): Promise<Site> {
  const site = loadSiteFile(DEMO_SITE_FILE);
  await useFreePorts(site);
  return site;
}
/** 10:00 on a Monday, site time: mid-morning demand, daytime lift traffic; ×60 so faults develop within seconds. */
const morningClock = () => createSimClock({ start: Date.parse('2026-03-02T10:00:00+08:00'), speed: 60 });

async function client(port: number, unit = 1): Promise<ModbusClient> {
  const c = new ModbusRTU();
  await c.connectTCP('127.0.0.1', { port });
  c.setID(unit);
  c.setTimeout(2000);
  return c;
}
/** Reads a model's documented map with modbus-serial and decodes it. */
async function readMap(c: ModbusClient, model: string): Promise<Record<string, number>> {
  const map = MAPS[model]!;
  const raw: RawReads = {};
  for (const r of mapReads(map)) {
    if (r.table === 'coil') raw.coil = (await c.readCoils(r.address, r.count)).data.slice(0, r.count).map(Number);
    if (r.table === 'discrete') raw.discrete = (await c.readDiscreteInputs(r.address, r.count)).data.slice(0, r.count).map(Number);
    if (r.table === 'holding') raw.holding = (await c.readHoldingRegisters(r.address, r.count)).data;
  }
  return decodeReads(map, raw);
}
/** Sends one raw MBAP frame and returns the reply's PDU, or null when none comes within `ms`. */
async function rawRequest(port: number, frame: number[], ms = 400): Promise<number[] | null> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(Buffer.from(frame));
  const reply = await Promise.race([once(socket, 'data').then(([b]) => b as Buffer), new Promise<null>((r) => setTimeout(() => r(null), ms))]);
  socket.destroy();
  return reply ? [...reply.subarray(7)] : null;
}
const mbap = (pdu: number[], protocol = 0) => [0x00, 0x07, protocol >> 8, protocol & 0xff, 0x00, pdu.length + 1, 0x01, ...pdu];

describe('startSimulators: every Modbus device of the demo tower', () => {
  let site: Site;
  let sims: RunningSimulators;
  const device = (id: string) => site.devices.find((d) => d.id === id)! as ModbusDevice;
  const modbus = () => site.devices.filter((d): d is ModbusDevice => d.protocol === 'modbus-tcp');

  beforeAll(async () => {
    site = await demoSiteOnFreePorts();
    sims = await startSimulators({ site, log, seed: 11, clock: morningClock(), devices: site.devices.filter((d) => d.protocol === 'modbus-tcp').map((d) => d.id) });
  });
  afterAll(async () => {
    await sims?.close();
  });

  it('lists its endpoints with their models and faults', () => {
    expect(sims.endpoints.map((e) => [e.device, e.protocol, e.host, e.port, e.unit, e.model])).toEqual(modbus().map((d) => [d.id, 'modbus-tcp', '127.0.0.1', portOf(d), 1, d.simulator!.model]));
    const faults = (id: string) => sims.endpoints.find((e) => e.device === id)!.faults.map((f) => f.name);
    expect(faults('booster-1')).toEqual(['cavitation', 'bearing-wear', 'dry-run', 'motor-overload-trip', 'stuck-pressure-sensor', 'no-response']);
    expect(faults('sump-1')).toEqual(['high-water', 'pump-fails', 'no-response']);
    expect(faults('fire-jockey')).toEqual(['leak', 'no-response']);
    expect(faults('fire-main')).toEqual(['fails-to-start', 'no-response']);
    expect(faults('lift-ff-ctl')).toEqual(['entrapment', 'door-fault', 'levelling-error', 'motor-overheat', 'out-of-service', 'no-response']);
  });

  it('every device serves its model\'s documented map with plausible values; input registers mirror holding', async () => {
    for (const d of modbus()) {
      const c = await client(portOf(d));
      try {
        const values = await readMap(c, d.simulator!.model);
        expect(implausible(MAPS[d.simulator!.model]!, values), d.id).toEqual([]);
        const size = MAPS[d.simulator!.model]!.sizes.holdingRegisters;
        const [holding, input] = [(await c.readHoldingRegisters(0, size)).data, (await c.readInputRegisters(0, size)).data];
        // Values may move between the two reads; the counters and set points do not.
        expect(input.length, d.id).toBe(holding.length);
      } finally {
        c.close(() => undefined);
      }
    }
  });

  it('the booster set: one duty pump at 0.80 MPa mid-morning; stopping it by its coil brings in the next', async () => {
    const pumps = await Promise.all(['booster-1', 'booster-2', 'booster-3'].map((id) => client(portOf(device(id)))));
    try {
      const read = () => Promise.all(pumps.map((c) => readMap(c, 'booster-pump')));
      const now = await eventually(async () => {
        const v = await read();
        return v.filter((p) => p.running === 1).length >= 1 ? v : null;
      });
      for (const p of now) expect(Math.abs(p.discharge_pressure! - 0.8)).toBeLessThan(0.05);
      const duty = now.findIndex((p) => p.set_role === 1);
      await pumps[duty]!.writeCoil(0, false);
      expect(await readMap(pumps[duty]!, 'booster-pump')).toMatchObject({ running: 0, speed: 0, motor_current: 0, set_role: 3 });
      await eventually(async () => (await read()).some((p, i) => i !== duty && p.running === 1));
      await pumps[duty]!.writeCoil(0, true);
    } finally {
      for (const c of pumps) c.close(() => undefined);
    }
  });

  it('faults change the right registers: cavitation, entrapment, high water, fire main pump fails to start', async () => {
    const booster = await client(portOf(device('booster-1')));
    const lift = await client(portOf(device('lift-3-ctl')));
    const sump = await client(portOf(device('sump-2')));
    const main = await client(portOf(device('fire-main')));
    try {
      // Cavitation on every pump, so whichever is duty shows it.
      for (const id of ['booster-1', 'booster-2', 'booster-3']) sims.inject(id, 'cavitation');
      expect((await readMap(booster, 'booster-pump')).fault_code).toBe(208);
      await eventually(async () => (await readMap(booster, 'booster-pump')).discharge_pressure! < 0.6);
      for (const id of ['booster-1', 'booster-2', 'booster-3']) sims.clear(id, 'cavitation');
      await eventually(async () => Math.abs((await readMap(booster, 'booster-pump')).discharge_pressure! - 0.8) < 0.03);

      const trapped = sims.inject('lift-3-ctl', 'entrapment');
      expect(trapped.faults.find((f) => f.name === 'entrapment')?.active).toBe(true);
      expect(await readMap(lift, 'lift-controller')).toMatchObject({ fault_code: 8, door_zone: 0, door_status: 0, in_service: 0 });
      await eventually(async () => (await readMap(lift, 'lift-controller')).alarm_button === 1);

      sims.inject('sump-2', 'high-water', { inflow: 60 });
      await eventually(async () => (await readMap(sump, 'sump-pump')).water_leak === 1, 15_000);
      expect((await readMap(sump, 'sump-pump')).fault_code).toBe(3);

      sims.inject('fire-main', 'fails-to-start');
      await main.writeCoil(0, true);
      await eventually(async () => (await readMap(main, 'fire-pump')).fault_code === 1);
      expect((await readMap(main, 'fire-pump')).running).toBe(0);
    } finally {
      for (const c of [booster, lift, sump, main]) c.close(() => undefined);
    }
  });

  it('answers as the spec says on every model (v1.1b §7): exception 1, 2 and 3; a bad MBAP protocol id gets no reply', async () => {
    for (const id of ['booster-2', 'sump-1', 'fire-jockey', 'lift-5-ctl']) {
      const d = device(id);
      const size = MAPS[d.simulator!.model]!.sizes.holdingRegisters;
      expect(await rawRequest(portOf(d), mbap([0x2b, 0x0e, 0x01, 0x00])), id).toEqual([0xab, 0x01]); // FC 43 unsupported
      expect(await rawRequest(portOf(d), mbap([0x03, size >> 8, size & 0xff, 0x00, 0x01])), id).toEqual([0x83, 0x02]); // past the table
      expect(await rawRequest(portOf(d), mbap([0x03, 0x00, 0x00, 0x00, 0x00])), id).toEqual([0x83, 0x03]); // quantity 0
      expect(await rawRequest(portOf(d), mbap([0x03, 0x00, 0x00, 0x00, 0x7e])), id).toEqual([0x83, 0x03]); // quantity 126
      expect(await rawRequest(portOf(d), mbap([0x06, 0x00, 0x00, 0x00, 0x01])), id).toEqual([0x86, 0x02]); // a measurement is read-only
      expect(await rawRequest(portOf(d), mbap([0x03, 0x00, 0x00, 0x00, 0x01], 1)), id).toBeNull();
    }
  });

  it('no-response on every model: requests go unanswered until cleared', async () => {
    for (const id of ['booster-3', 'sump-1', 'fire-jockey', 'lift-6-ctl']) {
      sims.inject(id, 'no-response');
      const c = await client(portOf(device(id)));
      try {
        c.setTimeout(300);
        await expect(c.readHoldingRegisters(0, 1), id).rejects.toThrow(/Timed out/i);
        sims.clear(id, 'no-response');
        await expect(c.readHoldingRegisters(0, 1), id).resolves.toBeTruthy();
      } finally {
        c.close(() => undefined);
      }
    }
  });

  it('inject and clear throw code not-found for an unknown device or fault, invalid for bad params', () => {
    expect(() => sims.inject('booster-9', 'cavitation')).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => sims.clear('booster-1', 'flood')).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => sims.inject('booster-1', 'cavitation', { severity: 9 })).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => sims.inject('fire-jockey', 'fails-to-start')).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => sims.inject('lift-1-ctl', 'levelling-error', { mm: -3 })).toThrow(expect.objectContaining({ code: 'invalid' }));
  });

  it('counts what it served', () => {
    const counters = sims.counters();
    expect(counters.devices['booster-1']!.requests).toBeGreaterThan(10);
    expect(counters.devices['booster-2']!.badFrames).toBeGreaterThan(0);
    expect(counters.bus).toBeNull();
  });
});

describe('startSimulators options', () => {
  it('serves only the devices asked for, and refuses one the site does not have', async () => {
    const site = await demoSiteOnFreePorts();
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
    const first = await startSimulators({ site, log, devices: ['booster-2'] });
    try {
      await expect(startSimulators({ site, log, devices: ['booster-1', 'booster-2'] })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+/);
      // booster-1 was started before the failure and must have been closed again.
      const again = await startSimulators({ site, log, devices: ['booster-1'] });
      await again.close();
    } finally {
      await first.close();
    }
  });

  it('refuses a fire pump without a valid role, naming the device', async () => {
    const site = await demoSiteOnFreePorts();
    device(site, 'fire-main').simulator!.params.role = 'spare';
    await expect(startSimulators({ site, log, devices: ['fire-main'] })).rejects.toThrow(/fire-main.*role/);
  });
});

function device(site: Site, id: string): ModbusDevice {
  return site.devices.find((d) => d.id === id)! as ModbusDevice;
}
