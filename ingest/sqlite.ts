/**
 * better-sqlite3 12 behind a few local types (the package ships none and @types/better-sqlite3 is not
 * installed), and the versioned, forward-only schema migrations both ingest databases use.
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement<Row = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
}

export interface Transaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
}

export interface Database {
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): Database;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
  close(): Database;
  /** SQLite's online backup; `progress` returns how many pages to copy in the next step. */
  backup(file: string, options?: { progress?: (info: { totalPages: number; remainingPages: number }) => number | undefined }): Promise<{ totalPages: number; remainingPages: number }>;
}

type DatabaseConstructor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

const require = createRequire(import.meta.url);
const BetterSqlite3 = require('better-sqlite3') as DatabaseConstructor;

export interface Migration {
  /** The `PRAGMA user_version` this migration brings the database to: 1, 2, 3 … with no gaps. */
  version: number;
  description: string;
  sql: string;
}

/** A database written by a newer Vigil: refusing it is the only way not to corrupt it. */
export class SchemaTooNewError extends Error {
  readonly code = 'VIGIL_ERR_SCHEMA_TOO_NEW';
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `${file} has schema version ${found}, but this version of Vigil knows schema versions up to ${known}: ` +
        `run a newer Vigil, or restore a backup made by this version`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/**
 * Opens (creating if needed) a SQLite file in WAL mode and migrates it forward. `synchronous=FULL`
 * because ingest acknowledges a batch to the gateway only after it is committed: an ack must mean
 * "durable", even across a power loss.
 */
export function openDatabase(file: string, migrations: readonly Migration[], opts: { queryOnly?: boolean } = {}): Database {
  mkdirSync(dirname(file), { recursive: true });
  const db = new BetterSqlite3(file, { timeout: 5000 });
  try {
    refuseIfTooNew(db, file, migrations);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file, migrations);
    if (opts.queryOnly) db.pragma('query_only = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** An existing SQLite file as it is: no migration, no pragmas (backup and restore checks). */
export function openExisting(file: string): Database {
  return new BetterSqlite3(file, { fileMustExist: true, timeout: 5000 });
}

export function userVersion(db: Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

function refuseIfTooNew(db: Database, file: string, migrations: readonly Migration[]): void {
  const found = userVersion(db);
  const known = latestVersion(migrations);
  if (found > known) throw new SchemaTooNewError(file, found, known);
}

/** Runs the missing migrations in one immediate transaction, so two processes starting together cannot both apply one. */
export function migrate(db: Database, file: string, migrations: readonly Migration[]): void {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations of ${file} must be numbered 1, 2, 3 …; found ${m.version} at position ${i + 1}`);
  });
  const run = db.transaction(() => {
    refuseIfTooNew(db, file, sorted);
    const current = userVersion(db);
    for (const m of sorted) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
  });
  run.immediate();
}
