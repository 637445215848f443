/**
 * The embedded MQTT broker (aedes) that `vigil start` runs when no VIGIL_MQTT_URL is set. It refuses
 * anonymous clients and enforces the topic ACLs of bus-acl.ts: security by default, even on loopback.
 */
import { createServer, type Server } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BusOptions } from '@vigil/model';
import { mayPublish, maySubscribe, type BusRole } from './bus-acl.ts';

export interface EmbeddedBroker {
  url: string;
  /** Bus options for one component, with its own credentials. */
  credentials(role: Exclude<BusRole, 'integration'>): BusOptions;
  close(): Promise<void>;
}

export interface BrokerOptions {
  host: string;
  port: number;
  site: string;
  /** Signs the component passwords: they change when the secret does. */
  secret: string;
  /** An extra full-access account for tools (VIGIL_MQTT_USERNAME / VIGIL_MQTT_PASSWORD). */
  integrationUser?: { username: string; password: string };
  log: Logger;
}

const componentPassword = (secret: string, role: string) => createHmac('sha256', secret).update(`vigil-mqtt:${role}`).digest('base64url');

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startEmbeddedBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const accounts = new Map<string, { password: string; role: BusRole }>();
  for (const role of ['gateway', 'ingest', 'api', 'sim'] as const) {
    accounts.set(`vigil-${role}`, { password: componentPassword(opts.secret, role), role });
  }
  if (opts.integrationUser) accounts.set(opts.integrationUser.username, { password: opts.integrationUser.password, role: 'integration' });
  const roleOf = new WeakMap<object, BusRole>();
  const log = opts.log.child({ component: 'broker' });

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const account = username ? accounts.get(username) : undefined;
      if (!account || !password || !sameText(password.toString('utf8'), account.password)) {
        log.warn({ clientId: client.id, username }, 'MQTT connection refused: bad username or password');
        const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
        return done(err, false);
      }
      roleOf.set(client, account.role);
      done(null, true);
    },
    authorizePublish(client, packet, callback) {
      const role = client ? roleOf.get(client) : undefined;
      if (!role || !mayPublish(role, opts.site, packet.topic)) {
        log.warn({ clientId: client?.id, topic: packet.topic }, 'MQTT publish refused by ACL');
        return callback(new Error('not authorised'));
      }
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const role = roleOf.get(client);
      if (!role || !maySubscribe(role, opts.site, sub.topic)) {
        log.warn({ clientId: client.id, filter: sub.topic }, 'MQTT subscription refused by ACL');
        return callback(null, null);
      }
      callback(null, sub);
    },
  });

  // No Nagle delay: small QoS 1 publishes and their acks go out at once (ingest/replay.test.ts).
  const server: Server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const url = `mqtt://${opts.host}:${opts.port}`;
  log.info({ url }, 'embedded MQTT broker listening');

  return {
    url,
    credentials: (role) => ({ url, username: `vigil-${role}`, password: componentPassword(opts.secret, role) }),
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
