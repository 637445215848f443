/** The MQTT vendor-bridge models (access control, CCTV). */
import type { MqttDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { accessControlModel } from './access-control.ts';
import { cctvModel } from './cctv.ts';

export const MQTT_MODELS: SimulatorModel<MqttDevice>[] = [accessControlModel, cctvModel];

export { ACCESS_CONTROL_MODEL, ACCESS_EVENTS, DOOR_ALARM_STATES, ACCESS_CONTROL_FAULTS, accessControlReference } from './access-control.ts';
export { CCTV_MODEL, CCTV_EVENT_TYPES, CCTV_FAULTS, cctvReference } from './cctv.ts';
