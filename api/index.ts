/**
 * @vigil/api: HTTP and socket.io for the dashboard, auth and audit. It reads ingest's state through
 * a `StateReader` and changes state only by sending commands over the bus (DESIGN.md, "Ownership of state").
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { indexSite, type BusOptions, type Role, type Site } from '@vigil/model';
import { BusLink } from './bus.ts';
import type { ApiContext } from './context.ts';
import { ApiError, errorBody } from './errors.ts';
import type { StateReader } from './reader.ts';
import { UserStore } from './store.ts';
import { createUser, DEMO_PASSWORD, LoginLockout, seedDemoUsers, UserInputError } from './users.ts';
import { alarmsPlugin } from './plugins/alarms.ts';
import { assetsPlugin } from './plugins/assets.ts';
import { authPlugin } from './plugins/auth.ts';
import { SECURITY_HEADERS, serveDashboard } from './plugins/dashboard.ts';
import { healthPlugin } from './plugins/health.ts';
import { livePlugin } from './plugins/live.ts';
import { pointsPlugin } from './plugins/points.ts';
import { simulatorsPlugin } from './plugins/simulators.ts';
import { ticketsPlugin } from './plugins/tickets.ts';

export { DEMO_PASSWORD };
export { API_ERRORS, type ApiErrorCode } from './errors.ts';
export type { StateReader, StoredSample } from './reader.ts';
export type { LiveEvents } from './plugins/live.ts';

export interface ApiOptions {
  site: Site;
  bus: BusOptions;
  /** Holds `api.sqlite` (users and the audit log). */
  dataDir: string;
  host: string;
  port: number;
  log: Logger;
  /** Signs the bearer tokens; at least 16 characters. */
  secret: string;
  /** Seed the demo accounts (password `vigil-demo`); refused unless `host` is loopback. */
  demoUsers: boolean;
  /** The built dashboard (`dashboard/dist`). */
  dashboardDir?: string;
  reader: StateReader;
  /** How long a command or simulator request may wait for its answer; default 5000 ms. */
  commandTimeoutMs?: number;
}

const DEFAULTS = {
  commandTimeoutMs: 5000, // DESIGN.md: 504 if no answer within 5 s
  bodyLimit: 64 * 1024, // 64 KiB: every body we take is a few fields
} as const;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** `password` from `/password`, `limit` from `/limit`, `params.a` from `/params/a`; the missing property when one is missing. */
function fieldOf(error: { instancePath?: string; params?: Record<string, unknown> }, context: string | undefined): string {
  const path = (error.instancePath ?? '').split('/').filter(Boolean);
  const missing = error.params?.missingProperty;
  if (typeof missing === 'string') path.push(missing);
  return path.length > 0 ? path.join('.') : (context ?? 'body');
}

function handleError(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(errorBody(err.code, err.message, err.field));
    if (err.validation && err.validation.length > 0) {
      const first = err.validation[0]!;
      const field = fieldOf(first as { instancePath?: string; params?: Record<string, unknown> }, err.validationContext);
      const allowed = (first.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
      const message =
        typeof first.params?.missingProperty === 'string'
          ? `${field} is required`
          : `${field} ${first.message ?? 'is invalid'}${Array.isArray(allowed) ? `: ${allowed.join(', ')}` : ''}`;
      return reply.code(400).send(errorBody('VIGIL_ERR_BAD_REQUEST', message, field));
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.code(400).send(errorBody('VIGIL_ERR_BAD_JSON', `the body must be a JSON document sent as application/json (${err.message})`, 'body'));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send(errorBody('VIGIL_ERR_PAYLOAD_TOO_LARGE', `the body is larger than ${DEFAULTS.bodyLimit} bytes`, 'body'));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // e.g. a body that is not JSON reaching the parser as a SyntaxError with status 400.
      return reply.code(status === 404 ? 404 : 400).send(errorBody(status === 404 ? 'VIGIL_ERR_NOT_FOUND' : 'VIGIL_ERR_BAD_REQUEST', err.message));
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('VIGIL_ERR_INTERNAL', 'internal error; the API log has the details'));
  });
}

