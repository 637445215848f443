/** @vigil/gateway: polls devices, publishes telemetry and events, and keeps every batch until ingest acknowledges it. */
export { startGateway, type GatewayOptions, type GatewayStats, type RunningGateway } from './gateway.ts';
export type { OutboxBacklog } from './outbox.ts';
export type { DeviceState, DriverErrorKind } from './driver.ts';
export type { BacnetBinding } from './bacnet-link.ts';
export type { MqttSourceStats } from './mqtt-source-driver.ts';
export { discoverBacnet, type DiscoverBacnetOptions, type BacnetDiscovery, type BacnetPortRange, type DiscoveredDevice, type DiscoveredObject } from './bacnet-discover.ts';
