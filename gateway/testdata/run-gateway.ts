/**
 * A gateway in its own process, for tests that `kill -9` it or measure its CPU: started with
 * `fork(this file, { execArgv: ['--import', 'tsx'] })`, driven over IPC.
 *   parent → child: { start: { siteYaml, gatewayId, bus, dataDir, options? } } | 'stats' | 'watch' | 'timeline' | 'close'
 *   child → parent: { started: true } | { stats, cpuMicros, wallMs, rss } | { timeline } | { closed: true } | { error }
 * 'watch' starts recording (every 50 ms) the acknowledged samples and the backlog; 'timeline' returns them.
 */
import { pino } from 'pino';
import { parseSite, type BusOptions } from '@vigil/model';
import { startGateway, type GatewayOptions, type RunningGateway } from '../index.ts';

export interface RunGatewayStart {
  siteYaml: string;
  gatewayId: string;
  bus: BusOptions;
  dataDir: string;
  options?: Partial<Pick<GatewayOptions, 'resendAfterMs' | 'statusEveryMs' | 'maxInFlight' | 'outbox' | 'reconnect'>>;
}

const log = pino({ level: process.env.VIGIL_TEST_LOG ?? 'warn' }, pino.destination(2));
let gateway: RunningGateway | null = null;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
/** [wall ms, samples acknowledged, samples waiting] — measured here, where no test or ingest competes for the event loop. */
const timeline: Array<[number, number, number]> = [];
let watching: NodeJS.Timeout | null = null;

process.on('message', (message: { start: RunGatewayStart } | 'stats' | 'watch' | 'timeline' | 'close') => {
  void (async () => {
    try {
      if (message === 'watch') {
        watching ??= setInterval(() => {
          const stats = gateway?.stats();
          if (stats) timeline.push([Date.now(), stats.samplesAcknowledged, stats.outbox.samples]);
        }, 50);
      } else if (message === 'timeline') {
        process.send!({ timeline });
      } else if (message === 'stats') {
        const cpu = process.cpuUsage(cpu0);
        process.send!({ stats: gateway?.stats() ?? null, cpuMicros: cpu.user + cpu.system, wallMs: performance.now() - t0, rss: process.memoryUsage().rss });
      } else if (message === 'close') {
        await gateway?.close();
        process.send!({ closed: true }, () => process.exit(0));
      } else {
        const { siteYaml, gatewayId, bus, dataDir, options } = message.start;
        gateway = await startGateway({ site: parseSite(siteYaml, 'test-site.yaml'), gatewayId, bus, dataDir, log, ...options });
        process.send!({ started: true });
      }
    } catch (err) {
      process.send!({ error: (err as Error).stack ?? String(err) });
    }
  })();
});
// The parent went away: do not outlive it.
process.on('disconnect', () => process.exit(0));
