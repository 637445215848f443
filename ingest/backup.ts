/**
 * `vigil backup FILE` and `vigil restore FILE`: both databases in one archive, taken with SQLite's
 * online backup so Vigil keeps running meanwhile.
 *
 * The archive is a plain POSIX tar (`tar tf FILE` lists it) of `manifest.json`, `state.sqlite` and
 * `timeseries.sqlite`; each database is a consistent snapshot, copied in one backup step under one
 * read transaction, which in WAL mode does not block ingest's writes (a step-by-step copy would start
 * over every time ingest commits). The two snapshots are taken one after the other, so the
 * time series may hold a few samples newer than the state: harmless, the gateway replays from the
 * state's committed seq and the time-series write is idempotent.
 */
import { closeSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { latestVersion, openDatabase, openExisting, SchemaTooNewError, userVersion, type Migration } from './sqlite.ts';
import { STATE_FILE, STATE_MIGRATIONS } from './state-store.ts';
import { TIMESERIES_FILE, TIMESERIES_MIGRATIONS } from './sqlite-timeseries.ts';
import { lockDataDir } from './data-dir-lock.ts';

const DATABASES: ReadonlyArray<{ name: string; migrations: readonly Migration[] }> = [
  { name: STATE_FILE, migrations: STATE_MIGRATIONS },
  { name: TIMESERIES_FILE, migrations: TIMESERIES_MIGRATIONS },
];
const MANIFEST = 'manifest.json';
const FORMAT = 'vigil-backup';
const FORMAT_VERSION = 1;
/** A backup step this large copies the whole database at once (see above). */
const ALL_PAGES = 0x7fffffff;

export interface BackupSummary {
  file: string;
  createdAt: number;
  databases: Array<{ name: string; schemaVersion: number; bytes: number }>;
}

interface Manifest {
  format: string;
  formatVersion: number;
  createdAt: number;
  databases: BackupSummary['databases'];
}

export class BackupError extends Error {
  readonly code = 'VIGIL_ERR_BACKUP';
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Writes `file` (replacing it only once the new archive is complete). */
export async function backupDatabases(dataDir: string, file: string): Promise<BackupSummary> {
  const work = mkdtempSync(join(dirname(file), `.${basename(file)}.`));
  try {
    const databases: BackupSummary['databases'] = [];
    for (const { name, migrations } of DATABASES) {
      // openDatabase refuses a schema newer than this code: such a backup could not be restored.
      const db = openDatabase(join(dataDir, name), migrations);
      try {
        const copy = join(work, name);
        await db.backup(copy, { progress: () => ALL_PAGES });
        databases.push({ name, schemaVersion: userVersion(db), bytes: statSync(copy).size });
      } finally {
        db.close();
      }
    }
    const manifest: Manifest = { format: FORMAT, formatVersion: FORMAT_VERSION, createdAt: Date.now(), databases };
    const partial = join(work, 'archive.tar');
    await writeTar(partial, [
      { name: MANIFEST, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') },
      ...databases.map((d) => ({ name: d.name, path: join(work, d.name) })),
    ]);
    renameSync(partial, file);
    return { file, createdAt: manifest.createdAt, databases };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Replaces both databases of `dataDir` with those in `file`. Refuses while ingest runs on `dataDir`
 * (DataDirLockedError), and refuses an archive that is not a Vigil backup or holds a schema newer
 * than this code (SchemaTooNewError). Nothing is replaced unless both databases check out. Stop the
 * API as well: it would keep reading the replaced files.
 */
export async function restoreDatabases(file: string, dataDir: string): Promise<BackupSummary> {
  const release = lockDataDir(dataDir, 'restore');
  const staged: string[] = [];
  try {
    const entries = readTarIndex(file);
    const manifestEntry = entries.get(MANIFEST);
    if (!manifestEntry) throw new BackupError(`${file} is not a Vigil backup: it has no ${MANIFEST}`);
    const manifest = JSON.parse(readRange(file, manifestEntry.offset, manifestEntry.size).toString('utf8')) as Manifest;
    if (manifest.format !== FORMAT) throw new BackupError(`${file} is not a Vigil backup (format '${manifest.format}')`);
    if (manifest.formatVersion > FORMAT_VERSION) {
      throw new BackupError(`${file} is a backup format ${manifest.formatVersion}; this version of Vigil reads format ${FORMAT_VERSION}: run a newer Vigil`);
    }
    for (const { name, migrations } of DATABASES) {
      const entry = entries.get(name);
      if (!entry) throw new BackupError(`${file} has no ${name}`);
      const target = join(dataDir, `.restore-${name}`);
      staged.push(target);
      await pipeline(createReadStream(file, { start: entry.offset, end: entry.offset + entry.size - 1 }), createWriteStream(target));
      const db = openExisting(target);
      try {
        const found = userVersion(db);
        if (found > latestVersion(migrations)) throw new SchemaTooNewError(`${file} (${name})`, found, latestVersion(migrations));
        const check = db.pragma('quick_check', { simple: true });
        if (check !== 'ok') throw new BackupError(`${file}: ${name} is damaged (${String(check)})`);
      } finally {
        db.close();
      }
    }
    for (const { name } of DATABASES) {
      const live = join(dataDir, name);
      // A leftover WAL of the old database would be replayed into the restored one and corrupt it.
      for (const suffix of ['-wal', '-shm', '-journal']) rmSync(live + suffix, { force: true });
      renameSync(join(dataDir, `.restore-${name}`), live);
    }
    return { file, createdAt: manifest.createdAt, databases: manifest.databases };
  } finally {
    for (const path of staged) if (existsSync(path)) rmSync(path, { force: true });
    release();
  }
}

// A minimal POSIX ustar writer and reader: enough for a few regular files, no dependency.

const BLOCK = 512;

interface TarInput {
  name: string;
  data?: Buffer;
  path?: string;
}

function tarHeader(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const octal = (value: number, offset: number, length: number) => h.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
  h.write(name, 0, 100, 'utf8');
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  if (size < 8 ** 11) octal(size, 124, 12);
  else {
    // GNU base-256 for sizes of 8 GiB and more.
    h[124] = 0x80;
    h.writeBigUInt64BE(BigInt(size), 124 + 4);
  }
  octal(Math.floor(mtime / 1000), 136, 12);
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

async function writeTar(file: string, inputs: TarInput[]): Promise<void> {
  const out = createWriteStream(file);
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const now = Date.now();
  for (const input of inputs) {
    const size = input.data ? input.data.length : statSync(input.path!).size;
    await write(tarHeader(input.name, size, now));
    if (input.data) await write(input.data);
    else for await (const chunk of createReadStream(input.path!)) await write(chunk as Buffer);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) await write(Buffer.alloc(pad));
  }
  await write(Buffer.alloc(BLOCK * 2));
  out.end();
  await once(out, 'finish');
}

function readRange(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, offset);
    if (n !== length) throw new BackupError(`${file} is truncated`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** name → where its data starts and how long it is. */
function readTarIndex(file: string): Map<string, { offset: number; size: number }> {
  const total = statSync(file).size;
  const entries = new Map<string, { offset: number; size: number }>();
  for (let offset = 0; offset + BLOCK <= total; ) {
    const h = readRange(file, offset, BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== parseInt(h.toString('ascii', 148, 156).replace(/\0.*$/s, '').trim(), 8)) throw new BackupError(`${file} is not a Vigil backup (not a tar archive)`);
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = h[124]! & 0x80 ? Number(h.readBigUInt64BE(124 + 4)) : parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (offset + BLOCK + size > total) throw new BackupError(`${file} is truncated`);
    entries.set(name, { offset: offset + BLOCK, size });
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}
