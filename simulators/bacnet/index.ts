/** The BACnet/IP device models. */
import type { BacnetDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';

export const BACNET_MODELS: SimulatorModel<BacnetDevice>[] = [];
