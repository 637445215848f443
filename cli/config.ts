/** Configuration from the environment (DESIGN.md, "Process and configuration"), checked once at start. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DEMO_SITE_FILE, type BusOptions, type Site } from '@vigil/model';

export interface Config {
  httpPort: number;
  host: string;
  /** Unset: the embedded broker. */
  mqttUrl?: string;
  mqttPort: number;
  mqttUsername?: string;
  mqttPassword?: string;
  dataDir: string;
  siteFile: string;
  isDemoSite: boolean;
  gatewayId: string;
  /** Set: time series go to InfluxDB (writes: /api/v2/write; reads: InfluxQL over /query). */
  influx?: { url: string; token?: string; org?: string; bucket: string; database: string };
  /** The gateway's BACnet/IP binding; unset fields: 127.0.0.1, an ephemeral port, no broadcast. */
  bacnet: { interface?: string; port?: number; broadcastAddress?: string };
}

export class ConfigError extends Error {
  readonly code = 'VIGIL_ERR_CONFIG';
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`${name}=${raw}: a port is a whole number from 1 to 65535`);
  return n;
}

/** `VIGIL_SECRET`, or one generated once and kept (mode 0600) in the data directory. */
export function loadSecret(dataDir: string, env: Env = process.env): string {
  if (env.VIGIL_SECRET) {
    if (env.VIGIL_SECRET.length < 16) throw new ConfigError('VIGIL_SECRET must be at least 16 characters');
    return env.VIGIL_SECRET;
  }
  const file = join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

export function loadConfig(env: Env = process.env, overrides: { siteFile?: string } = {}): Config {
  const dataDir = resolve(env.VIGIL_DATA_DIR || './data');
  const siteFile = resolve(overrides.siteFile ?? (env.VIGIL_SITE || DEMO_SITE_FILE));
  const gatewayId = env.VIGIL_GATEWAY_ID || 'gw-1';
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(gatewayId)) throw new ConfigError(`VIGIL_GATEWAY_ID=${gatewayId}: lower-case letters, digits, '-' or '_'`);
  const mqttUrl = env.VIGIL_MQTT_URL || undefined;
  if (mqttUrl && !/^(mqtts?|wss?|tcp):\/\//.test(mqttUrl)) throw new ConfigError(`VIGIL_MQTT_URL=${mqttUrl}: expected mqtt://host:port (or mqtts://, ws://, wss://)`);
  let influx: Config['influx'];
  if (env.VIGIL_INFLUX_URL) {
    if (!/^https?:\/\//.test(env.VIGIL_INFLUX_URL)) throw new ConfigError(`VIGIL_INFLUX_URL=${env.VIGIL_INFLUX_URL}: expected http://host:8086`);
    const bucket = env.VIGIL_INFLUX_BUCKET || 'vigil';
    influx = {
      url: env.VIGIL_INFLUX_URL,
      token: env.VIGIL_INFLUX_TOKEN || undefined,
      org: env.VIGIL_INFLUX_ORG || undefined,
      bucket,
      // InfluxQL reads name a database: in 2.x the one its DBRP mapping gives the bucket.
      database: env.VIGIL_INFLUX_DATABASE || bucket,
    };
  }
  const bacnet: Config['bacnet'] = {
    ...(env.VIGIL_BACNET_INTERFACE ? { interface: env.VIGIL_BACNET_INTERFACE } : {}),
    ...(env.VIGIL_BACNET_PORT ? { port: port(env, 'VIGIL_BACNET_PORT', 47808) } : {}),
    ...(env.VIGIL_BACNET_BROADCAST ? { broadcastAddress: env.VIGIL_BACNET_BROADCAST } : {}),
  };
  return {
    bacnet,
    influx,
    httpPort: port(env, 'VIGIL_HTTP_PORT', 8080),
    host: env.VIGIL_HOST || '127.0.0.1',
    mqttUrl,
    mqttPort: port(env, 'VIGIL_MQTT_PORT', 1883),
    mqttUsername: env.VIGIL_MQTT_USERNAME || undefined,
    mqttPassword: env.VIGIL_MQTT_PASSWORD || undefined,
    dataDir,
    siteFile,
    isDemoSite: siteFile === resolve(DEMO_SITE_FILE),
    gatewayId,
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function externalBus(config: Config): BusOptions {
  if (!config.mqttUrl) throw new ConfigError('VIGIL_MQTT_URL is required here: the split commands need a shared broker (e.g. mqtt://127.0.0.1:1883)');
  return { url: config.mqttUrl, username: config.mqttUsername, password: config.mqttPassword };
}

/**
 * Demo users have a published password, so they exist only with the bundled demo site and only
 * while every listener and device is on loopback (DESIGN.md, "Process and configuration").
 */
export function demoUsersAllowed(config: Config, site: Site): boolean {
  if (!config.isDemoSite) return false;
  const outside = [
    ...(isLoopback(config.host) ? [] : [`VIGIL_HOST=${config.host}`]),
    ...(config.mqttUrl && !isLoopback(new URL(config.mqttUrl).hostname) ? [`VIGIL_MQTT_URL=${config.mqttUrl}`] : []),
    ...(config.bacnet.interface && !isLoopback(config.bacnet.interface) ? [`VIGIL_BACNET_INTERFACE=${config.bacnet.interface}`] : []),
    ...site.devices.flatMap((d) => {
      const host = d.protocol === 'mqtt' ? (d.broker ? new URL(d.broker).hostname : null) : d.host;
      return host && !isLoopback(host) ? [`device ${d.id} at ${host}`] : [];
    }),
  ];
  if (outside.length > 0) {
    throw new ConfigError(
      `the bundled demo site seeds users with the public password 'vigil-demo', so it runs on loopback only; ` +
        `found ${outside.join(', ')}. Bind to 127.0.0.1, or give your own site file (VIGIL_SITE or --site) and create users with 'vigil user add'.`,
    );
  }
  return true;
}
