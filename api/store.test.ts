/** Users, passwords, tokens and the schema of api.sqlite. */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { addUser, buildApi } from './index.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { DB_FILE, SCHEMA_VERSION, UserStore } from './store.ts';
import { issueToken, signToken, verifyToken } from './tokens.ts';
import { demoSite, memoryReader, SECRET, silent, tempDir } from './testbed.ts';

const options = (dataDir: string, demoUsers: boolean) => ({
  site: demoSite,
  bus: { url: 'mqtt://127.0.0.1:1' }, // nothing listens: the API must still build and serve
  dataDir,
  host: '127.0.0.1',
  port: 0,
  log: silent,
  secret: SECRET,
  demoUsers,
  reader: memoryReader(),
});

describe('users', () => {
  it('seeds nothing without demo users; addUser then login works and is audited', async () => {
    const dir = tempDir();
    try {
      const app = await buildApi(options(dir.path, false));
      try {
        const store = new UserStore(dir.path);
        expect(store.userCount()).toBe(0);
        store.close();

        await addUser(dir.path, { username: 'li.wei', name: 'Li Wei', role: 'technician', password: 'correct horse' });
        const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'li.wei', password: 'correct horse' } });
        expect(res.statusCode).toBe(200);
        expect(res.json().user).toEqual({ username: 'li.wei', name: 'Li Wei', role: 'technician' });

        // With the broker unreachable, health still answers: bus down.
        const health = await app.inject({ url: '/api/health' });
        expect(health.statusCode).toBe(503);
        expect(health.json().components.bus.status).toBe('down');
        // A command cannot be heard while the bus is down: said at once, not after a time-out.
        const admin = await (async () => {
          await addUser(dir.path, { username: 'boss', role: 'admin', password: 'long enough' });
          return (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'boss', password: 'long enough' } })).json().token as string;
        })();
        const ack = await app.inject({ method: 'POST', url: '/api/alarms/a-1/ack', headers: { authorization: `Bearer ${admin}` }, payload: {} });
        expect(ack.statusCode).toBe(503);
        expect(ack.json().error.code).toBe('VIGIL_ERR_BUS_UNAVAILABLE');
      } finally {
        await app.close();
      }
      const store = new UserStore(dir.path);
      expect(store.recentAudit(10).map((e) => `${e.action} ${e.target} ${e.ok}`)).toEqual(
        expect.arrayContaining(['user.add li.wei true', 'login li.wei true', 'alarm.ack a-1 false']),
      );
      store.close();
    } finally {
      dir.remove();
    }
  });

  it('refuses a short password, an unknown role, a bad username and a taken one, saying which', async () => {
    const dir = tempDir();
    try {
      await expect(addUser(dir.path, { username: 'ann', role: 'operator', password: 'short' })).rejects.toThrow(/8/);
      await expect(addUser(dir.path, { username: 'ann', role: 'janitor' as never, password: 'long enough' })).rejects.toThrow(/role 'janitor'/);
      await expect(addUser(dir.path, { username: 'Ann Smith', role: 'operator', password: 'long enough' })).rejects.toThrow(/username/);
      await addUser(dir.path, { username: 'ann', role: 'operator', password: 'long enough' });
      await expect(addUser(dir.path, { username: 'ann', role: 'admin', password: 'long enough' })).rejects.toThrow(/already exists/);
    } finally {
      dir.remove();
    }
  });

  it('refuses demo users on a listener that is not loopback', async () => {
    const dir = tempDir();
    try {
      await expect(buildApi({ ...options(dir.path, true), host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    } finally {
      dir.remove();
    }
  });
});

describe('api.sqlite schema', () => {
  it('is migrated to the current version and refuses a newer one with a clear message', () => {
    const dir = tempDir();
    try {
      new UserStore(dir.path).close();
      const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => { pragma(s: string, o?: object): unknown; close(): void };
      const db = new Database(join(dir.path, DB_FILE));
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => new UserStore(dir.path)).toThrow(/newer Vigil/);
    } finally {
      dir.remove();
    }
  });
});

describe('passwords and tokens', () => {
  it('hashes with a fresh salt and verifies', async () => {
    const a = await hashPassword('vigil-demo');
    const b = await hashPassword('vigil-demo');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$\d+\$8\$1\$/);
    expect(await verifyPassword('vigil-demo', a)).toBe(true);
    expect(await verifyPassword('vigil-demo!', a)).toBe(false);
    expect(await verifyPassword('vigil-demo', 'plain')).toBe(false);
  });

  it('accepts only its own unexpired, unaltered tokens', () => {
    const { token, payload } = issueToken(SECRET, 'ann', 'operator');
    expect(verifyToken(SECRET, token)).toEqual(payload);
    expect(payload.exp - payload.iat).toBe(12 * 3600_000);
    expect(verifyToken('other-secret-0123456789', token)).toBeNull();
    expect(verifyToken(SECRET, token, payload.exp)).toBeNull();
    const [body, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url');
    expect(verifyToken(SECRET, `${forged}.${sig}`)).toBeNull();
    expect(verifyToken(SECRET, `${body}.${sig}.x`)).toBeNull();
    expect(verifyToken(SECRET, signToken(SECRET, { ...payload, role: 'janitor' as never }))).toBeNull();
    expect(verifyToken(SECRET, undefined)).toBeNull();
  });
});
