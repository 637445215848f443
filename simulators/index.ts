/** @vigil/simulators: simulated devices on loopback, with fault injection over the bus. */
import type { Logger } from 'pino';
import type { BusOptions, Site, SimDevice } from '@vigil/model';
import { BoosterPump, BOOSTER_PUMP_MODEL, TICK_MS } from './booster-pump.ts';
import { ModbusTcpServer, type ModbusServerCounters } from './modbus-server.ts';
import { SimBus, type SimBusCounters } from './bus.ts';
import { SimError } from './errors.ts';
import { hashString } from './prng.ts';

export { ModbusTcpServer, type ModbusTcpServerOptions, type ModbusServerCounters } from './modbus-server.ts';
export { MemoryRegisterBank, ModbusException, ModbusExceptionCode, type RegisterBank, type Table, type BitTable, type RegisterTable } from './register-bank.ts';
export { BoosterPump, BOOSTER_PUMP_MAP, BOOSTER_PUMP_MODEL, FAULT_CODES, TICK_MS } from './booster-pump.ts';
export { SimError, type SimErrorCode } from './errors.ts';
export type { SimBusCounters } from './bus.ts';

export interface SimulatorOptions {
  site: Site;
  bus?: BusOptions;
  log: Logger;
  /** Seeds every device's noise (with its id): the same seed gives the same values. Default 1. */
  seed?: number;
  /** Only these device ids. */
  devices?: string[];
}

export interface SimulatorCounters {
  modbus: Record<string, ModbusServerCounters>;
  bus: SimBusCounters | null;
}

export interface RunningSimulators {
  /** The served devices and their faults, as now. */
  readonly endpoints: SimDevice[];
  /** Throws an Error with `code` 'not-found' (device or fault) or 'invalid' (params). */
  inject(device: string, fault: string, params?: Record<string, number | string | boolean>): SimDevice;
  clear(device: string, fault: string): SimDevice;
  counters(): SimulatorCounters;
  close(): Promise<void>;
}

interface Running {
  device: SimDevice;
  pump: BoosterPump;
  server: ModbusTcpServer;
}

/** Starts a Modbus TCP server per simulated device of the site (and the bus side when `bus` is given). */
export async function startSimulators(opts: SimulatorOptions): Promise<RunningSimulators> {
  const { site, log } = opts;
  const seed = opts.seed ?? 1;
  const siteIds = new Set(site.devices.map((d) => d.id));
  for (const id of opts.devices ?? []) {
    if (!siteIds.has(id)) throw new SimError('not-found', `device '${id}' is not in site '${site.site.id}'`);
  }
  const wanted = (id: string) => !opts.devices || opts.devices.includes(id);

  const running = new Map<string, Running>();
  let bus: SimBus | null = null;
  let timer: NodeJS.Timeout | null = null;
  const close = async () => {
    if (timer) clearInterval(timer);
    await bus?.close();
    await Promise.all([...running.values()].map((r) => r.server.close()));
  };

  try {
    for (const device of site.devices) {
      if (!wanted(device.id) || !device.simulator || device.protocol !== 'modbus-tcp') continue;
      if (device.simulator.model !== BOOSTER_PUMP_MODEL) {
        log.warn({ device: device.id, model: device.simulator.model }, 'no simulator for this model: device not served');
        continue;
      }
      const pump = new BoosterPump({ seed: (seed + hashString(device.id)) >>> 0 });
      const server = new ModbusTcpServer({ host: device.host, port: device.port, unit: device.unit, bank: pump.bank, log: log.child({ device: device.id }) });
      await server.listen();
      const entry: SimDevice = { device: device.id, protocol: 'modbus-tcp', host: device.host, port: device.port, unit: device.unit, model: pump.model, faults: [] };
      running.set(device.id, { device: entry, pump, server });
      log.info({ device: device.id, host: device.host, port: device.port, unit: device.unit }, 'booster pump simulator serving');
    }
  } catch (err) {
    await close();
    throw err;
  }

  timer = setInterval(() => {
    for (const [device, { pump }] of running) {
      try {
        pump.step();
      } catch (err) {
        // A model bug must not stop the other devices (or the process hosting them).
        log.error({ err, device }, 'simulator step failed');
      }
    }
  }, TICK_MS);
  // The simulators never keep the process alive on their own.
  timer.unref();

  const describe = (r: Running): SimDevice => ({ ...r.device, faults: r.pump.faults() });
  const find = (device: string): Running => {
    const r = running.get(device);
    if (!r) throw new SimError('not-found', `no simulated device '${device}'`);
    return r;
  };
  const change = (device: string, apply: (r: Running) => void): SimDevice => {
    const r = find(device);
    apply(r);
    r.server.silent = r.pump.unresponsive;
    bus?.publishCatalog();
    return describe(r);
  };
  const control = {
    catalog: () => [...running.values()].map(describe),
    inSite: (device: string) => siteIds.has(device),
    serves: (device: string) => running.has(device),
    inject: (device: string, fault: string, params?: Record<string, number | string | boolean>) =>
      change(device, (r) => {
        r.pump.inject(fault, params);
        log.info({ device, fault, params }, 'fault injected');
      }),
    clear: (device: string, fault: string) =>
      change(device, (r) => {
        r.pump.clear(fault);
        log.info({ device, fault }, 'fault cleared');
      }),
  };

  if (opts.bus) {
    try {
      bus = await SimBus.connect({ site: site.site.id, bus: opts.bus, log: log.child({ component: 'sim-bus' }), control });
    } catch (err) {
      await close();
      throw err;
    }
  }

  return {
    get endpoints() {
      return control.catalog();
    },
    inject: control.inject,
    clear: control.clear,
    counters: () => ({
      modbus: Object.fromEntries([...running].map(([id, r]) => [id, { ...r.server.counters }])),
      bus: bus ? { ...bus.counters } : null,
    }),
    close,
  };
}
