/** The booster pump as a simulated device: the pump model behind a spec-exact Modbus TCP server. */
import type { ModbusDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { BoosterPump, BOOSTER_PUMP_MODEL } from '../booster-pump.ts';
import { ModbusTcpServer } from '../modbus-server.ts';

export const boosterPumpModel: SimulatorModel<ModbusDevice> = {
  name: BOOSTER_PUMP_MODEL,
  protocol: 'modbus-tcp',
  description: 'One variable-speed pump of a domestic-water booster set (Grundfos-like register map)',
  // Helper A renders this from BOOSTER_PUMP_MAP (issue "Device simulators").
  reference: () => '',
  async start({ device, seed, log }) {
    const pump = new BoosterPump({ seed });
    const server = new ModbusTcpServer({ host: device.host, port: device.port, unit: device.unit, bank: pump.bank, log });
    await server.listen();
    const sync = () => {
      server.silent = pump.unresponsive;
    };
    return {
      endpoint: { device: device.id, protocol: 'modbus-tcp', host: device.host, port: device.port, unit: device.unit, model: BOOSTER_PUMP_MODEL },
      faults: () => pump.faults(),
      inject(fault, params) {
        pump.inject(fault, params);
        sync();
      },
      clear(fault) {
        pump.clear(fault);
        sync();
      },
      step: () => pump.step(),
      counters: () => ({ ...server.counters }),
      close: () => server.close(),
    };
  },
};
