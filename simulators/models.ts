/** Every simulator model, by the name a site file gives in `simulator.model`. */
import type { Device } from '@vigil/model';
import type { SimulatorModel } from './device.ts';
import { MODBUS_MODELS } from './modbus/index.ts';
import { BACNET_MODELS } from './bacnet/index.ts';
import { MQTT_MODELS } from './mqtt/index.ts';

export const SIMULATOR_MODELS: ReadonlyMap<string, SimulatorModel> = new Map(
  ([...MODBUS_MODELS, ...BACNET_MODELS, ...MQTT_MODELS] as SimulatorModel<Device>[]).map((m) => [m.name, m]),
);
