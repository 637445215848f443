/** Simulated devices and fault injection, driven only over the bus (DESIGN.md, "Bus topics": sim). */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, SimDeviceSchema, type SimDevice, type SimReply } from '@vigil/model';
import { type ApiContext, audited, requireUser, userOf } from '../context.ts';
import { ApiError, type ApiErrorCode } from '../errors.ts';
import { errorResponses } from '../schemas.ts';

const DeviceParams = Type.Object({ device: Type.String({ pattern: ID_PATTERN, maxLength: 64 }) });
const FaultName = Type.String({ minLength: 1, maxLength: 64 });
const FaultParams = Type.Object({ device: Type.String({ pattern: ID_PATTERN, maxLength: 64 }), fault: FaultName });
const InjectBody = Type.Object({
  fault: FaultName,
  params: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.Number(), Type.String({ maxLength: 200 }), Type.Boolean()]), { maxProperties: 32 })),
});
const DeviceResponse = Type.Object({ device: SimDeviceSchema });

const byReplyCode: Record<string, ApiErrorCode> = { 'not-found': 'VIGIL_ERR_NOT_FOUND', invalid: 'VIGIL_ERR_BAD_REQUEST', conflict: 'VIGIL_ERR_CONFLICT' };

export const simulatorsPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  const inCatalog = (device: string): SimDevice => {
    const found = ctx.bus.catalog()?.devices.find((d) => d.device === device);
    if (!found) throw new ApiError('VIGIL_ERR_NOT_FOUND', `no simulated device '${device}' in the simulator catalog`, 'device');
    return found;
  };
  const outcome = (reply: SimReply, known: SimDevice): { device: SimDevice } => {
    if (!reply.ok) {
      const code = (reply.error && byReplyCode[reply.error.code]) ?? 'VIGIL_ERR_BAD_REQUEST';
      throw new ApiError(code, reply.error?.message ?? 'the simulator refused the request', code === 'VIGIL_ERR_BAD_REQUEST' ? 'fault' : undefined);
    }
    return { device: reply.device ?? known };
  };

  app.get(
    '/',
    {
      onRequest: requireUser(ctx, 'simulators:read'),
      schema: { response: { 200: Type.Object({ devices: Type.Array(SimDeviceSchema) }), ...errorResponses } },
    },
    async () => ({ devices: ctx.bus.catalog()?.devices ?? [] }),
  );

  app.post<{ Params: Static<typeof DeviceParams>; Body: Static<typeof InjectBody> }>(
    '/:device/faults',
    {
      onRequest: requireUser(ctx, 'simulators:control'),
      schema: { params: DeviceParams, body: InjectBody, response: { 200: DeviceResponse, ...errorResponses } },
    },
    async (request) => {
      const user = userOf(request);
      const { device } = request.params;
      const { fault, params } = request.body;
      return audited(ctx, { username: user.username, action: 'sim.fault.inject', target: `${device}/${fault}`, ...(params ? { details: { params } } : {}) }, async () => {
        const known = inCatalog(device);
        return outcome(await ctx.bus.simulator(device, 'inject', { fault, ...(params ? { params } : {}) }), known);
      });
    },
  );

  app.delete<{ Params: Static<typeof FaultParams> }>(
    '/:device/faults/:fault',
    {
      onRequest: requireUser(ctx, 'simulators:control'),
      schema: { params: FaultParams, response: { 200: DeviceResponse, ...errorResponses } },
    },
    async (request) => {
      const user = userOf(request);
      const { device, fault } = request.params;
      return audited(ctx, { username: user.username, action: 'sim.fault.clear', target: `${device}/${fault}` }, async () => {
        const known = inCatalog(device);
        return outcome(await ctx.bus.simulator(device, 'clear', { fault }), known);
      });
    },
  );
};
