import { describe, expect, it } from 'vitest';
import { anAlarm } from '../../fixtures.ts';
import { sortAlarms } from './sortAlarms.ts';

describe('sortAlarms', () => {
  it('puts higher priority first, then the newest', () => {
    const sorted = sortAlarms([
      anAlarm({ id: 'low-new', priority: 4, raisedAt: 300 }),
      anAlarm({ id: 'crit-old', priority: 1, raisedAt: 100 }),
      anAlarm({ id: 'crit-new', priority: 1, raisedAt: 200 }),
      anAlarm({ id: 'high', priority: 2, raisedAt: 400 }),
    ]);
    expect(sorted.map((a) => a.id)).toEqual(['crit-new', 'crit-old', 'high', 'low-new']);
  });

  it('keeps ties in a stable order and does not mutate its input', () => {
    const input = [anAlarm({ id: 'b' }), anAlarm({ id: 'a' })];
    expect(sortAlarms(input).map((a) => a.id)).toEqual(['a', 'b']);
    expect(input.map((a) => a.id)).toEqual(['b', 'a']);
  });
});
