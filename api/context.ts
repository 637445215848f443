/** What every area plugin shares: the site, the reader, the bus link, the user store and the auth check. */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import { can, indexSite, type Permission, type Role, type Site } from '@vigil/model';
import type { BusLink } from './bus.ts';
import { ApiError } from './errors.ts';
import type { StateReader } from './reader.ts';
import type { UserStore } from './store.ts';
import { bearer, verifyToken } from './tokens.ts';
import type { LoginLockout } from './users.ts';

export interface AuthUser {
  username: string;
  name: string;
  role: Role;
  /** When the token expires (ms since the epoch). */
  exp: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
  }
}

export interface ApiContext {
  site: Site;
  siteIndex: ReturnType<typeof indexSite>;
  reader: StateReader;
  users: UserStore;
  bus: BusLink;
  secret: string;
  demoUsers: boolean;
  lockout: LoginLockout;
  log: Logger;
}

/** The user behind a token, or null: the user must still exist, and a demo account only counts while demo users are on. */
export function authenticate(ctx: ApiContext, token: unknown): AuthUser | null {
  const payload = verifyToken(ctx.secret, token);
  if (!payload) return null;
  const user = ctx.users.user(payload.sub);
  if (!user || (user.demo && !ctx.demoUsers)) return null;
  // The role comes from the store, so a changed role takes effect without a new login.
  return { username: user.username, name: user.name, role: user.role, exp: payload.exp };
}

/** An onRequest hook: 401 without a valid token, 403 when the role lacks the permission. Runs before body validation. */
export function requireUser(ctx: ApiContext, permission?: Permission): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const user = authenticate(ctx, bearer(request.headers.authorization));
    if (!user) throw new ApiError('VIGIL_ERR_UNAUTHORIZED', 'a valid token is required: log in at POST /api/auth/login and send Authorization: Bearer <token>');
    if (permission && !can(user.role, permission)) throw new ApiError('VIGIL_ERR_FORBIDDEN', `the role ${user.role} may not do this (needs ${permission})`);
    request.user = user;
  };
}

/** The authenticated user of a route behind `requireUser`. */
export function userOf(request: FastifyRequest): AuthUser {
  if (!request.user) throw new ApiError('VIGIL_ERR_UNAUTHORIZED', 'a valid token is required');
  return request.user;
}

/** Runs a state-changing action and writes its audit entry, whether it worked or not. */
export async function audited<T>(ctx: ApiContext, entry: { username: string; action: string; target: string; details?: Record<string, unknown> }, action: () => Promise<T>): Promise<T> {
  try {
    const result = await action();
    ctx.users.audit({ ...entry, ok: true });
    return result;
  } catch (err) {
    const code = err instanceof ApiError ? err.code : 'VIGIL_ERR_INTERNAL';
    ctx.users.audit({ ...entry, ok: false, details: { ...entry.details, error: code } });
    throw err;
  }
}
