/** @vigil/simulators: simulated devices on loopback, with fault injection over the bus. */
import type { Logger } from 'pino';
import type { BusOptions, Device, Site, SimDevice } from '@vigil/model';
import { SimBus, type SimBusCounters } from './bus.ts';
import { createSimClock, type SimClock } from './clock.ts';
import { TICK_MS, type FaultParams, type SimulatedDevice } from './device.ts';
import { SimError } from './errors.ts';
import { SIMULATOR_MODELS } from './models.ts';
import { hashString } from './prng.ts';

export { ModbusTcpServer, type ModbusTcpServerOptions, type ModbusServerCounters } from './modbus-server.ts';
export { MemoryRegisterBank, ModbusException, ModbusExceptionCode, type RegisterBank, type Table, type BitTable, type RegisterTable } from './register-bank.ts';
export { BoosterPump, BoosterSet, BOOSTER_PUMP_MAP, BOOSTER_PUMP_MODEL, BOOSTER_PUMP_FAULTS, FAULT_CODES, SET_ROLES } from './booster-pump.ts';
export { SumpPump, SUMP_PUMP_MAP, SUMP_PUMP_MODEL, SUMP_FAULT_CODES } from './modbus/sump-pump.ts';
export { FireMain, FirePump, FIRE_PUMP_MAP, FIRE_PUMP_MODEL, FIRE_PUMP_MODES, FIRE_PUMP_FAULT_CODES } from './modbus/fire-pump.ts';
export { LiftController, LIFT_CONTROLLER_MAP, LIFT_CONTROLLER_MODEL, LIFT_FLOORS, DIRECTION, DOOR, CAR_MODE, LIFT_FAULT } from './modbus/lift-controller.ts';
export { RegisterMap, RegisterImage, decode, type RegisterEntry, type RegisterType } from './modbus/register-map.ts';
export { startBenchSimulators, BENCH_MODEL, type BenchSimulatorOptions, type RunningBenchSimulators } from './bench.ts';
export { scaleSite } from './scale.ts';
export { renderModelReference } from './readme.ts';
export { SimError, type SimErrorCode } from './errors.ts';
export { createSimClock, type SimClock } from './clock.ts';
export { SIMULATOR_MODELS } from './models.ts';
export { TICK_MS, type SimulatorModel, type SimulatedDevice, type FaultSpec } from './device.ts';
export type { SimBusCounters } from './bus.ts';
export {
  parseScenario,
  loadScenarioFile,
  checkScenario,
  scenarioClock,
  shippedScenarioFiles,
  SCENARIOS_DIR,
  ScenarioError,
  runScenario,
  sendSimCommand,
  remoteSimulators,
  SimCommandTimeout,
  type Scenario,
  type ScenarioStep,
  type ScenarioTarget,
  type ScenarioRun,
  type ScenarioResult,
  type SimCommand,
} from './scenarios/index.ts';
export { ACCESS_CONTROL_MODEL, CCTV_MODEL, ACCESS_EVENTS, DOOR_ALARM_STATES, CCTV_EVENT_TYPES } from './mqtt/index.ts';

export interface SimulatorOptions {
  site: Site;
  /** The Vigil bus: fault control, the catalog, and the broker of MQTT vendor bridges. */
  bus?: BusOptions;
  log: Logger;
  /** Seeds every device's noise (with its id): the same seed gives the same values. Default 1. */
  seed?: number;
  /** Only these device ids. */
  devices?: string[];
  /** Simulated time; default real time. */
  clock?: SimClock;
}

export interface SimulatorCounters {
  devices: Record<string, Record<string, number>>;
  bus: SimBusCounters | null;
}

export interface RunningSimulators {
  /** The served devices and their faults, as now. */
  readonly endpoints: SimDevice[];
  readonly clock: SimClock;
  /** Throws an Error with `code` 'not-found' (device or fault) or 'invalid' (params). */
  inject(device: string, fault: string, params?: FaultParams): SimDevice;
  clear(device: string, fault: string): SimDevice;
  counters(): SimulatorCounters;
  close(): Promise<void>;
}

