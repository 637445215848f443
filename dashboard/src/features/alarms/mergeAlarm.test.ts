import { describe, expect, it } from 'vitest';
import type { Alarm } from '../../model.ts';
import { isUnacknowledged, mergeAlarm } from './mergeAlarm.ts';
import { anAlarm } from '../../fixtures.ts';

const a1 = anAlarm({ id: 'a1', priority: 2 });

describe('mergeAlarm', () => {
  it('inserts a new annunciated alarm', () => {
    expect(mergeAlarm([], a1)).toEqual([a1]);
  });

  it('replaces a newer record of the same alarm', () => {
    const acked: Alarm = { ...a1, state: 'acknowledged-active', changedAt: 2000, ackedBy: 'op' };
    expect(mergeAlarm([a1], acked)).toEqual([acked]);
  });

  it('removes an alarm that leaves the annunciated states', () => {
    for (const state of ['normal', 'shelved', 'suppressed-by-design', 'out-of-service'] as const) {
      expect(mergeAlarm([a1], { ...a1, state, changedAt: 2000 })).toEqual([]);
    }
  });

  it('does not insert an alarm it never showed that is already over', () => {
    expect(mergeAlarm([], { ...a1, state: 'normal' })).toEqual([]);
  });

  it('ignores a record older than the one shown (a slow answer after a newer event)', () => {
    const newer: Alarm = { ...a1, state: 'acknowledged-active', changedAt: 3000 };
    expect(mergeAlarm([newer], { ...a1, changedAt: 2000 })).toEqual([newer]);
    expect(mergeAlarm([newer], { ...a1, state: 'normal', changedAt: 2000 })).toEqual([newer]);
  });

  it('knows which states still need an acknowledgement', () => {
    expect(isUnacknowledged('unacknowledged-active')).toBe(true);
    expect(isUnacknowledged('unacknowledged-returned')).toBe(true);
    expect(isUnacknowledged('acknowledged-active')).toBe(false);
  });
});
