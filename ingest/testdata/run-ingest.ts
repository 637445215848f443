/**
 * Ingest alone in a process, for tests that kill it (kill.test.ts): VIGIL_SITE (site file),
 * VIGIL_DATA_DIR and VIGIL_MQTT_URL. Writes `ready` on stdout once subscribed; SIGTERM closes it.
 */
import pino from 'pino';
import { loadSiteFile } from '@vigil/model';
import { startIngest } from '../index.ts';

const need = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const log = pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const ingest = await startIngest({ site: loadSiteFile(need('VIGIL_SITE')), bus: { url: need('VIGIL_MQTT_URL') }, dataDir: need('VIGIL_DATA_DIR'), log });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void ingest.close().then(() => process.exit(0));
});
