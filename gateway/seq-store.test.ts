import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/index.ts';
import { SeqStore } from './seq-store.ts';

describe('SeqStore', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it('hands out rising seqs per device that survive a reopen', () => {
    const store = new SeqStore(join(dir.path, 'gw'));
    expect([store.next('a'), store.next('a'), store.next('b')]).toEqual([1, 2, 1]);
    expect(JSON.parse(readFileSync(join(dir.path, 'gw', 'seq.json'), 'utf8'))).toEqual({ a: 2, b: 1 });
    const again = new SeqStore(join(dir.path, 'gw'));
    expect(again.next('a')).toBe(3);
    again.raiseTo('b', 40);
    again.raiseTo('a', 1);
    expect([again.next('b'), again.next('a')]).toEqual([41, 4]);
  });

  it('refuses a corrupt file instead of starting over', () => {
    const store = new SeqStore(join(dir.path, 'gw'));
    store.next('a');
    writeFileSync(join(dir.path, 'gw', 'seq.json'), '{"a": "x"}');
    expect(() => new SeqStore(join(dir.path, 'gw'))).toThrow(/seq\.json/);
  });
});
