/**
 * The analytics sink's spill directory: sealed batches that do not fit in
 * memory while the store is away wait here, one file per batch, and survive
 * a restart (the next sink picks them up, oldest first).
 *
 * Why asynchronous: the sink runs on the edge's event loop in one process,
 * and a synchronous write of an 8 MiB batch would stall every socket for as
 * long as the disk takes. Every change to the directory (write, rewrite,
 * rename, delete) goes through one queue, in order, so a batch that is
 * stored while its file is still being written is deleted only after the
 * write, and a start-up listing never sees this run's own files.
 *
 * Files are written under a `.tmp` name and renamed, so a crash mid-write
 * leaves no truncated batch to insert; leftovers are removed at start.
 * Names: `<batch id>.tsv`, or `<batch id>.suspect.tsv` for batches of
 * redelivered events not yet checked against the store. Batch ids sort in
 * the order batches were sealed, across runs (they start with the time).
 *
 * Bounded: the bytes of files written or being written never pass
 * `maxBytes`; `write` refuses past it and the sink drops the batch.
 */
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** A batch found in the spill directory at start. */
export interface SpilledFile {
  id: string;
  rows: number;
  bytes: number;
  file: string;
  suspect: boolean;
}

/** A spill started by `SpillDir.write`. */
export interface SpillWrite {
  /** The batch's file from now on. */
  file: string;
  /** True once the file is complete on disk; false when the write failed (logged, its bytes given back). */
  written: Promise<boolean>;
}

const suffix = '.tsv';
const suspectSuffix = '.suspect.tsv';
const tmpSuffix = '.tmp';

/** True for a missing file or directory. */
const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** One directory of spilled batches, written and read without blocking the event loop. */
export class SpillDir {
  /** Batches sent to the directory since start (a counter; failed writes are logged, not taken back). */
  spilled = 0;
  /** Bytes of spill files on disk or being written. */
  private total = 0;
  /** The size of every file counted in `total`. */
  private readonly sizes = new Map<string, number>();
  /** The last queued change; the next one runs after it, whatever its outcome. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly logger?: Logger,
    /** Who spills, in log lines (the webhook queue reuses this directory type). */
    private readonly label = 'analytics',
  ) {}

  /** Bytes of spill files on disk or being written. */
  get bytes(): number {
    return this.total;
  }

  /**
   * Starts writing a batch's bytes to its file; they count against the limit
   * at once. Undefined, and nothing written, when they would pass it (unless
   * `beyondLimit`: a stopping sink keeps what it holds rather than lose it).
   */
  write(id: string, suspect: boolean, payload: Buffer, beyondLimit = false): SpillWrite | undefined {
    if (!beyondLimit && this.total + payload.length > this.maxBytes) return undefined;
    const file = this.fileOf(id, suspect);
    this.count(file, payload.length);
    this.spilled++;
    const written = this.queued(async () => {
      try {
        await mkdir(this.dir, { recursive: true });
        await this.replace(file, payload);
      } catch (err) {
        this.uncount(file);
        await unlink(file + tmpSuffix).catch(() => {});
        throw err;
      }
    }).then(
      () => true,
      (err: unknown) => {
        this.logger?.error({ err, batch: id }, `${this.label} spill failed; the batch is dropped unless it is next to insert`);
        return false;
      },
    );
    return { file, written };
  }

  /** A spill file's bytes, read without blocking; undefined when the file is gone. */
  async read(file: string): Promise<Buffer | undefined> {
    try {
      return await readFile(file);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Marks a suspect batch's file as checked against the store, first
   * replacing its rows with `payload` when some were left out; resolves with
   * the file's new name. Crash-safe: at every step exactly one complete file
   * holds the batch. Rejects when the file's write had failed.
   */
  settle(file: string, id: string, payload: Buffer | undefined): Promise<string> {
    const settled = this.fileOf(id, false);
    return this.queued(async () => {
      const size = this.sizes.get(file);
      if (size === undefined) throw new Error(`${this.label} spill file ${file} was never written`);
      if (payload) await this.replace(file, payload);
      if (settled !== file) await rename(file, settled);
      this.uncount(file);
      this.count(settled, payload ? payload.length : size);
      return settled;
    });
  }

  /** Deletes a file whose batch is done with (after any write of it still queued). */
  remove(file: string): void {
    this.uncount(file);
    void this.queued(() => unlink(file)).catch((err: unknown) => {
      if (!isMissing(err)) this.logger?.warn({ err, file }, `${this.label} spill file could not be deleted`);
    });
  }

  /** Forgets a file that disappeared (another process sharing the directory took it). */
  forget(file: string): void {
    this.uncount(file);
  }

  /** Resolves once every change queued so far is done. */
  async idle(): Promise<void> {
    await this.tail;
  }

  /**
   * The batches an earlier run left, oldest first, with their rows counted,
   * and their bytes counted against the limit. Never rejects: a directory
   * that cannot be read is logged and treated as empty.
   */
  async recover(): Promise<SpilledFile[]> {
    let names: string[];
    try {
      // Queued, so the listing comes before any file of this run.
      names = await this.queued(() => readdir(this.dir));
    } catch (err) {
      if (!isMissing(err)) this.logger?.error({ err, dir: this.dir }, `${this.label} spill directory unreadable; not recovering it`);
      return [];
    }
    for (const name of names) if (name.endsWith(tmpSuffix)) void this.queued(() => unlink(join(this.dir, name))).catch(() => {});
    const found: SpilledFile[] = [];
    for (const name of names.filter((n) => n.endsWith(suffix)).sort()) {
      const file = join(this.dir, name);
      try {
        const payload = await readFile(file);
        const suspect = name.endsWith(suspectSuffix);
        const id = name.slice(0, -(suspect ? suspectSuffix : suffix).length);
        found.push({ id, rows: countLines(payload), bytes: payload.length, file, suspect });
        this.count(file, payload.length);
      } catch (err) {
        if (!isMissing(err)) this.logger?.error({ err, file }, `${this.label} spill file unreadable; leaving it`);
      }
    }
    if (found.length) this.logger?.info({ batches: found.length }, `${this.label}: recovered spilled batches`);
    return found;
  }

  private count(file: string, bytes: number): void {
    this.sizes.set(file, bytes);
    this.total += bytes;
  }

  private uncount(file: string): void {
    this.total -= this.sizes.get(file) ?? 0;
    this.sizes.delete(file);
  }

  /** A batch's file; redelivered batches not yet checked against the store say so in the name. */
  private fileOf(id: string, suspect: boolean): string {
    return join(this.dir, id + (suspect ? suspectSuffix : suffix));
  }

  /** Writes `file` whole or not at all: a temporary file renamed over it. */
  private async replace(file: string, payload: Buffer): Promise<void> {
    await writeFile(file + tmpSuffix, payload);
    await rename(file + tmpSuffix, file);
  }

  /** Runs `op` after every change queued before it. */
  private queued<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** Rows in a TabSeparated payload: one per newline. */
function countLines(payload: Buffer): number {
  let n = 0;
  for (let i = payload.indexOf(10); i !== -1; i = payload.indexOf(10, i + 1)) n++;
  return n;
}
