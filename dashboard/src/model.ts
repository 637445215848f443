/**
 * The part of @vigil/model the browser may use. The package entry re-exports the site loader
 * (node:fs), so values come from the pure files by path and everything else is `import type`.
 */
export { can } from '../../model/roles.ts';
export { ANNUNCIATED_STATES, PRIORITY_NAMES } from '../../model/alarm.ts';
export { OPEN_TICKET_STATUSES } from '../../model/ticket.ts';
export type { Alarm, AlarmState, Permission, Priority, Role, Sample, SimDevice, Ticket, TicketStatus } from '@vigil/model';
