/**
 * The outbox on disk: one global, append-only log of segment files (format in outbox-segment.ts),
 * an index of unacknowledged batches in memory, payloads read back from disk when the memory cache
 * is full. Survives restart and `kill -9`: on open every segment is replayed, unacknowledged batches
 * come back in order, and a torn last record is cut off with a warning.
 *
 * Durability: batches are written with one `write` per group and one `fdatasync` per group (group
 * commit, async, so polling never waits for the disk). A batch is handed out for publishing only
 * after its group's fdatasync, so a power loss can cost only batches never published — the samples
 * of the last few milliseconds — and never a seq that ingest has seen. Acks are written without a
 * sync of their own: losing one costs a duplicate re-send, which ingest drops.
 *
 * Bounds: `maxBytes` of segments (drop-oldest by whole segments, the oldest batch of every device
 * first) and `maxAgeMs` per batch (by its oldest sample). Every dropped sample is counted and logged.
 */
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { deviceEventBatch, telemetryBatch } from '@vigil/model';
import { streamOf, type Outbox, type OutboxBacklog, type OutboxBatch, type OutboxDelivery } from './outbox.ts';
import { batchRecord, jsonRecord, RecordKind, scanSegment, segmentHeader, SEGMENT_HEADER_BYTES } from './outbox-segment.ts';

const fdatasyncAsync = promisify(fdatasync);

export interface DiskOutboxOptions {
  /** The outbox's own directory (created). */
  dir: string;
  log: Logger;
  /** Bound on disk; past it whole oldest segments are dropped. Default 512 MiB. */
  maxBytes?: number;
  /** Bound on age (of a batch's oldest sample); older batches are dropped. Default 7 days. */
  maxAgeMs?: number;
  /** A segment is closed and a new one begun past this size. Default 16 MiB, at most maxBytes / 4. */
  segmentBytes?: number;
  /** Payloads kept in memory until their first publish; beyond it they are read back from disk. Default 64 MiB. */
  cacheBytes?: number;
  /** A `seq.json` of an older gateway (device → last seq): read once when the outbox is new, then renamed. */
  legacySeqFile?: string;
  /** Called after a group of batches reached the disk: they may be published now. */
  onDurable?: () => void;
}

export const DISK_OUTBOX_DEFAULTS = {
  maxBytes: 512 * 2 ** 20, // 512 MiB
  maxAgeMs: 7 * 24 * 3600_000, // 7 days
  segmentBytes: 16 * 2 ** 20, // 16 MiB
  cacheBytes: 64 * 2 ** 20, // 64 MiB
};

/** How often the age bound is checked. */
const AGE_SWEEP_EVERY_MS = 1000;

interface Segment {
  id: number;
  path: string;
  fd: number;
  bytes: number;
  /** Batches in it not yet acknowledged or dropped. */
  live: number;
}

interface Held {
  device: string;
  seq: number;
  samples: number;
  oldestTs: number;
  /** Arrival order across devices: the window fills oldest first. */
  order: number;
  /** Null until its group is written. */
  segment: Segment | null;
  payloadAt: number;
  payloadBytes: number;
  /** Kept until the first publish while the cache has room. */
  payload: Buffer | null;
  durable: boolean;
  gone: boolean;
  sentAt: number | null;
  sends: number;
}

/** One device's unacknowledged batches in seq order; the first `sent` of them are in flight. */
class DeviceQueue {
  private items: Array<Held | undefined> = [];
  private head = 0;
  sent = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  at(i: number): Held | undefined {
    return this.items[this.head + i];
  }
  push(held: Held): void {
    this.items.push(held);
  }
  shift(): Held | undefined {
    const held = this.items[this.head];
    if (!held) return undefined;
    this.items[this.head++] = undefined;
    if (this.sent > 0) this.sent--;
    // Compact now and then: a shift must stay O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return held;
  }
}

