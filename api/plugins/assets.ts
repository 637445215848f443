/** The site model as the dashboard needs it: assets and their points. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { assetModeResult, AssetModeResultSchema, type CommandKind } from '@vigil/model';
import { type ApiContext, audited, requireUser, userOf } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import { commandRecord } from './commands.ts';

const AssetParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ModeBody = Type.Object({ on: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 500 })) });
type ModeBody = { on: boolean; reason?: string };

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

  /** Maintenance mode (suppression by design) and out of service: commands to ingest, engineers and admins only. */
  for (const [path, kind, action] of [
    ['/:id/maintenance', 'asset-maintenance', 'asset.maintenance'],
    ['/:id/out-of-service', 'asset-out-of-service', 'asset.out-of-service'],
  ] as const satisfies ReadonlyArray<readonly [string, CommandKind, string]>) {
    app.post<{ Params: { id: string }; Body: ModeBody }>(
      path,
      { onRequest: requireUser(ctx, 'assets:maintain'), schema: { params: AssetParams, body: ModeBody, response: { 200: AssetModeResultSchema, ...errorResponses } } },
      async (request) => {
        const user = userOf(request);
        const asset = request.params.id;
        if (!ctx.siteIndex.assets.has(asset)) throw new ApiError('VIGIL_ERR_NOT_FOUND', `no asset '${asset}'`);
        const { on, reason } = request.body;
        return audited(ctx, { username: user.username, action, target: asset, details: { on, ...(reason ? { reason } : {}) } }, async () => {
          const result = await ctx.bus.command(kind, { user: user.username, asset, on, ...(reason ? { reason } : {}) });
          const answer = commandRecord(result, 'mode', assetModeResult.check);
          if (!answer) throw new ApiError('VIGIL_ERR_BAD_COMMAND_RESULT', `the ${kind} command for '${asset}' was accepted, but not answered with the asset's mode`);
          return answer;
        });
      },
    );
  }
};
