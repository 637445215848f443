/** The Modbus TCP device models. */
import type { ModbusDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { boosterPumpModel } from './booster-pump-device.ts';
import { sumpPumpModel } from './sump-pump.ts';
import { firePumpModel } from './fire-pump.ts';
import { liftControllerModel } from './lift-controller.ts';

export const MODBUS_MODELS: SimulatorModel<ModbusDevice>[] = [boosterPumpModel, sumpPumpModel, firePumpModel, liftControllerModel];
