/** The alarm console: read from ingest's store; acknowledgements go to ingest as bus commands. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ALARM_STATES, ANNUNCIATED_STATES, AlarmSchema, alarmChange, type Alarm, type CommandKind, type Permission } from '@vigil/model';
import { type ApiContext, audited, requireUser, userOf } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, RecordId, StringEnum } from '../schemas.ts';
import { commandRecord } from './commands.ts';

const AlarmsQuery = Type.Object({ state: StringEnum(['active', 'all', ...ALARM_STATES] as const, { default: 'active' }) });
const AckBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) });
const IdParams = Type.Object({ id: RecordId });
const ShelveBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 500 }),
  /** Wall time, ms since the epoch: the shelve expires then (ISA-18.2 §11.5). */
  until: Type.Integer({ minimum: 0 }),
});
const ReasonBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) });
const CommentBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 2000 }) });
const AlarmSystemResponse = Type.Object({
  floods: Type.Array(Type.Object({ area: Type.String(), since: Type.Integer(), count: Type.Integer() })),
  chattering: Type.Array(Type.Object({ key: Type.String(), activations: Type.Integer(), lastAt: Type.Integer() })),
});

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

  /** One operator command on an alarm, over the bus to ingest, audited, answering the alarm as ingest left it. */
  const alarmCommand = <B extends object>(
    path: string,
    permission: Permission,
    kind: CommandKind,
    action: string,
    body: TSchema,
    toCommand: (b: B) => { reason?: string } & Record<string, unknown>,
  ) =>
    app.post<{ Params: Static<typeof IdParams>; Body: B }>(
      path,
      {
        onRequest: requireUser(ctx, permission),
        preValidation: async (request) => {
          (request as { body: unknown }).body ??= {};
        },
        schema: { params: IdParams, body, response: { 200: Type.Object({ alarm: AlarmSchema }), ...errorResponses } },
      },
      async (request) => {
        const user = userOf(request);
        const alarmId = request.params.id;
        const fields = toCommand(request.body as B);
        return audited(ctx, { username: user.username, action, target: alarmId, details: fields }, async () => {
          const result = await ctx.bus.command(kind, { user: user.username, ...fields, alarmId });
          const alarm = commandRecord(result, 'alarm', alarmChange.check) ?? ctx.reader.alarm(alarmId);
          if (!alarm) throw new ApiError('VIGIL_ERR_BAD_COMMAND_RESULT', `the ${kind} of alarm '${alarmId}' was accepted, but the alarm cannot be read back`);
          return { alarm };
        });
      },
    );

  alarmCommand<Static<typeof ShelveBody>>('/:id/shelve', 'alarms:shelve', 'alarm-shelve', 'alarm.shelve', ShelveBody, (b) => ({ reason: b.reason, until: b.until }));
  alarmCommand<Static<typeof ReasonBody>>('/:id/unshelve', 'alarms:shelve', 'alarm-unshelve', 'alarm.unshelve', ReasonBody, (b) => (b.reason ? { reason: b.reason } : {}));
  alarmCommand<Static<typeof ReasonBody>>('/:id/reset', 'alarms:reset', 'alarm-reset', 'alarm.reset', ReasonBody, (b) => (b.reason ? { reason: b.reason } : {}));
  alarmCommand<Static<typeof CommentBody>>('/:id/comment', 'alarms:comment', 'alarm-comment', 'alarm.comment', CommentBody, (b) => ({ text: b.text }));

  /** Alarm-system health (ISA-18.2 §16, EEMUA 191): areas in flood and chattering alarms, as ingest last reported. */
  app.get('/system', { onRequest: requireUser(ctx, 'alarms:read'), schema: { response: { 200: AlarmSystemResponse, ...errorResponses } } }, async () => {
    const reported = ctx.bus.ingestHealth()?.details?.alarmSystem as Static<typeof AlarmSystemResponse> | undefined;
    return reported ?? { floods: [], chattering: [] };
  });
};
