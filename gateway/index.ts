/** @vigil/gateway: polls devices, publishes telemetry and keeps every batch until ingest acknowledges it. */
export { startGateway, type GatewayOptions, type GatewayStats, type RunningGateway } from './gateway.ts';
export type { OutboxBacklog } from './outbox.ts';
export type { DeviceState, DriverErrorKind } from './driver.ts';
