/** Puts a device model behind a spec-exact Modbus TCP server: the part every Modbus model shares. */
import type { ModbusDevice } from '@vigil/model';
import type { FaultParams, SimulatedDevice, SimulatorContext } from '../device.ts';
import { ModbusTcpServer } from '../modbus-server.ts';
import type { RegisterBank } from '../register-bank.ts';

/** What a Modbus device model offers the server and the runner. */
export interface ModbusPlant {
  readonly bank: RegisterBank;
  /** Whether requests go unanswered (the `no-response` fault). */
  readonly unresponsive: boolean;
  faults(): Array<{ name: string; description: string; active: boolean }>;
  inject(fault: string, params: FaultParams | undefined, now: number): void;
  clear(fault: string, now: number): void;
  step(now: number): void;
  /** Leaves shared state (a booster set) when the device closes. */
  close?(): void;
}

export async function serveModbus(model: string, ctx: SimulatorContext<ModbusDevice>, plant: ModbusPlant): Promise<SimulatedDevice> {
  const { device, log, clock } = ctx;
  const server = new ModbusTcpServer({ host: device.host, port: device.port, unit: device.unit, bank: plant.bank, log });
  try {
    await server.listen();
  } catch (err) {
    plant.close?.();
    throw err;
  }
  const sync = () => {
    server.silent = plant.unresponsive;
  };
  return {
    endpoint: { device: device.id, protocol: 'modbus-tcp', host: device.host, port: device.port, unit: device.unit, model },
    faults: () => plant.faults(),
    inject(fault, params) {
      plant.inject(fault, params, clock.now());
      sync();
    },
    clear(fault) {
      plant.clear(fault, clock.now());
      sync();
    },
    step: (now) => plant.step(now),
    counters: () => ({ ...server.counters }),
    async close() {
      plant.close?.();
      await server.close();
    },
  };
}
