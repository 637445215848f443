/**
 * The last telemetry `seq` used per device, kept on disk so it keeps rising across restarts:
 * ingest drops a batch whose seq it has already committed, so a seq that went back would lose data.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class SeqStore {
  private readonly seqs: Map<string, number>;
  private readonly file: string;

  /** Reads `<dir>/seq.json` (absent: every device starts at 0). A corrupt file is refused, not reset. */
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'seq.json');
    this.seqs = new Map(Object.entries(SeqStore.read(this.file)));
  }

  private static read(file: string): Record<string, number> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    const valid =
      parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.values(parsed).every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
    if (!valid) throw new Error(`${file} is not a JSON object of device → last seq; fix or remove it (removing it restarts every seq at 1, which ingest would drop as duplicates until the gateway sees its acks)`);
    return parsed as Record<string, number>;
  }

  current(device: string): number {
    return this.seqs.get(device) ?? 0;
  }

  /** The next seq for a device, already on disk when it returns. */
  next(device: string): number {
    const seq = this.current(device) + 1;
    this.seqs.set(device, seq);
    this.save();
    return seq;
  }

  /** Ingest has committed up to `seq`: never hand out a seq at or below it again (a lost seq file). */
  raiseTo(device: string, seq: number): void {
    if (seq <= this.current(device)) return;
    this.seqs.set(device, seq);
    this.save();
  }

  /**
   * Write a temp file, fsync, rename: a crash leaves the old file or the new one, never half of one.
   * Synchronous so that two devices never interleave their writes and the seq is durable before
   * the batch that carries it is published.
   */
  private save(): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(Object.fromEntries(this.seqs)));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
