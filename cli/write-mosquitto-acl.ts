/** Regenerates deploy/mosquitto/acl from cli/bus-acl.ts: `npx tsx cli/write-mosquitto-acl.ts [site]`. */
import { writeFileSync } from 'node:fs';
import { mosquittoAcl } from './bus-acl.ts';

// '+' for the site level: one file serves any site id.
export const DEPLOY_ACL_SITE = '+';
export const deployAcl = (site: string = DEPLOY_ACL_SITE) => mosquittoAcl(site, { gateway: 'vigil-gateway', ingest: 'vigil-ingest', api: 'vigil-api', sim: 'vigil-sim' });

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../deploy/mosquitto/acl', import.meta.url), deployAcl(process.argv[2]));
}
