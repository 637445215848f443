/** `GET /api/health`: each component's status, without a token (DESIGN.md, "Process and configuration"). */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GatewayDeviceStatusSchema, GatewayStatusSchema } from '@vigil/model';
import type { ApiContext } from '../context.ts';
import { errorResponses, StringEnum } from '../schemas.ts';

/** A gateway as its last status message says: devices with their metrics, the outbox backlog and what it dropped. */
const GatewayHealth = Type.Object({
  online: Type.Boolean(),
  ts: Type.Integer(),
  devices: Type.Record(Type.String(), GatewayDeviceStatusSchema),
  outbox: GatewayStatusSchema.properties.outbox,
  metrics: GatewayStatusSchema.properties.metrics,
});
const HealthResponse = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const),
  components: Type.Object({
    api: Type.Object({ status: Type.Literal('up') }),
    bus: Type.Object({ status: StringEnum(['up', 'down'] as const), invalidMessages: Type.Integer() }),
    ingest: Type.Object({ status: StringEnum(['up', 'degraded', 'down'] as const), ts: Type.Union([Type.Integer(), Type.Null()]) }),
    gateways: Type.Record(Type.String(), GatewayHealth),
    simulators: Type.Object({ devices: Type.Integer() }),
  }),
});

export const healthPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get('/', { schema: { response: { 200: HealthResponse, 503: HealthResponse, ...errorResponses } } }, async (_request, reply) => {
    const bus = ctx.bus.connected ? 'up' : 'down';
    const ingest = ctx.bus.ingestHealth();
    const gateways: Record<string, Static<typeof GatewayHealth>> = {};
    for (const [id, { gateway: _id, devices, ...rest }] of ctx.bus.gateways()) gateways[id] = { ...rest, devices: devices ?? {} };
    const ok = bus === 'up' && ingest?.status === 'up';
    reply.code(ok ? 200 : 503);
    return {
      status: ok ? 'ok' : 'degraded',
      components: {
        api: { status: 'up' },
        bus: { status: bus, invalidMessages: [...ctx.bus.invalid.values()].reduce((a, b) => a + b, 0) },
        ingest: { status: ingest?.status ?? 'down', ts: ingest?.ts ?? null },
        gateways,
        simulators: { devices: ctx.bus.catalog()?.devices.length ?? 0 },
      },
    };
  });
};
