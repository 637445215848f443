/** Tickets: read from ingest's store; moves go to ingest as bus commands. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DEPARTMENTS, TICKET_STATUSES, TicketSchema, ticketChange, type TicketStatus } from '@vigil/model';
import { type ApiContext, audited, requireUser, userOf } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, RecordId, StringEnum } from '../schemas.ts';
import { commandRecord } from './commands.ts';

const statusList = `(${TICKET_STATUSES.join('|')})`;
const TicketsQuery = Type.Object({
  department: Type.Optional(StringEnum(DEPARTMENTS)),
  status: Type.Optional(Type.String({ pattern: `^${statusList}(,${statusList})*$`, description: 'one status or a comma-separated list' })),
  assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
const MOVE_TARGETS = ['accepted', 'in-progress', 'resolved', 'closed', 'cancelled'] as const;
const MoveBody = Type.Object({ to: StringEnum(MOVE_TARGETS), reason: Type.Optional(Type.String({ maxLength: 500 })) });
const IdParams = Type.Object({ id: RecordId });

export const ticketsPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get<{ Querystring: Static<typeof TicketsQuery> }>(
    '/',
    {
      onRequest: requireUser(ctx, 'tickets:read'),
      schema: { querystring: TicketsQuery, response: { 200: Type.Object({ tickets: Type.Array(TicketSchema) }), ...errorResponses } },
    },
    async (request) => {
      const { department, status, assignee } = request.query;
      const statuses = status ? (status.split(',') as TicketStatus[]) : undefined;
      return { tickets: ctx.reader.tickets({ ...(department ? { department } : {}), ...(statuses ? { statuses } : {}), ...(assignee ? { assignee } : {}) }) };
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof MoveBody> }>(
    '/:id/move',
    {
      onRequest: requireUser(ctx, 'tickets:work'),
      schema: { params: IdParams, body: MoveBody, response: { 200: Type.Object({ ticket: TicketSchema }), ...errorResponses } },
    },
    async (request) => {
      const user = userOf(request);
      const ticketId = request.params.id;
      const { to, reason } = request.body;
      return audited(ctx, { username: user.username, action: 'ticket.move', target: ticketId, details: { to, ...(reason ? { reason } : {}) } }, async () => {
        if (user.role === 'technician') {
          // A technician works only their own tickets; the store knows whose a ticket is.
          const current = ctx.reader.ticket(ticketId);
          if (!current) throw new ApiError('VIGIL_ERR_NOT_FOUND', `no ticket '${ticketId}'`);
          if (current.assignee !== user.username) throw new ApiError('VIGIL_ERR_FORBIDDEN', `ticket ${current.number} is not assigned to you`);
        }
        const result = await ctx.bus.command('ticket-move', { user: user.username, ...(reason ? { reason } : {}), ticketId, to });
        const ticket = commandRecord(result, 'ticket', ticketChange.check) ?? ctx.reader.ticket(ticketId);
        if (!ticket) throw new ApiError('VIGIL_ERR_BAD_COMMAND_RESULT', `the move of ticket '${ticketId}' was accepted, but the ticket cannot be read back`);
        return { ticket };
      });
    },
  );
};
