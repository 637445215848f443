import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { TelemetryBatch } from '@vigil/model';
import { tempDir } from '../testing/index.ts';
import { DiskOutbox, type DiskOutboxOptions } from './disk-outbox.ts';
import type { OutboxDelivery } from './outbox.ts';

/** A logger whose warnings the test can read. */
function recordingLog() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines, warnings: () => lines.filter((l) => l.level >= 40).map((l) => l.msg) };
}

const batch = (device: string, seq: number, n = 1, ts = Date.now()): TelemetryBatch => ({
  gateway: 'g',
  device,
  seq,
  samples: Array.from({ length: n }, (_, i) => ({ point: `a.p${i}`, ts, value: seq * 1000 + i, quality: 'good' as const })),
});
const ids = (deliveries: OutboxDelivery[]) => deliveries.map((d) => `${d.device}#${d.seq}`);
/** The age bound is checked once a second. */
const AGE_SWEEP = 1000;
const decoded = (d: OutboxDelivery) => JSON.parse(d.payload.toString('utf8')) as TelemetryBatch;

describe('DiskOutbox', () => {
  let dir: ReturnType<typeof tempDir>;
  let rec: ReturnType<typeof recordingLog>;
  const open: DiskOutbox[] = [];
  const outbox = (extra: Partial<DiskOutboxOptions> = {}) => {
    const box = DiskOutbox.open({ dir: join(dir.path, 'outbox'), log: rec.log, ...extra });
    open.push(box);
    return box;
  };
  /** Adds a batch with the device's next seq. */
  const add = (box: DiskOutbox, device: string, n = 1, ts?: number) => {
    const b = batch(device, box.nextSeq(device), n, ts);
    box.add(b);
    return b;
  };

  beforeEach(() => {
    dir = tempDir('vigil-outbox-');
    rec = recordingLog();
  });
  afterEach(async () => {
    for (const box of open.splice(0)) await box.close();
    dir.remove();
  });

  it('hands a batch out only once it is on disk, and forgets it once acknowledged', async () => {
    const box = outbox();
    add(box, 'a', 2);
    add(box, 'a', 2);
    add(box, 'b', 3);
    expect(box.take(Date.now(), 10_000, 10)).toEqual([]); // not yet synced
    await box.sync();
    const out = box.take(Date.now(), 10_000, 10);
    expect(ids(out)).toEqual(['a#1', 'a#2', 'b#1']);
    expect(decoded(out[2]!)).toEqual(expect.objectContaining({ device: 'b', seq: 1 }));
    expect(box.backlog()).toMatchObject({ batches: 3, samples: 7, dropped: 0, inFlight: 3 });
    expect(box.acknowledge('a', 1)).toEqual({ batches: 1, samples: 2 });
    expect(box.acknowledge('a', 1)).toEqual({ batches: 0, samples: 0 });
    expect(box.acknowledge('b', 5)).toEqual({ batches: 1, samples: 3 });
    expect(box.backlog()).toMatchObject({ batches: 1, samples: 2, inFlight: 1 });
    expect(box.nextSeq('b')).toBe(6); // ingest committed up to 5: never reuse those seqs
  });

  it('keeps at most `window` batches in flight, oldest first, and re-sends a device from its oldest unacknowledged batch', async () => {
    const box = outbox();
    for (let i = 0; i < 3; i++) {
      add(box, 'a');
      add(box, 'b');
    }
    await box.sync();
    expect(ids(box.take(0, 100, 4))).toEqual(['a#1', 'b#1', 'a#2', 'b#2']);
    expect(box.take(50, 100, 4)).toEqual([]);
    box.acknowledge('b', 2);
    expect(ids(box.take(60, 100, 4))).toEqual(['a#3', 'b#3']);
    // a#1 waited 100 ms: a is re-sent from a#1, in order, within the window.
    const again = box.take(100, 100, 4);
    expect(ids(again)).toEqual(['a#1', 'a#2', 'a#3']);
    expect(again.every((d) => d.resend)).toBe(true);
    box.markAllUnsent();
    expect(ids(box.take(101, 100, 10))).toEqual(['a#1', 'a#2', 'a#3', 'b#3']);
  });

  it('recovers every unacknowledged batch in order after a restart, and keeps counting seqs', async () => {
    const first = outbox();
    for (let i = 0; i < 5; i++) add(first, 'a', 3);
    add(first, 'b', 1);
    await first.sync();
    first.acknowledge('a', 2);
    await first.close();

    const second = outbox();
    await second.sync();
    expect(second.backlog()).toMatchObject({ batches: 4, samples: 10 });
    const out = second.take(Date.now(), 10_000, 100);
    expect(ids(out)).toEqual(['a#3', 'a#4', 'a#5', 'b#1']);
    expect(out[0]!.resend).toBe(false);
    expect(decoded(out[0]!).samples.map((s) => s.value)).toEqual([3000, 3001, 3002]);
    expect([second.nextSeq('a'), second.nextSeq('b'), second.nextSeq('c')]).toEqual([6, 2, 1]);
  });

  it('recovers without a close (as after kill -9): what was written is there', async () => {
    const first = outbox();
    for (let i = 0; i < 3; i++) add(first, 'a');
    await first.sync();
    first.acknowledge('a', 1);
    await first.sync();
    // No close: the files stay as a killed process leaves them (written, maybe not synced).
    const second = DiskOutbox.open({ dir: join(dir.path, 'outbox'), log: rec.log });
    open.push(second);
    expect(ids(second.take(Date.now(), 1000, 10))).toEqual(['a#2', 'a#3']);
    expect(second.nextSeq('a')).toBe(4);
  });

  it('keeps a segment whose early batches were acknowledged and later ones were not, restart after restart', async () => {
    const first = outbox();
    add(first, 'a');
    await first.sync();
    first.acknowledge('a', 1); // ack record after a#1, in the same segment
    add(first, 'a');
    await first.sync();
    await first.close();
    for (let run = 0; run < 2; run++) {
      const again = outbox();
      expect(ids(again.take(Date.now(), 1000, 10))).toEqual(['a#2']);
      await again.close();
    }
  });

  it('drops a torn last record with a warning and goes on', async () => {
    const first = outbox();
    for (let i = 0; i < 3; i++) add(first, 'a', 4);
    await first.close();
    const segments = readdirSync(join(dir.path, 'outbox')).sort();
    const last = join(dir.path, 'outbox', segments.at(-1)!);
    truncateSync(last, statSync(last).size - 10); // a#3 cut short, as a crash mid-write leaves it

    const second = outbox();
    expect(rec.warnings().some((m) => /torn last record/.test(m))).toBe(true);
    expect(ids(second.take(Date.now(), 1000, 10))).toEqual(['a#1', 'a#2']);
    expect(second.nextSeq('a')).toBe(3); // a#3 never left: its seq is free again
    add(second, 'a');
    await second.close();

    // Garbage after a valid record (a checksum that does not match) is dropped the same way.
    const newest = readdirSync(join(dir.path, 'outbox')).sort().at(-1)!;
    appendFileSync(join(dir.path, 'outbox', newest), Buffer.from([20, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
    const third = outbox();
    expect(ids(third.take(Date.now(), 1000, 10))).toEqual(['a#1', 'a#2', 'a#3']);
    expect(rec.warnings().filter((m) => /torn last record/.test(m))).toHaveLength(2);
  });

  it('deletes a segment once every batch in it is acknowledged', async () => {
    const box = outbox({ segmentBytes: 64 * 1024, maxBytes: 100 * 2 ** 20 });
    for (let i = 0; i < 400; i++) {
      add(box, 'a', 20); // ~1 MiB in all: many segments
      if (i % 10 === 9) await box.sync(); // a group goes into one segment: make groups as polls would
    }
    const before = readdirSync(join(dir.path, 'outbox')).length;
    expect(before).toBeGreaterThan(5);
    box.acknowledge('a', 400);
    await box.sync();
    expect(readdirSync(join(dir.path, 'outbox'))).toHaveLength(1);
    expect(box.backlog()).toMatchObject({ batches: 0, samples: 0 });
    await box.close();
    expect(outbox().nextSeq('a')).toBe(401); // the seq outlives the deleted segments
  });

  it('past its size bound drops the oldest batches, counts every sample and says so', async () => {
    const box = outbox({ maxBytes: 512 * 1024, segmentBytes: 64 * 1024 });
    for (let i = 0; i < 300; i++) {
      add(box, 'a', 20);
      add(box, 'b', 20);
      if (i % 5 === 4) await box.sync();
    }
    const backlog = box.backlog();
    expect(backlog.bytes).toBeLessThanOrEqual(512 * 1024);
    expect(backlog.dropped).toBeGreaterThan(0);
    expect(backlog.dropped + backlog.samples).toBe(600 * 20);
    expect(rec.warnings().some((m) => /outbox full/.test(m))).toBe(true);
    // What is left is the newest, still in order and gap-free per device.
    const out = box.take(Date.now(), 1000, 10_000);
    const seqsOfA = out.filter((d) => d.device === 'a').map((d) => d.seq);
    expect(seqsOfA.at(-1)).toBe(300);
    expect(seqsOfA).toEqual(seqsOfA.map((_, i) => seqsOfA[0]! + i));
  });

  it('drops batches older than the age bound, counted', async () => {
    const now = Date.now();
    const box = outbox({ maxAgeMs: 60_000 });
    add(box, 'a', 5, now - 120_000);
    add(box, 'a', 5, now - 1000);
    await box.sync();
    expect(ids(box.take(now + 2 * AGE_SWEEP, 1000, 10))).toEqual(['a#2']);
    expect(box.backlog()).toMatchObject({ batches: 1, samples: 5, dropped: 5 });
    expect(rec.warnings().some((m) => /older than the age bound/.test(m))).toBe(true);
  });

  it('takes over the seqs of an older gateway’s seq.json once', async () => {
    writeFileSync(join(dir.path, 'seq.json'), JSON.stringify({ a: 41 }));
    const box = outbox({ legacySeqFile: join(dir.path, 'seq.json') });
    expect(box.nextSeq('a')).toBe(42);
    expect(existsSync(join(dir.path, 'seq.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir.path, 'seq.json.migrated'), 'utf8'))).toEqual({ a: 41 });
    await box.close();
    expect(outbox({ legacySeqFile: join(dir.path, 'seq.json') }).nextSeq('a')).toBe(42);
  });

  it('refuses a corrupt seq.json instead of starting over', () => {
    writeFileSync(join(dir.path, 'seq.json'), '{"a": "x"}');
    expect(() => outbox({ legacySeqFile: join(dir.path, 'seq.json') })).toThrow(/seq\.json/);
  });
});
