/** Maintenance and security tickets (DESIGN.md, "Ticket model"): the record and its state machine. */
import { Type, type Static } from '@sinclair/typebox';
import { DepartmentSchema } from './alarm.ts';

export const TICKET_STATUSES = ['open', 'assigned', 'accepted', 'in-progress', 'resolved', 'closed', 'cancelled'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** Statuses in which a ticket still needs work: a repeat of its condition raises its count. */
export const OPEN_TICKET_STATUSES: readonly TicketStatus[] = ['open', 'assigned', 'accepted', 'in-progress'];

export const TicketSchema = Type.Object({
  id: Type.String(),
  /** Human reference, e.g. `T-000042`. */
  number: Type.String(),
  site: Type.String(),
  department: DepartmentSchema,
  category: Type.String(),
  priority: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)]),
  status: Type.Union(TICKET_STATUSES.map((s) => Type.Literal(s))),
  asset: Type.String(),
  /** Asset and condition: one open ticket per pair. */
  condition: Type.String(),
  title: Type.String(),
  assignee: Type.Optional(Type.String()),
  /** How many times the condition fired while this ticket was open. */
  count: Type.Integer({ minimum: 1 }),
  alarmIds: Type.Array(Type.String()),
  evidence: Type.Optional(Type.Unknown()),
  responseDue: Type.Integer(),
  resolveDue: Type.Integer(),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});
export type Ticket = Static<typeof TicketSchema>;

export type TicketEvent =
  | { type: 'assign'; assignee: string }
  | { type: 'accept' }
  | { type: 'start' }
  | { type: 'resolve' }
  | { type: 'close' }
  | { type: 'cancel' }
  | { type: 'repeat' };

export type TicketTransition = { ok: true; status: TicketStatus; assignee?: string } | { ok: false; reason: string };

const moves: Record<TicketStatus, Partial<Record<TicketEvent['type'], TicketStatus>>> = {
  open: { assign: 'assigned', cancel: 'cancelled', repeat: 'open' },
  assigned: { assign: 'assigned', accept: 'accepted', cancel: 'cancelled', repeat: 'assigned' },
  accepted: { assign: 'assigned', start: 'in-progress', resolve: 'resolved', cancel: 'cancelled', repeat: 'accepted' },
  'in-progress': { resolve: 'resolved', cancel: 'cancelled', repeat: 'in-progress' },
  resolved: { close: 'closed', start: 'in-progress' },
  closed: {},
  cancelled: {},
};

/** Pure: open → assigned → accepted → in progress → resolved → closed; cancelled from any open status. */
export function ticketTransition(status: TicketStatus, event: TicketEvent): TicketTransition {
  const next = moves[status][event.type];
  if (!next) return { ok: false, reason: `a ${status} ticket cannot be moved by '${event.type}'` };
  return event.type === 'assign' ? { ok: true, status: next, assignee: event.assignee } : { ok: true, status: next };
}

/** The ticket event that a move request to a status means. */
export function ticketEventFor(to: TicketStatus): TicketEvent['type'] | null {
  const byTarget: Partial<Record<TicketStatus, TicketEvent['type']>> = {
    accepted: 'accept',
    'in-progress': 'start',
    resolved: 'resolve',
    closed: 'close',
    cancelled: 'cancel',
  };
  return byTarget[to] ?? null;
}
