/**
 * Batches wait here until ingest acknowledges them (DESIGN.md, "Delivery"). In memory for now; a
 * disk outbox implements the same interface later.
 */
import type { Logger } from 'pino';
import type { TelemetryBatch } from '@vigil/model';

export interface OutboxBacklog {
  batches: number;
  samples: number;
  /** Timestamp of the oldest sample waiting; null when empty. */
  oldestTs: number | null;
  /** Samples dropped past the bound since start. */
  dropped: number;
}

export interface OutboxEntry {
  readonly batch: TelemetryBatch;
  /** Wall time of the last publish; null: not yet sent on this connection. */
  sentAt: number | null;
}

export interface Outbox {
  /** Keeps a batch; past the bound drops the oldest batches (counted and logged). */
  add(batch: TelemetryBatch): void;
  /** Ingest committed every batch of `device` up to `seq`: forget them. Returns how many were removed. */
  acknowledge(device: string, seq: number): number;
  /**
   * What to publish now, per device in seq order: from the first batch never sent or not acknowledged
   * within `resendAfterMs`, every batch after it too, so ingest always sees a device's seqs in order.
   */
  due(now: number, resendAfterMs: number): OutboxEntry[];
  /** A new connection: nothing sent before it counts as sent. */
  markAllUnsent(): void;
  backlog(): OutboxBacklog;
}

interface Held extends OutboxEntry {
  /** Arrival order across devices, to find the oldest batch to drop. */
  order: number;
  oldestTs: number;
}

export class MemoryOutbox implements Outbox {
  private readonly queues = new Map<string, Held[]>();
  private order = 0;
  private batches = 0;
  private samples = 0;
  private dropped = 0;

  constructor(
    private readonly maxSamples: number,
    private readonly log: Logger,
  ) {}

  add(batch: TelemetryBatch): void {
    const queue = this.queues.get(batch.device) ?? [];
    this.queues.set(batch.device, queue);
    const oldestTs = batch.samples.reduce((min, s) => Math.min(min, s.ts), Number.POSITIVE_INFINITY);
    queue.push({ batch, sentAt: null, order: this.order++, oldestTs });
    this.batches++;
    this.samples += batch.samples.length;
    while (this.samples > this.maxSamples && this.batches > 0) this.dropOldest();
  }

  private dropOldest(): void {
    let oldest: Held[] | null = null;
    for (const queue of this.queues.values()) {
      if (queue[0] && (!oldest || queue[0].order < oldest[0]!.order)) oldest = queue;
    }
    const held = oldest?.shift();
    if (!held) return;
    const n = held.batch.samples.length;
    this.batches--;
    this.samples -= n;
    this.dropped += n;
    this.log.warn(
      { device: held.batch.device, seq: held.batch.seq, samples: n, droppedTotal: this.dropped, maxSamples: this.maxSamples },
      'outbox full: dropped the oldest batch unacknowledged',
    );
  }

  acknowledge(device: string, seq: number): number {
    const queue = this.queues.get(device);
    if (!queue) return 0;
    let removed = 0;
    while (queue[0] && queue[0].batch.seq <= seq) {
      const held = queue.shift()!;
      this.batches--;
      this.samples -= held.batch.samples.length;
      removed++;
    }
    return removed;
  }

  due(now: number, resendAfterMs: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const queue of this.queues.values()) {
      const from = queue.findIndex((h) => h.sentAt === null || now - h.sentAt >= resendAfterMs);
      if (from >= 0) out.push(...queue.slice(from));
    }
    return out;
  }

  markAllUnsent(): void {
    for (const queue of this.queues.values()) for (const held of queue) held.sentAt = null;
  }

  backlog(): OutboxBacklog {
    let oldestTs: number | null = null;
    // A device's batches arrive in time order: its head holds its oldest sample.
    for (const queue of this.queues.values()) {
      const head = queue[0];
      if (head && (oldestTs === null || head.oldestTs < oldestTs)) oldestTs = head.oldestTs;
    }
    return { batches: this.batches, samples: this.samples, oldestTs, dropped: this.dropped };
  }
}
