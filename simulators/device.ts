/**
 * What every simulated device is, whatever its protocol: a model registered by name (the site file's
 * `simulator.model`), started for one site device, stepped by the runner, driven by faults.
 */
import type { Logger } from 'pino';
import type { Device, Site, SimDevice } from '@vigil/model';
import type { SimClock } from './clock.ts';

export type FaultParams = Record<string, number | string | boolean>;

export interface FaultSpec {
  name: string;
  description: string;
}

/** Publishes on the broker a vendor bridge would use (MQTT devices only). */
export interface VendorPublisher {
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean; qos?: 0 | 1 }): void;
  readonly connected: boolean;
  /** The broker's URL: a bridge's endpoint is the broker's host and port. */
  readonly url?: string;
}

export interface SimulatorContext<D extends Device = Device> {
  site: Site;
  device: D;
  /** Per-device seed (the run's seed mixed with the device id): the same seed gives the same plant. */
  seed: number;
  clock: SimClock;
  log: Logger;
  /** The broker for MQTT vendor bridges; null when the simulators run without a bus. */
  vendor: VendorPublisher | null;
}

export interface SimulatedDevice {
  /** Where and how it is reached; `faults` is filled in by the runner from `faults()`. */
  readonly endpoint: Omit<SimDevice, 'faults'>;
  faults(): Array<FaultSpec & { active: boolean }>;
  /** Throws SimError 'not-found' for an unknown fault, 'invalid' for bad params. Idempotent. */
  inject(fault: string, params?: FaultParams): void;
  clear(fault: string): void;
  /** Advances the model to simulated time `now` (called every TICK_MS of real time). */
  step(now: number): void;
  /** Protocol counters (bad frames, malformed packets …), for health and tests. */
  counters(): Record<string, number>;
  close(): Promise<void>;
}

export interface SimulatorModel<D extends Device = Device> {
  /** The name a site file uses in `simulator.model`. */
  name: string;
  protocol: D['protocol'];
  description: string;
  /**
   * The model's reference for simulators/README.md, in Markdown (register map, BACnet object list
   * or topics and payloads, faults), rendered from the same tables the model serves from.
   */
  reference(): string;
  start(ctx: SimulatorContext<D>): Promise<SimulatedDevice>;
}

/** Real-time interval of the runner's step. */
export const TICK_MS = 250;
