import { useContext } from 'react';
import { SiteContext, type SiteModel } from './SiteContext.ts';

export function useSite(): SiteModel {
  const site = useContext(SiteContext);
  if (!site) throw new Error('useSite() outside <SiteProvider>');
  return site;
}
