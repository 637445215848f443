/** The Modbus TCP device models. */
import type { ModbusDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { boosterPumpModel } from './booster-pump-device.ts';

export const MODBUS_MODELS: SimulatorModel<ModbusDevice>[] = [boosterPumpModel];
