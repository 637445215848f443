/**
 * The API's own state (DESIGN.md, "Ownership of state"): users and the audit log, in
 * `<dataDir>/api.sqlite`. The schema is versioned with `PRAGMA user_version` and migrated forward.
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isRole, type Role } from '@vigil/model';

// better-sqlite3 ships no types and @types/better-sqlite3 is not installed: the few calls we use, typed here.
interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Database {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): void;
  prepare(source: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => Database;

export const DB_FILE = 'api.sqlite';

/** Forward migrations; index + 1 is the schema version after it. Never edit one that has shipped. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     username TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     demo INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts INTEGER NOT NULL,
     username TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT,
     ok INTEGER NOT NULL,
     details TEXT
   );
   CREATE INDEX audit_log_ts ON audit_log (ts);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface User {
  username: string;
  name: string;
  role: Role;
  /** Seeded demo account: usable only while the API runs with demo users. */
  demo: boolean;
}

export interface AuditEntry {
  ts: number;
  username: string;
  action: string;
  target?: string;
  ok: boolean;
  details?: Record<string, unknown>;
}

export class SchemaTooNewError extends Error {
  readonly code = 'VIGIL_ERR_SCHEMA_TOO_NEW';
}

export class UserStore {
  private readonly db: Database;
  private readonly stmts: Record<'user' | 'hash' | 'insertUser' | 'audit' | 'auditTail' | 'count', Statement>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, DB_FILE);
    this.db = new BetterSqlite3(file);
    try {
      this.db.pragma('journal_mode = WAL');
      // `vigil user add` may write while the API runs: wait for the lock instead of failing.
      this.db.pragma('busy_timeout = 5000');
      this.migrate(file);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.stmts = {
      user: this.db.prepare('SELECT username, name, role, demo FROM users WHERE username = ?'),
      hash: this.db.prepare('SELECT password_hash AS hash FROM users WHERE username = ?'),
      insertUser: this.db.prepare('INSERT INTO users (username, name, role, password_hash, demo, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      audit: this.db.prepare('INSERT INTO audit_log (ts, username, action, target, ok, details) VALUES (?, ?, ?, ?, ?, ?)'),
      auditTail: this.db.prepare('SELECT ts, username, action, target, ok, details FROM audit_log ORDER BY id DESC LIMIT ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM users'),
    };
  }

  private migrate(file: string): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new SchemaTooNewError(
        `${file} has schema version ${version}, but this Vigil knows only up to ${SCHEMA_VERSION}: it was written by a newer Vigil. Run that version, or restore a backup made for this one.`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  user(username: string): User | undefined {
    const row = this.stmts.user.get(username) as { username: string; name: string; role: string; demo: number } | undefined;
    if (!row || !isRole(row.role)) return undefined;
    return { username: row.username, name: row.name, role: row.role, demo: row.demo === 1 };
  }

  passwordHash(username: string): string | undefined {
    return (this.stmts.hash.get(username) as { hash: string } | undefined)?.hash;
  }

  /** False when the username is taken. */
  insertUser(user: { username: string; name: string; role: Role; passwordHash: string; demo?: boolean }): boolean {
    if (this.user(user.username)) return false;
    this.stmts.insertUser.run(user.username, user.name, user.role, user.passwordHash, user.demo ? 1 : 0, Date.now());
    return true;
  }

  userCount(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }

  audit(entry: Omit<AuditEntry, 'ts'> & { ts?: number }): void {
    this.stmts.audit.run(
      entry.ts ?? Date.now(),
      entry.username,
      entry.action,
      entry.target ?? null,
      entry.ok ? 1 : 0,
      entry.details === undefined ? null : JSON.stringify(entry.details),
    );
  }

  /** The newest entries first. */
  recentAudit(limit = 100): AuditEntry[] {
    const rows = this.stmts.auditTail.all(limit) as { ts: number; username: string; action: string; target: string | null; ok: number; details: string | null }[];
    return rows.map((r) => ({
      ts: r.ts,
      username: r.username,
      action: r.action,
      ...(r.target === null ? {} : { target: r.target }),
      ok: r.ok === 1,
      ...(r.details === null ? {} : { details: JSON.parse(r.details) as Record<string, unknown> }),
    }));
  }

  close(): void {
    this.db.close();
  }
}
