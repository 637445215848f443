/** The site model as the dashboard needs it: assets and their points. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { type ApiContext, requireUser } from '../context.ts';
import { errorResponses } from '../schemas.ts';

const PointResponse = Type.Object({ id: Type.String(), name: Type.Optional(Type.String()), unit: Type.Optional(Type.String()), tags: Type.Array(Type.String()) });
const AssetResponse = Type.Object({
  id: Type.String(),
  name: Type.String(),
  class: Type.String(),
  building: Type.String(),
  floor: Type.String(),
  department: Type.String(),
  criticality: Type.String(),
  points: Type.Array(PointResponse),
});
const AssetsResponse = Type.Object({
  site: Type.Object({ id: Type.String(), name: Type.String(), timezone: Type.String() }),
  assets: Type.Array(AssetResponse),
});

export const assetsPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  // The site does not change while the API runs: build the answer once.
  const pointsByAsset = new Map<string, { id: string; name?: string; unit?: string; tags: string[] }[]>();
  for (const device of ctx.site.devices) {
    for (const p of device.points) {
      const asset = p.id.slice(0, p.id.indexOf('.'));
      const list = pointsByAsset.get(asset) ?? [];
      list.push({ id: p.id, ...(p.name === undefined ? {} : { name: p.name }), ...(p.unit === undefined ? {} : { unit: p.unit }), tags: p.tags });
      pointsByAsset.set(asset, list);
    }
  }
  const body = {
    site: ctx.site.site,
    assets: ctx.site.assets.map((a) => ({ ...a, points: pointsByAsset.get(a.id) ?? [] })),
  };

  app.get('/', { onRequest: requireUser(ctx, 'assets:read'), schema: { response: { 200: AssetsResponse, ...errorResponses } } }, async () => body);
};
