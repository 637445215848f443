import type { Ticket } from '../../model.ts';

/** The ticket list after one record arrives; an older record than the one shown is ignored. */
export function mergeTicket(tickets: readonly Ticket[], incoming: Ticket): Ticket[] {
  const index = tickets.findIndex((t) => t.id === incoming.id);
  if (index === -1) return [...tickets, incoming];
  if ((tickets[index]?.updatedAt ?? 0) > incoming.updatedAt) return tickets as Ticket[];
  const next = [...tickets];
  next[index] = incoming;
  return next;
}
