import type { Role, Ticket, TicketStatus } from '../../model.ts';
import type { MessageKey } from '../../i18n/dictionary.ts';

export interface TicketMove {
  to: TicketStatus;
  label: MessageKey;
}

const ACCEPT: TicketMove = { to: 'accepted', label: 'tickets.accept' };
const START: TicketMove = { to: 'in-progress', label: 'tickets.start' };
const RESOLVE: TicketMove = { to: 'resolved', label: 'tickets.resolve' };

const MOVES_FROM: Partial<Record<TicketStatus, TicketMove[]>> = {
  assigned: [ACCEPT],
  accepted: [START, RESOLVE],
  'in-progress': [RESOLVE],
};

/**
 * The moves a person may make on a ticket: only on their own tickets, only with 'tickets:work'
 * (decided by useCan and passed in), and a security officer only on security tickets.
 */
export function ticketMoves(ticket: Ticket, user: { username: string; role: Role }, canWork: boolean): TicketMove[] {
  if (!canWork || ticket.assignee !== user.username) return [];
  if (user.role === 'security' && ticket.department !== 'security') return [];
  return MOVES_FROM[ticket.status] ?? [];
}
