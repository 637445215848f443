/** Live and historical values of the site's points, read from ingest's store. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { type ApiContext, requireUser } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, QualityResponse, SampleValue } from '../schemas.ts';

const PointParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 129 }) });
const HistoryQuery = Type.Object({
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default to − 1 h' })),
  to: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default now' })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  buckets: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10_000, description: 'points to draw: raw samples if no more than this many, else 1-minute or 1-hour rollups' }),
  ),
});
const LatestResponse = Type.Object({ point: Type.String(), ts: Type.Integer(), value: SampleValue, quality: QualityResponse, reason: Type.Optional(Type.String()) });
const HistoryResponse = Type.Object({
  point: Type.String(),
  resolution: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')]),
  /** Rollups only: the width of each bucket, ms (a whole number of minutes or hours). */
  bucketMs: Type.Optional(Type.Integer()),
  /** Raw only. */
  samples: Type.Optional(Type.Array(Type.Object({ ts: Type.Integer(), value: SampleValue, quality: QualityResponse }))),
  /** Rollups only: numeric samples (booleans as 0/1) of quality other than bad in [ts, ts + bucketMs). */
  buckets: Type.Optional(
    Type.Array(Type.Object({ ts: Type.Integer(), value: Type.Number({ description: 'mean' }), min: Type.Number(), max: Type.Number(), last: Type.Number(), count: Type.Integer() })),
  ),
});

const HOUR_MS = 60 * 60 * 1000;

export const pointsPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  const known = (id: string) => {
    if (!ctx.siteIndex.points.has(id)) throw new ApiError('VIGIL_ERR_NOT_FOUND', `point '${id}' is not in site '${ctx.site.site.id}'`, 'id');
  };
  const onRequest = requireUser(ctx, 'points:read');

  app.get<{ Params: Static<typeof PointParams> }>(
    '/:id/latest',
    { onRequest, schema: { params: PointParams, response: { 200: LatestResponse, ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      known(id);
      const sample = ctx.reader.latest(id);
      if (!sample) throw new ApiError('VIGIL_ERR_NOT_FOUND', `point '${id}' has no value yet`);
      return sample;
    },
  );

  app.get<{ Params: Static<typeof PointParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/:id/history',
    { onRequest, schema: { params: PointParams, querystring: HistoryQuery, response: { 200: HistoryResponse, ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      known(id);
      const to = request.query.to ?? Date.now();
      const from = request.query.from ?? Math.max(0, to - HOUR_MS);
      if (from > to) throw new ApiError('VIGIL_ERR_BAD_REQUEST', `from (${from}) must not be after to (${to})`, 'from');
      const { limit, buckets } = request.query;
      return ctx.reader.history(id, from, to, buckets === undefined ? { limit } : { limit, buckets });
    },
  );
};
