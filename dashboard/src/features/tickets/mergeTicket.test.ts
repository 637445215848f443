import { describe, expect, it } from 'vitest';
import { aTicket } from '../../fixtures.ts';
import { mergeTicket } from './mergeTicket.ts';

describe('mergeTicket', () => {
  const t1 = aTicket({ id: 't1' });

  it('inserts and replaces by id', () => {
    const accepted = { ...t1, status: 'accepted' as const, updatedAt: 2000 };
    expect(mergeTicket([], t1)).toEqual([t1]);
    expect(mergeTicket([t1], accepted)).toEqual([accepted]);
  });

  it('ignores a record older than the one shown', () => {
    const newer = { ...t1, status: 'in-progress' as const, updatedAt: 3000 };
    expect(mergeTicket([newer], { ...t1, status: 'accepted', updatedAt: 2000 })).toEqual([newer]);
  });
});
