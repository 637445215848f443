import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { TelemetryBatch } from '@vigil/model';
import { MemoryOutbox } from './outbox.ts';

const log = pino({ level: 'silent' });
const batch = (device: string, seq: number, n = 1, ts = seq * 1000): TelemetryBatch => ({
  gateway: 'g',
  device,
  seq,
  samples: Array.from({ length: n }, (_, i) => ({ point: `a.p${i}`, ts, value: i, quality: 'good' as const })),
});
const seqsOf = (entries: { batch: TelemetryBatch }[]) => entries.map((e) => `${e.batch.device}#${e.batch.seq}`);

describe('MemoryOutbox', () => {
  it('keeps batches until acknowledged, per device', () => {
    const box = new MemoryOutbox(1000, log);
    box.add(batch('a', 1, 2));
    box.add(batch('a', 2, 2));
    box.add(batch('b', 1, 3));
    expect(box.backlog()).toEqual({ batches: 3, samples: 7, oldestTs: 1000, dropped: 0 });
    expect(box.acknowledge('a', 1)).toBe(1);
    expect(box.acknowledge('a', 1)).toBe(0);
    expect(box.acknowledge('c', 9)).toBe(0);
    expect(box.backlog()).toMatchObject({ batches: 2, samples: 5, oldestTs: 1000 });
    expect(box.acknowledge('b', 5)).toBe(1);
    expect(box.backlog()).toMatchObject({ batches: 1, samples: 2, oldestTs: 2000 });
  });

  it('re-sends from the first stale batch onwards, in seq order', () => {
    const box = new MemoryOutbox(1000, log);
    for (let seq = 1; seq <= 3; seq++) box.add(batch('a', seq));
    const first = box.due(0, 100);
    expect(seqsOf(first)).toEqual(['a#1', 'a#2', 'a#3']);
    first.forEach((e, i) => (e.sentAt = i * 50)); // sent at 0, 50, 100
    expect(box.due(99, 100)).toEqual([]);
    expect(seqsOf(box.due(100, 100))).toEqual(['a#1', 'a#2', 'a#3']);
    box.acknowledge('a', 1);
    expect(seqsOf(box.due(100, 100))).toEqual([]);
    box.add(batch('a', 4));
    expect(seqsOf(box.due(100, 100))).toEqual(['a#4']);
    box.markAllUnsent();
    expect(seqsOf(box.due(100, 100))).toEqual(['a#2', 'a#3', 'a#4']);
  });

  it('past its bound drops the oldest batch and counts the dropped samples', () => {
    const box = new MemoryOutbox(10, log);
    box.add(batch('a', 1, 4));
    box.add(batch('b', 1, 4));
    box.add(batch('a', 2, 4)); // 12 > 10: the oldest, a#1, goes
    expect(box.backlog()).toEqual({ batches: 2, samples: 8, oldestTs: 1000, dropped: 4 });
    expect(seqsOf(box.due(0, 1))).toEqual(['a#2', 'b#1']);
  });
});