/** The app with every route, connected (or connecting) to the bus; ready, not listening. */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  if (typeof opts.secret !== 'string' || opts.secret.length < 16) throw new Error('the API needs a token secret of at least 16 characters (VIGIL_SECRET)');
  if (opts.demoUsers && !LOOPBACK.has(opts.host))
    throw new Error(`demo users (password '${DEMO_PASSWORD}') are allowed only while the API listens on loopback, but the host is ${opts.host}: add real users with \`vigil user add\` and start without demo users`);

  const log = opts.log;
  const users = new UserStore(opts.dataDir);
  let bus: BusLink | undefined;
  try {
    if (opts.demoUsers) {
      const created = await seedDemoUsers(users);
      log.warn({ users: ['operator', 'technician', 'technician2', 'security', 'engineer', 'manager', 'admin'], created }, `demo users are enabled, all with the password '${DEMO_PASSWORD}': for a demo on this machine only`);
    }
    bus = new BusLink({ site: opts.site.site.id, bus: opts.bus, log, commandTimeoutMs: opts.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs });

    const ctx: ApiContext = {
      site: opts.site,
      siteIndex: indexSite(opts.site),
      reader: opts.reader,
      users,
      bus,
      secret: opts.secret,
      demoUsers: opts.demoUsers,
      lockout: new LoginLockout(),
      log,
    };

    const app = Fastify({
      loggerInstance: opts.log as FastifyBaseLogger,
      bodyLimit: DEFAULTS.bodyLimit,
      forceCloseConnections: true,
      // Errors the router raises before any route (a malformed URL) answer in our shape too.
      frameworkErrors: (err, _request, reply: FastifyReply) => {
        void reply.code(400).headers(SECURITY_HEADERS).send(errorBody('VIGIL_ERR_BAD_REQUEST', err.message, 'url'));
      },
    });
    app.decorateRequest('user', null);
    // JSON only: a text body is refused as "not JSON" instead of reaching a route as a string.
    app.removeContentTypeParser('text/plain');
    handleError(app);
    await serveDashboard(app, opts.dashboardDir);
    await app.register(healthPlugin, { prefix: '/api/health', ctx });
    await app.register(authPlugin, { prefix: '/api', ctx });
    await app.register(assetsPlugin, { prefix: '/api/assets', ctx });
    await app.register(pointsPlugin, { prefix: '/api/points', ctx });
    await app.register(alarmsPlugin, { prefix: '/api/alarms', ctx });
    await app.register(ticketsPlugin, { prefix: '/api/tickets', ctx });
    await app.register(simulatorsPlugin, { prefix: '/api/simulators', ctx });
    await app.register(livePlugin, { ctx });
    const link = bus;
    app.addHook('onClose', async () => {
      await link.close();
      users.close();
    });
    await app.ready();
    return app;
  } catch (err) {
    await bus?.close();
    users.close();
    throw err;
  }
}

/** Builds the app and listens on `host:port`. */
export async function startApi(opts: ApiOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildApi(opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}

/**
 * Adds a user to `<dataDir>/api.sqlite` (for `vigil user add`). Throws an Error whose message says
 * what to change for a bad username, role or password (at least 8 characters), or a taken username.
 */
export async function addUser(dataDir: string, user: { username: string; name?: string; role: Role; password: string }): Promise<void> {
  const store = new UserStore(dataDir);
  try {
    await createUser(store, user);
    store.audit({ username: '(cli)', action: 'user.add', target: user.username, ok: true, details: { role: user.role } });
  } catch (err) {
    if (err instanceof UserInputError) store.audit({ username: '(cli)', action: 'user.add', target: String(user.username).slice(0, 64), ok: false, details: { error: err.code } });
    throw err;
  } finally {
    store.close();
  }
}
