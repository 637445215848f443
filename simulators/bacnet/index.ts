/** The BACnet/IP device models. */
import type { BacnetDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { ahuModel, firePanelModel } from './devices.ts';

export const BACNET_MODELS: SimulatorModel<BacnetDevice>[] = [firePanelModel, ahuModel];
