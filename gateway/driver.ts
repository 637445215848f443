/**
 * What the gateway needs from a protocol driver: Modbus TCP (modbus-driver.ts), BACnet/IP
 * (bacnet-driver.ts) and MQTT vendor sources (mqtt-source-driver.ts) implement it.
 */
import type { DeviceCommState, DeviceEvent, Sample } from '@vigil/model';

/** The communication state of one device, as the status topic reports it. */
export interface DeviceState {
  state: DeviceCommState;
  /** Why the device is not online: `timeout`, `exception`, `comm-lost` … */
  reason?: string;
  /** Wall time (ms) of the transition. */
  since: number;
}

export type DriverErrorKind = 'timeout' | 'exception' | 'comm-lost';

/** The samples of one poll cycle (or of one communication loss), all stamped with its wall time. */
export interface PollCycle {
  device: string;
  ts: number;
  samples: Sample[];
  /** `poll`: a cycle that talked to the device; `comm-lost`: the samples of a lost connection. */
  kind: 'poll' | 'comm-lost';
  /** How long the cycle's requests took, for a cycle the gateway asked for (not a pushed COV or vendor message). */
  durationMs?: number;
}

/** Where a driver reports. Called synchronously; a sink must not throw. */
export interface DriverSink {
  cycle(cycle: PollCycle): void;
  /** Discrete device events (door forced, video loss …): one events batch, numbered apart from telemetry. */
  events(device: string, events: DeviceEvent[]): void;
  state(device: string, state: DeviceState): void;
  error(device: string, kind: DriverErrorKind): void;
}

export interface Driver {
  readonly device: string;
  /** Starts polling; never throws for anything the device does. */
  start(sink: DriverSink): void;
  /** Stops polling and closes the connection. */
  stop(): Promise<void>;
}
