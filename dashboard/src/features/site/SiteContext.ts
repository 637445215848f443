import { createContext } from 'react';
import type { Asset, SiteInfo } from '../../api/types.ts';

export interface SiteModel {
  site: SiteInfo;
  assets: Asset[];
  /** The asset's name for a table cell; its id when the site model does not know it. */
  assetName: (assetId: string) => string;
  /** The point's engineering unit, if the site file gives one. */
  pointUnit: (pointId: string) => string | undefined;
}

export const SiteContext = createContext<SiteModel | null>(null);
