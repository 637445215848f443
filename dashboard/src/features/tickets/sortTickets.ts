import { OPEN_TICKET_STATUSES, type Ticket } from '../../model.ts';

function isOpen(ticket: Ticket): boolean {
  return OPEN_TICKET_STATUSES.includes(ticket.status);
}

/** Work still to do first, then by priority, then whichever must be answered soonest. */
export function sortTickets(tickets: readonly Ticket[]): Ticket[] {
  return [...tickets].sort(
    (a, b) =>
      Number(isOpen(b)) - Number(isOpen(a)) ||
      a.priority - b.priority ||
      a.responseDue - b.responseDue ||
      a.number.localeCompare(b.number),
  );
}

/** The response SLA runs until someone accepts the ticket. */
export function awaitsResponse(ticket: Ticket): boolean {
  return ticket.status === 'open' || ticket.status === 'assigned';
}
