import { useCallback, useEffect, useMemo, useState } from 'react';
import type { AssetsResponse } from '../../api/types.ts';
import { useSession } from '../auth/useSession.ts';
import type { SiteModel } from './SiteContext.ts';

export interface SiteModelState {
  model: SiteModel | null;
  error: unknown;
  reload: () => void;
}

/** Loads the site model once (`GET /api/assets`): its name, time zone and assets frame every panel. */
export function useSiteModel(): SiteModelState {
  const { api } = useSession();
  const [data, setData] = useState<AssetsResponse | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(() => {
    setError(null);
    api.assets().then(setData, setError);
  }, [api]);
  useEffect(reload, [reload]);

  const model = useMemo<SiteModel | null>(() => {
    if (!data) return null;
    const names = new Map(data.assets.map((asset) => [asset.id, asset.name]));
    const units = new Map(data.assets.flatMap((asset) => asset.points.map((point) => [point.id, point.unit] as const)));
    return { site: data.site, assets: data.assets, assetName: (id) => names.get(id) ?? id, pointUnit: (id) => units.get(id) };
  }, [data]);

  return { model, error, reload };
}
