/** How a component reaches the MQTT bus: the embedded broker or an external one (`VIGIL_MQTT_URL`). */
export interface BusOptions {
  /** e.g. `mqtt://127.0.0.1:1883` */
  url: string;
  username?: string;
  password?: string;
}
