/**
 * Batches wait in the outbox until ingest acknowledges them (DESIGN.md, "Delivery"). The outbox
 * also numbers them: a device's `seq` lives with its batches, so it rises across restarts.
 */
import type { DeviceEventBatch, TelemetryBatch } from '@vigil/model';

export interface OutboxBacklog {
  /** Batches not yet acknowledged by ingest. */
  batches: number;
  samples: number;
  /** Timestamp of the oldest sample waiting; null when empty. */
  oldestTs: number | null;
  /** Samples dropped past the bounds (size, age) or lost to a failed disk write, since start. */
  dropped: number;
  /** Bytes the outbox holds on disk (acknowledged batches included until their segment goes). */
  bytes: number;
  /** Batches published on this connection and not yet acknowledged. */
  inFlight: number;
}

/**
 * What the outbox holds: telemetry, or a device's events. Each has its own stream of seqs: the
 * device id for telemetry, `<device>:events` for events (the key ingest acknowledges them under).
 */
export type OutboxBatch = TelemetryBatch | DeviceEventBatch;

/** The stream a batch belongs to (and numbers its seq in). */
export function streamOf(batch: OutboxBatch): string {
  return 'events' in batch ? `${batch.device}:events` : batch.device;
}

/** A batch to publish now. */
export interface OutboxDelivery {
  /** The stream: a device id (telemetry) or `<device>:events`. */
  device: string;
  seq: number;
  /** The MQTT payload, exactly as stored. */
  payload: Buffer;
  /** Published before (on this or an earlier connection). */
  resend: boolean;
}

export interface Outbox {
  /** The seq the next batch of a stream (a device id, or `<device>:events`) must carry. */
  nextSeq(device: string): number;
  /**
   * Keeps a batch numbered with `nextSeq`. It becomes deliverable once it is on disk (the outbox
   * calls its `onDurable` listener then); past the bounds the oldest batches are dropped and counted.
   */
  add(batch: OutboxBatch): void;
  /** Ingest committed every batch of `device` up to `seq`: forget them. Returns what was removed. */
  acknowledge(device: string, seq: number): { batches: number; samples: number };
  /**
   * What to publish now, at most `window` batches in flight in all: per device in seq order, from
   * the first batch never sent on this connection; a device whose oldest batch waited `resendAfterMs`
   * for its ack is re-sent from that batch on, so ingest always sees a device's seqs in order.
   * `perDevice` caps one device's batches in flight.
   */
  take(now: number, resendAfterMs: number, window: number, perDevice?: number): OutboxDelivery[];
  /** A new connection: nothing sent before it counts as sent. */
  markAllUnsent(): void;
  backlog(): OutboxBacklog;
  close(): Promise<void>;
}
