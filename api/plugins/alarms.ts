/** The alarm console: read from ingest's store; acknowledgements go to ingest as bus commands. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ALARM_STATES, ANNUNCIATED_STATES, AlarmSchema, alarmChange, type Alarm } from '@vigil/model';
import { type ApiContext, audited, requireUser, userOf } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, RecordId, StringEnum } from '../schemas.ts';
import { commandRecord } from './commands.ts';

const AlarmsQuery = Type.Object({ state: StringEnum(['active', 'all', ...ALARM_STATES] as const, { default: 'active' }) });
const AckBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) });
const IdParams = Type.Object({ id: RecordId });

/** Most urgent first (priority 1 is critical), then the newest. */
export function byConsoleOrder(a: Alarm, b: Alarm): number {
  return a.priority - b.priority || b.raisedAt - a.raisedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export const alarmsPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get<{ Querystring: Static<typeof AlarmsQuery> }>(
    '/',
    {
      onRequest: requireUser(ctx, 'alarms:read'),
      schema: { querystring: AlarmsQuery, response: { 200: Type.Object({ alarms: Type.Array(AlarmSchema) }), ...errorResponses } },
    },
    async (request) => {
      const { state } = request.query;
      const filter = state === 'all' ? {} : { states: state === 'active' ? ANNUNCIATED_STATES : [state] };
      return { alarms: ctx.reader.alarms(filter).sort(byConsoleOrder) };
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AckBody> | undefined }>(
    '/:id/ack',
    {
      onRequest: requireUser(ctx, 'alarms:ack'),
      // The body is optional: a bare POST is an ack without a reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: { params: IdParams, body: AckBody, response: { 200: Type.Object({ alarm: AlarmSchema }), ...errorResponses } },
    },
    async (request) => {
      const user = userOf(request);
      const alarmId = request.params.id;
      const reason = request.body?.reason;
      return audited(ctx, { username: user.username, action: 'alarm.ack', target: alarmId, ...(reason ? { details: { reason } } : {}) }, async () => {
        const result = await ctx.bus.command('alarm-ack', { user: user.username, ...(reason ? { reason } : {}), alarmId });
        const alarm = commandRecord(result, 'alarm', alarmChange.check) ?? ctx.reader.alarm(alarmId);
        if (!alarm) throw new ApiError('VIGIL_ERR_BAD_COMMAND_RESULT', `the ack of alarm '${alarmId}' was accepted, but the alarm cannot be read back`);
        return { alarm };
      });
    },
  );
};