const segmentName = (id: number) => `${String(id).padStart(12, '0')}.seg`;

export class DiskOutbox implements Outbox {
  private readonly dir: string;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly segmentBytes: number;
  private readonly cacheBytes: number;
  private readonly onDurable: () => void;

  private readonly seqs = new Map<string, number>();
  private readonly acked = new Map<string, number>();
  private readonly queues = new Map<string, DeviceQueue>();
  private segments: Segment[] = [];
  private active!: Segment;
  private order = 0;
  private batches = 0;
  private samples = 0;
  private dropped = 0;
  private inFlight = 0;
  private cached = 0;
  private lastAgeSweep = 0;

  /** Records waiting for the next group write, and the batches among them. */
  private pending: Buffer[] = [];
  private pendingHeld: Array<{ held: Held; recordAt: number; payloadOffset: number }> = [];
  private pendingBytes = 0;
  private pendingNeedsSync = false;
  private commitScheduled = false;
  private committing: Promise<void> | null = null;
  private closed = false;
  private recovering = true;

  private constructor(opts: DiskOutboxOptions) {
    this.dir = opts.dir;
    this.log = opts.log.child({ component: 'outbox' });
    this.maxBytes = opts.maxBytes ?? DISK_OUTBOX_DEFAULTS.maxBytes;
    this.maxAgeMs = opts.maxAgeMs ?? DISK_OUTBOX_DEFAULTS.maxAgeMs;
    this.segmentBytes = Math.max(64 * 1024, Math.min(opts.segmentBytes ?? DISK_OUTBOX_DEFAULTS.segmentBytes, Math.floor(this.maxBytes / 4)));
    this.cacheBytes = opts.cacheBytes ?? DISK_OUTBOX_DEFAULTS.cacheBytes;
    this.onDurable = opts.onDurable ?? (() => undefined);
  }

  /** Opens (or creates) the outbox and recovers every unacknowledged batch, in order. */
  static open(opts: DiskOutboxOptions): DiskOutbox {
    const outbox = new DiskOutbox(opts);
    outbox.recover(opts.legacySeqFile);
    return outbox;
  }

  // ── recovery ───────────────────────────────────────────────────────────────────────────────

