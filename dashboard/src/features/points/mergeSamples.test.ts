import { describe, expect, it } from 'vitest';
import type { PointValue } from '../../api/types.ts';
import { mergeSamples } from './mergeSamples.ts';

const sample = (point: string, ts: number, value: number): PointValue => ({ point, ts, value, quality: 'good' });

describe('mergeSamples', () => {
  it('keeps the newest sample per point', () => {
    const start = mergeSamples(new Map(), [sample('p.a', 100, 1), sample('p.b', 100, 2)]);
    const next = mergeSamples(start, [sample('p.a', 200, 3), sample('p.b', 50, 9)]);
    expect(next.get('p.a')?.value).toBe(3);
    expect(next.get('p.b')?.value).toBe(2);
  });

  it('does not change the map it was given', () => {
    const start = mergeSamples(new Map(), [sample('p.a', 100, 1)]);
    mergeSamples(start, [sample('p.a', 200, 3)]);
    expect(start.get('p.a')?.value).toBe(1);
  });
});
