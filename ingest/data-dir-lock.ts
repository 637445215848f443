/**
 * `<dataDir>/ingest.lock`: held by a running ingest (and by a restore while it works), so a restore
 * never replaces the databases under a live writer and two ingests never share one data dir.
 * It holds the owner's pid; a lock left by a process that died (kill -9) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'ingest.lock';

export class DataDirLockedError extends Error {
  readonly code = 'VIGIL_ERR_DATA_DIR_LOCKED';
  constructor(
    readonly file: string,
    readonly owner: { pid: number; host: string; purpose: string; since: number },
  ) {
    super(
      `${file}: the data directory is in use by ${owner.purpose} (pid ${owner.pid} on ${owner.host} since ${new Date(owner.since).toISOString()}); ` +
        `stop it first (if no such process runs, delete ${file})`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** Locks taken by this process: its own pid is alive, so the file alone cannot tell. */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dataDir: string, purpose: 'ingest' | 'restore'): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  const owner = { pid: process.pid, host: hostname(), purpose, since: Date.now() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // `wx`: created only if absent, so two starters cannot both win.
      writeFileSync(file, JSON.stringify(owner) + '\n', { flag: 'wx' });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: typeof owner | undefined;
    try {
      held = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      held = undefined; // unreadable (a crash while writing it): stale
    }
    const stale = !held || (held.host === owner.host && held.pid !== process.pid && !alive(held.pid)) || (held.pid === process.pid && !heldHere.has(file));
    if (!stale) throw new DataDirLockedError(file, held!);
    rmSync(file, { force: true });
  }
  throw new Error(`${file}: could not take the lock`);
}
