/**
 * The composition root: starts the modules in data-flow order (broker → ingest → simulators →
 * gateway → api) and closes them in reverse. `vigil start` runs it all in one process; the split
 * commands (`vigil gateway`, `vigil ingest`, `vigil api`) run one module each.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { BusOptions, Site } from '@vigil/model';
import { startSimulators, type SimClock } from '@vigil/simulators';
import { startGateway } from '@vigil/gateway';
import { startIngest, openStateReader } from '@vigil/ingest';
import { startApi } from '@vigil/api';
import { startEmbeddedBroker } from './broker.ts';
import { demoUsersAllowed, externalBus, loadSecret, type Config } from './config.ts';
import type { BusRole } from './bus-acl.ts';

export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/dist', import.meta.url));

export interface Stack {
  url: string;
  busUrl: string;
  demoUsers: boolean;
  /** Bus options of one component role, for tools and tests. */
  bus(role: Exclude<BusRole, 'integration'>): BusOptions;
  close(): Promise<void>;
}

/** Bus options when the broker is external: everybody uses the configured account. */
export interface StackOverrides {
  /** Per-component bus accounts on an external broker (a Mosquitto with one user per component). */
  bus?: (role: Exclude<BusRole, 'integration'>) => BusOptions;
  /** The simulators' time (tests pin the time of day, since plant behaviour follows it). */
  simClock?: SimClock;
}

export async function startStack(config: Config, site: Site, log: Logger, overrides: StackOverrides = {}): Promise<Stack> {
  const demoUsers = demoUsersAllowed(config, site);
  const secret = loadSecret(config.dataDir);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log.error({ err }, 'error while stopping');
      }
    }
  };

  try {
    let bus: (role: Exclude<BusRole, 'integration'>) => BusOptions;
    let busUrl: string;
    if (overrides.bus) {
      bus = overrides.bus;
      busUrl = overrides.bus('api').url;
    } else if (config.mqttUrl) {
      const external = externalBus(config);
      bus = () => external;
      busUrl = external.url;
    } else {
      const integrationUser = config.mqttUsername && config.mqttPassword ? { username: config.mqttUsername, password: config.mqttPassword } : undefined;
      const broker = await startEmbeddedBroker({ host: config.host, port: config.mqttPort, site: site.site.id, secret, integrationUser, log });
      closers.push(() => broker.close());
      bus = (role) => broker.credentials(role);
      busUrl = broker.url;
    }

    const ingest = await startIngest({ site, bus: bus('ingest'), dataDir: config.dataDir, log: log.child({ module: 'ingest' }), influx: config.influx });
    closers.push(() => ingest.close());

    if (site.devices.some((d) => d.simulator)) {
      const sims = await startSimulators({ site, bus: bus('sim'), log: log.child({ module: 'simulators' }), ...(overrides.simClock ? { clock: overrides.simClock } : {}) });
      closers.push(() => sims.close());
    }

    const gateway = await startGateway({ site, gatewayId: config.gatewayId, bus: bus('gateway'), dataDir: config.dataDir, log: log.child({ module: 'gateway' }), bacnet: config.bacnet });
    closers.push(() => gateway.close());

    const reader = openStateReader(config.dataDir, { influx: config.influx });
    closers.push(async () => reader.close());
    const api = await startApi({
      site,
      bus: bus('api'),
      dataDir: config.dataDir,
      host: config.host,
      port: config.httpPort,
      log: log.child({ module: 'api' }),
      secret,
      demoUsers,
      dashboardDir: DASHBOARD_DIR,
      reader,
    });
    closers.push(() => api.close());

    return { url: api.url, busUrl, demoUsers, bus, close };
  } catch (err) {
    await close();
    throw err;
  }
}
