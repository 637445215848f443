/** The MQTT vendor-bridge models (access control, CCTV). */
import type { MqttDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';

export const MQTT_MODELS: SimulatorModel<MqttDevice>[] = [];
