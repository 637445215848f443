import { describe, expect, it } from 'vitest';
import { dueStatus } from './dueStatus.ts';

describe('dueStatus', () => {
  it('counts whole minutes to go, rounded up', () => {
    expect(dueStatus(10 * 60_000, 0)).toEqual({ overdue: false, minutes: 10 });
    expect(dueStatus(30_000, 0)).toEqual({ overdue: false, minutes: 1 });
  });

  it('marks a passed due time as overdue, however little', () => {
    expect(dueStatus(0, 1)).toEqual({ overdue: true, minutes: 1 });
    expect(dueStatus(0, 5 * 60_000)).toEqual({ overdue: true, minutes: 5 });
  });
});
