import { describe, expect, it } from 'vitest';
import { aTicket } from '../../fixtures.ts';
import { ticketMoves } from './ticketMoves.ts';

const tech = { username: 'tech1', role: 'technician' as const };
const guard = { username: 'guard1', role: 'security' as const };
const targets = (moves: ReturnType<typeof ticketMoves>) => moves.map((m) => m.to);

describe('ticketMoves', () => {
  it('offers Accept, then Start or Resolve, then Resolve to the assignee', () => {
    expect(targets(ticketMoves(aTicket({ id: '1', status: 'assigned' }), tech, true))).toEqual(['accepted']);
    expect(targets(ticketMoves(aTicket({ id: '1', status: 'accepted' }), tech, true))).toEqual(['in-progress', 'resolved']);
    expect(targets(ticketMoves(aTicket({ id: '1', status: 'in-progress' }), tech, true))).toEqual(['resolved']);
    expect(ticketMoves(aTicket({ id: '1', status: 'accepted' }), tech, true).map((m) => m.label)).toEqual(['tickets.start', 'tickets.resolve']);
  });

  it('offers nothing on finished or unassigned work', () => {
    for (const status of ['open', 'resolved', 'closed', 'cancelled'] as const) {
      expect(ticketMoves(aTicket({ id: '1', status }), tech, true)).toEqual([]);
    }
  });

  it("offers nothing on someone else's ticket, or without 'tickets:work'", () => {
    expect(ticketMoves(aTicket({ id: '1', assignee: 'tech2' }), tech, true)).toEqual([]);
    expect(ticketMoves(aTicket({ id: '1', assignee: undefined }), tech, true)).toEqual([]);
    expect(ticketMoves(aTicket({ id: '1' }), { username: 'tech1', role: 'operator' }, false)).toEqual([]);
  });

  it('lets a security officer work only security tickets assigned to them', () => {
    expect(targets(ticketMoves(aTicket({ id: '1', assignee: 'guard1', department: 'security' }), guard, true))).toEqual(['accepted']);
    expect(ticketMoves(aTicket({ id: '1', assignee: 'guard1', department: 'technical' }), guard, true)).toEqual([]);
  });
});
