/**
 * Bearer tokens: `base64url(payload).base64url(HMAC-SHA256(secret, base64url(payload)))`.
 * The payload is `{ sub, role, iat, exp }` with times in ms since the epoch, like every time on our wire.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isRole, type Role } from '@vigil/model';

export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000; // 12 h

export interface TokenPayload {
  sub: string;
  role: Role;
  iat: number;
  exp: number;
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

export function signToken(secret: string, payload: TokenPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${sign(secret, body)}`;
}

export function issueToken(secret: string, username: string, role: Role, now = Date.now()): { token: string; payload: TokenPayload } {
  const payload = { sub: username, role, iat: now, exp: now + TOKEN_LIFETIME_MS };
  return { token: signToken(secret, payload), payload };
}

/** The payload of a well-signed, unexpired token; null for anything else. Never throws. */
export function verifyToken(secret: string, token: unknown, now = Date.now()): TokenPayload | null {
  if (typeof token !== 'string' || token.length > 2048) return null;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(sign(secret, body), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (payload === null || typeof payload !== 'object') return null;
  const { sub, role, iat, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || !isRole(role) || typeof iat !== 'number' || typeof exp !== 'number') return null;
  if (exp <= now) return null;
  return { sub, role, iat, exp };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