/** Starts every simulated device of the site (and the bus side when `bus` is given). */
export async function startSimulators(opts: SimulatorOptions): Promise<RunningSimulators> {
  const { site, log } = opts;
  const seed = opts.seed ?? 1;
  const clock = opts.clock ?? createSimClock();
  const siteIds = new Set(site.devices.map((d) => d.id));
  for (const id of opts.devices ?? []) {
    if (!siteIds.has(id)) throw new SimError('not-found', `device '${id}' is not in site '${site.site.id}'`);
  }
  const wanted = (d: Device) => d.simulator && (!opts.devices || opts.devices.includes(d.id));

  const running = new Map<string, SimulatedDevice>();
  let bus: SimBus | null = null;
  let timer: NodeJS.Timeout | null = null;
  const close = async () => {
    if (timer) clearInterval(timer);
    // Devices first: the vendor bridges publish their last retained status through the bus.
    await Promise.all([...running.values()].map((d) => d.close()));
    await bus?.close();
  };

  const describe = (d: SimulatedDevice): SimDevice => ({ ...d.endpoint, faults: d.faults() });
  const find = (device: string): SimulatedDevice => {
    const d = running.get(device);
    if (!d) throw new SimError('not-found', `no simulated device '${device}'`);
    return d;
  };
  const change = (device: string, apply: (d: SimulatedDevice) => void): SimDevice => {
    const d = find(device);
    apply(d);
    bus?.publishCatalog();
    return describe(d);
  };
  const control = {
    catalog: () => [...running.values()].map(describe),
    inSite: (device: string) => siteIds.has(device),
    serves: (device: string) => running.has(device),
    inject: (device: string, fault: string, params?: FaultParams) =>
      change(device, (d) => {
        d.inject(fault, params);
        log.info({ device, fault, params }, 'fault injected');
      }),
    clear: (device: string, fault: string) =>
      change(device, (d) => {
        d.clear(fault);
        log.info({ device, fault }, 'fault cleared');
      }),
  };

  try {
    // The bus first: MQTT vendor bridges publish through it from their first step.
    if (opts.bus) bus = await SimBus.connect({ site: site.site.id, bus: opts.bus, log: log.child({ component: 'sim-bus' }), control });
    for (const device of site.devices.filter(wanted)) {
      const model = SIMULATOR_MODELS.get(device.simulator!.model);
      if (!model || model.protocol !== device.protocol) {
        log.warn({ device: device.id, model: device.simulator!.model, protocol: device.protocol }, 'no simulator for this model and protocol: device not served');
        continue;
      }
      const simulated = await model.start({
        site,
        device,
        seed: (seed + hashString(device.id)) >>> 0,
        clock,
        log: log.child({ device: device.id }),
        vendor: bus,
      });
      running.set(device.id, simulated);
      log.info({ device: device.id, model: model.name, endpoint: simulated.endpoint }, 'simulator serving');
    }
  } catch (err) {
    await close();
    throw err;
  }
  bus?.publishCatalog();

  timer = setInterval(() => {
    const now = clock.now();
    for (const [device, d] of running) {
      try {
        d.step(now);
      } catch (err) {
        // A model bug must not stop the other devices (or the process hosting them).
        log.error({ err, device }, 'simulator step failed');
      }
    }
  }, TICK_MS);
  // The simulators never keep the process alive on their own.
  timer.unref();

  return {
    get endpoints() {
      return control.catalog();
    },
    clock,
    inject: control.inject,
    clear: control.clear,
    counters: () => ({
      devices: Object.fromEntries([...running].map(([id, d]) => [id, d.counters()])),
      bus: bus ? { ...bus.counters } : null,
    }),
    close,
  };
}
