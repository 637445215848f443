import { describe, expect, it } from 'vitest';
import { aTicket } from '../../fixtures.ts';
import { awaitsResponse, sortTickets } from './sortTickets.ts';

describe('sortTickets', () => {
  it('lists open work first, then by priority, then by the earliest response due', () => {
    const sorted = sortTickets([
      aTicket({ id: 'done', status: 'resolved', priority: 1 }),
      aTicket({ id: 'low', priority: 4 }),
      aTicket({ id: 'high-late', priority: 2, responseDue: 9000 }),
      aTicket({ id: 'high-soon', priority: 2, responseDue: 5000 }),
    ]);
    expect(sorted.map((t) => t.id)).toEqual(['high-soon', 'high-late', 'low', 'done']);
  });

  it('runs the response clock only until someone accepts', () => {
    expect(awaitsResponse(aTicket({ id: '1', status: 'assigned' }))).toBe(true);
    expect(awaitsResponse(aTicket({ id: '1', status: 'open' }))).toBe(true);
    expect(awaitsResponse(aTicket({ id: '1', status: 'accepted' }))).toBe(false);
  });
});