  private recover(legacySeqFile: string | undefined): void {
    mkdirSync(this.dir, { recursive: true });
    const ids = readdirSync(this.dir)
      .filter((f) => /^\d{12}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 12)))
      .sort((a, b) => a - b);
    const migrateFrom = ids.length === 0 && legacySeqFile && existsSync(legacySeqFile) ? legacySeqFile : null;
    if (migrateFrom) for (const [device, seq] of Object.entries(readLegacySeqFile(migrateFrom))) this.seqs.set(device, seq);

    let recovered = 0;
    for (const [i, id] of ids.entries()) {
      const path = join(this.dir, segmentName(id));
      const data = readFileSync(path);
      const scan = scanSegment(data);
      if (scan.validBytes === 0 && scan.problem) {
        // Not ours, or from a newer gateway: leave it for a person, never delete data we cannot read.
        this.log.warn({ file: path, problem: scan.problem }, 'outbox segment skipped');
        continue;
      }
      if (scan.problem) {
        const last = i === ids.length - 1;
        this.log.warn(
          { file: path, at: scan.validBytes, bytes: data.length, problem: scan.problem },
          last ? 'outbox: torn last record dropped (the gateway stopped mid-write)' : 'outbox: corrupt record; the rest of this segment is skipped',
        );
        // Cut the tail so the next start does not warn again.
        if (last) {
          const fd = openSync(path, 'r+');
          try {
            ftruncateSync(fd, scan.validBytes);
          } finally {
            closeSync(fd);
          }
        }
      }
      const segment: Segment = { id, path, fd: openSync(path, 'r'), bytes: scan.validBytes, live: 0 };
      this.segments.push(segment);
      for (const { offset, record } of scan.records) {
        if (record.kind === 'snapshot') {
          for (const [device, seq] of Object.entries(record.seqs)) this.raiseSeq(device, seq);
          for (const [device, seq] of Object.entries(record.acked)) this.applyAck(device, seq);
        } else if (record.kind === 'ack') {
          for (const [device, seq] of Object.entries(record.acked)) this.applyAck(device, seq);
        } else {
          const { device, seq, oldestTs, samples } = record.meta;
          this.raiseSeq(device, seq);
          const queue = this.queueOf(device);
          const last = queue.at(queue.length - 1);
          if (seq <= (this.acked.get(device) ?? 0) || (last && seq <= last.seq)) continue;
          this.hold({
            device,
            seq,
            samples,
            oldestTs,
            order: this.order++,
            segment,
            payloadAt: offset + record.payloadOffset,
            payloadBytes: record.payloadBytes,
            payload: null,
            durable: true,
            gone: false,
            sentAt: null,
            sends: 0,
          });
          recovered++;
        }
      }
    }

    // A fresh segment for this run, its snapshot on disk before anything older is deleted.
    this.active = this.createSegment((ids.at(-1) ?? 0) + 1);
    this.recovering = false;
    if (migrateFrom) {
      renameSync(migrateFrom, `${migrateFrom}.migrated`);
      this.log.info({ from: migrateFrom, seqs: Object.fromEntries(this.seqs) }, 'outbox: seqs taken over from seq.json');
    }
    for (const segment of [...this.segments]) this.deleteIfDone(segment);
    this.sweepAge(Date.now());
    const backlog = this.backlog();
    if (recovered > 0 || backlog.bytes > SEGMENT_HEADER_BYTES) this.log.info({ dir: this.dir, ...backlog }, 'outbox recovered');
  }

  private createSegment(id: number): Segment {
    const path = join(this.dir, segmentName(id));
    const fd = openSync(path, 'wx+');
    const snapshot = jsonRecord(RecordKind.snapshot, { seqs: Object.fromEntries(this.seqs), acked: Object.fromEntries(this.acked) });
    writeAll(fd, Buffer.concat([segmentHeader(), snapshot]));
    fsyncSync(fd);
    // The new file's directory entry must survive a power loss too.
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    const segment: Segment = { id, path, fd, bytes: SEGMENT_HEADER_BYTES + snapshot.length, live: 0 };
    this.segments.push(segment);
    return segment;
  }

  // ── adding and committing ─────────────────────────────────────────────────────────────────

  nextSeq(device: string): number {
    return (this.seqs.get(device) ?? 0) + 1;
  }

  add(batch: OutboxBatch): void {
    if (this.closed) throw new Error('outbox closed');
    // Events keep their own seq under `<device>:events`: the stream is the outbox's "device" key.
    const device = streamOf(batch);
    const { seq } = batch;
    if (seq !== this.nextSeq(device)) throw new Error(`outbox: batch ${device}#${seq} out of order; expected seq ${this.nextSeq(device)}`);
    const items: ReadonlyArray<{ ts: number }> = 'events' in batch ? batch.events : batch.samples;
    let oldestTs = Number.POSITIVE_INFINITY;
    for (const s of items) if (s.ts < oldestTs) oldestTs = s.ts;
    const payload = Buffer.from('events' in batch ? deviceEventBatch.encode(batch) : telemetryBatch.encode(batch), 'utf8');
    const record = batchRecord({ device, seq, oldestTs, samples: items.length }, payload);
    this.seqs.set(device, seq);
    const cache = this.cached + payload.length <= this.cacheBytes;
    if (cache) this.cached += payload.length;
    const held: Held = {
      device,
      seq,
      samples: items.length,
      oldestTs,
      order: this.order++,
      segment: null,
      payloadAt: 0,
      payloadBytes: payload.length,
      payload: cache ? payload : null,
      durable: false,
      gone: false,
      sentAt: null,
      sends: 0,
    };
    this.hold(held);
    this.pendingHeld.push({ held, recordAt: this.pendingBytes, payloadOffset: record.payloadOffset });
    this.pending.push(...record.parts);
    this.pendingBytes += record.bytes;
    this.pendingNeedsSync = true;
    this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitScheduled || this.closed) return;
    this.commitScheduled = true;
    // setImmediate: every poll reply already received joins the same group.
    setImmediate(() => {
      this.commitScheduled = false;
      if (!this.committing) this.committing = this.commitLoop().finally(() => (this.committing = null));
    });
  }

  /** Writes and syncs groups until nothing is pending; what arrives during a sync forms the next group. */
  private async commitLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const sync = this.writeGroup();
      if (!sync) continue;
      try {
        await fdatasyncAsync(sync.fd);
      } catch (err) {
        this.log.error({ err: (err as Error).message, file: sync.segment.path }, 'outbox: fdatasync failed; publishing anyway (the batches are written, not yet synced)');
      }
      for (const held of sync.held) held.durable = true;
      this.onDurable();
    }
  }

  /** Writes the pending records in one go; returns what to sync when batches were among them. */
  private writeGroup(): { fd: number; segment: Segment; held: Held[] } | null {
    if (this.active.bytes >= this.segmentBytes) this.roll();
    const segment = this.active;
    const parts = this.pending;
    const group = this.pendingHeld;
    const needsSync = this.pendingNeedsSync;
    this.pending = [];
    this.pendingHeld = [];
    this.pendingBytes = 0;
    this.pendingNeedsSync = false;
    const start = segment.bytes;
    try {
      writeAll(segment.fd, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    } catch (err) {
      // Disk full or failing: the group cannot be kept. Cut any partial record, count the loss.
      try {
        ftruncateSync(segment.fd, start);
      } catch {
        // the next start's scan cuts it instead
      }
      let lost = 0;
      for (const { held } of group) {
        if (held.gone) continue;
        lost += held.samples;
        this.release(held, true);
      }
      this.dropped += lost;
      this.log.error({ err: (err as Error).message, file: segment.path, samples: lost, droppedTotal: this.dropped }, 'outbox: write failed; samples lost');
      return null;
    }
    segment.bytes = start + parts.reduce((n, p) => n + p.length, 0);
    const held: Held[] = [];
    for (const { held: h, recordAt, payloadOffset } of group) {
      h.segment = segment;
      h.payloadAt = start + recordAt + payloadOffset;
      if (!h.gone) {
        segment.live++;
        held.push(h);
      }
    }
    this.enforceSize();
    return needsSync ? { fd: segment.fd, segment, held } : null;
  }

  /** Closes the active segment (its data already written) and starts the next with a snapshot. */
  private roll(): void {
    const old = this.active;
    fsyncSync(old.fd);
    this.active = this.createSegment(old.id + 1);
    this.deleteIfDone(old);
  }

  // ── acknowledging, dropping ───────────────────────────────────────────────────────────────

  acknowledge(device: string, seq: number): { batches: number; samples: number } {
    if (seq <= (this.acked.get(device) ?? 0)) return { batches: 0, samples: 0 };
    // A seq ingest committed is never handed out again, even if our own record of it was lost.
    this.raiseSeq(device, seq);
    const removed = this.applyAck(device, seq);
    if (!this.closed) {
      const record = jsonRecord(RecordKind.ack, { [device]: seq });
      this.pending.push(record);
      this.pendingBytes += record.length;
      this.scheduleCommit();
    }
    return removed;
  }

  private applyAck(device: string, seq: number): { batches: number; samples: number } {
    if (seq > (this.acked.get(device) ?? 0)) this.acked.set(device, seq);
    const queue = this.queues.get(device);
    const removed = { batches: 0, samples: 0 };
    while (queue && queue.length > 0 && queue.at(0)!.seq <= seq) {
      removed.batches++;
      removed.samples += queue.at(0)!.samples;
      this.release(queue.at(0)!, false);
    }
    return removed;
  }

  private raiseSeq(device: string, seq: number): void {
    if (seq > (this.seqs.get(device) ?? 0)) this.seqs.set(device, seq);
  }

  private queueOf(device: string): DeviceQueue {
    let queue = this.queues.get(device);
    if (!queue) {
      queue = new DeviceQueue();
      this.queues.set(device, queue);
    }
    return queue;
  }

  private hold(held: Held): void {
    this.queueOf(held.device).push(held);
    if (held.segment) held.segment.live++;
    this.batches++;
    this.samples += held.samples;
  }

  /** Removes a batch from the head of its device's queue (acknowledged or dropped). */
  private release(held: Held, fromAnywhere: boolean): void {
    const queue = this.queues.get(held.device)!;
    if (queue.at(0) === held) {
      if (queue.sent > 0) this.inFlight--;
      queue.shift();
    } else if (fromAnywhere) {
      // A failed write loses the newest batches, not the head: rebuild the queue without it.
      this.removeFromQueue(queue, held);
    }
    held.gone = true;
    if (held.payload) this.cached -= held.payload.length;
    held.payload = null;
    this.batches--;
    this.samples -= held.samples;
    if (held.segment) {
      held.segment.live--;
      this.deleteIfDone(held.segment);
    }
  }

  private removeFromQueue(queue: DeviceQueue, held: Held): void {
    // Never durable, so never sent: the in-flight prefix is unchanged.
    const sent = queue.sent;
    const rebuilt = new DeviceQueue();
    while (queue.length > 0) {
      const h = queue.shift()!;
      if (h !== held) rebuilt.push(h);
    }
    rebuilt.sent = sent;
    this.queues.set(held.device, rebuilt);
  }

  private deleteIfDone(segment: Segment): void {
    // While recovering, a segment's later records may still add live batches to it.
    if (this.recovering || segment.live > 0 || segment === this.active || !this.segments.includes(segment)) return;
    this.segments = this.segments.filter((s) => s !== segment);
    closeSync(segment.fd);
    try {
      unlinkSync(segment.path);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: segment.path }, 'outbox: could not delete a finished segment');
    }
  }

  private bytesOnDisk(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Past `maxBytes`: drop the oldest segment with every batch still in it. */
  private enforceSize(): void {
    while (this.bytesOnDisk() > this.maxBytes && this.segments.length > 1) {
      const oldest = this.segments[0]!;
      if (oldest === this.active) break;
      let batches = 0;
      let samples = 0;
      // The log is in arrival order: the oldest segment's batches are at the heads of the queues.
      for (const queue of this.queues.values()) {
        while (queue.length > 0 && queue.at(0)!.segment === oldest) {
          const held = queue.at(0)!;
          batches++;
          samples += held.samples;
          this.release(held, false);
        }
      }
      this.dropped += samples;
      this.log.warn({ segment: oldest.path, batches, samples, droppedTotal: this.dropped, maxBytes: this.maxBytes }, 'outbox full: dropped the oldest unacknowledged batches');
      oldest.live = 0;
      this.deleteIfDone(oldest);
    }
  }

  private sweepAge(now: number): void {
    this.lastAgeSweep = now;
    let batches = 0;
    let samples = 0;
    for (const queue of this.queues.values()) {
      while (queue.length > 0 && queue.at(0)!.durable && now - queue.at(0)!.oldestTs > this.maxAgeMs) {
        const held = queue.at(0)!;
        batches++;
        samples += held.samples;
        this.release(held, false);
      }
    }
    if (samples === 0) return;
    this.dropped += samples;
    this.log.warn({ batches, samples, droppedTotal: this.dropped, maxAgeMs: this.maxAgeMs }, 'outbox: dropped batches older than the age bound');
  }

  // ── publishing ────────────────────────────────────────────────────────────────────────────

  take(now: number, resendAfterMs: number, window: number, perDevice = Number.POSITIVE_INFINITY): OutboxDelivery[] {
    if (now - this.lastAgeSweep >= AGE_SWEEP_EVERY_MS) this.sweepAge(now);
    // A device whose oldest in-flight batch waited too long for its ack: re-send from it.
    for (const queue of this.queues.values()) {
      const head = queue.at(0);
      if (queue.sent > 0 && head?.sentAt != null && now - head.sentAt >= resendAfterMs) {
        this.inFlight -= queue.sent;
        queue.sent = 0;
      }
    }
    const out: OutboxDelivery[] = [];
    while (this.inFlight < window) {
      // The oldest deliverable batch of any device next: the backlog drains in arrival order.
      let best: DeviceQueue | null = null;
      let bestHeld: Held | null = null;
      for (const queue of this.queues.values()) {
        const next = queue.sent < perDevice ? queue.at(queue.sent) : undefined;
        if (next && next.durable && (!bestHeld || next.order < bestHeld.order)) {
          best = queue;
          bestHeld = next;
        }
      }
      if (!best || !bestHeld) break;
      const payload = this.payloadOf(bestHeld);
      if (bestHeld.payload) {
        this.cached -= bestHeld.payload.length;
        bestHeld.payload = null;
      }
      out.push({ device: bestHeld.device, seq: bestHeld.seq, payload, resend: bestHeld.sends > 0 });
      bestHeld.sends++;
      bestHeld.sentAt = now;
      best.sent++;
      this.inFlight++;
    }
    return out;
  }

  private payloadOf(held: Held): Buffer {
    if (held.payload) return held.payload;
    const buf = Buffer.allocUnsafe(held.payloadBytes);
    const n = readSync(held.segment!.fd, buf, 0, buf.length, held.payloadAt);
    if (n !== buf.length) throw new Error(`outbox: short read of ${held.device}#${held.seq} from ${held.segment!.path}`);
    return buf;
  }

  markAllUnsent(): void {
    for (const queue of this.queues.values()) queue.sent = 0;
    this.inFlight = 0;
  }

  backlog(): OutboxBacklog {
    let oldestTs: number | null = null;
    // A device's batches arrive in time order: its head holds its oldest sample.
    for (const queue of this.queues.values()) {
      const head = queue.at(0);
      if (head && (oldestTs === null || head.oldestTs < oldestTs)) oldestTs = head.oldestTs;
    }
    return { batches: this.batches, samples: this.samples, oldestTs, dropped: this.dropped, bytes: this.bytesOnDisk() + this.pendingBytes, inFlight: this.inFlight };
  }

  /** Resolves once everything added so far is on disk (and deliverable). */
  async sync(): Promise<void> {
    for (;;) {
      if (this.committing) await this.committing;
      else if (this.commitScheduled || this.pending.length > 0) await new Promise((resolve) => setImmediate(resolve));
      else return;
    }
  }

  /** Writes and syncs whatever is pending, then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.committing) await this.committing;
    this.closed = true;
    if (this.pending.length > 0) {
      const sync = this.writeGroup();
      if (sync) fsyncSync(sync.fd);
    }
    for (const segment of this.segments) closeSync(segment.fd);
    this.segments = [];
  }
}

function writeAll(fd: number, data: Buffer): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

/** An older gateway's `seq.json`: an object of device → last seq. A corrupt one is refused, not reset. */
function readLegacySeqFile(file: string): Record<string, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // refused below
  }
  const valid = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.values(parsed).every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
  if (!valid) throw new Error(`${file} is not a JSON object of device → last seq; fix or remove it (removing it restarts every seq at 1, which ingest would drop as duplicates until the gateway sees its acks)`);
  return parsed as Record<string, number>;
}
