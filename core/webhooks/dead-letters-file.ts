/**
 * Dead letters of one process: one JSON file per letter in a directory,
 * named by a sortable id (zero-padded time and a counter), written under a
 * temporary name and renamed so a crash never leaves half a letter. The
 * directory is listed once at start; after that the index is in memory.
 */
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetter, DeadLetterStore, DeadLetterSummary, NewDeadLetter } from './dead-letters.js';
import { parseDeadLetter, summaryOf } from './dead-letters.js';

const suffix = '.json';
const idPattern = /^[0-9]{15}-[0-9]{6}$/;

/** Dead letters in a directory, at most `max`. */
export class FileDeadLetters implements DeadLetterStore {
  dropped = 0;
  /** Ids on disk, oldest first. */
  private ids: string[] = [];
  private opened: Promise<void> | undefined;
  private counter = 0;
  /** Every change in order: a remove never overtakes the write of its file. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly max: number,
  ) {}

  private open(): Promise<void> {
    this.opened ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      const names = await readdir(this.dir);
      this.ids = names
        .filter((n) => n.endsWith(suffix) && idPattern.test(n.slice(0, -suffix.length)))
        .map((n) => n.slice(0, -suffix.length))
        .sort();
    })();
    return this.opened;
  }

  private queued<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => this.open()).then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private file(id: string): string {
    return join(this.dir, id + suffix);
  }

  add(letter: NewDeadLetter): Promise<string> {
    return this.queued(async () => {
      this.counter = (this.counter + 1) % 1_000_000;
      const id = `${String(Date.now()).padStart(15, '0')}-${String(this.counter).padStart(6, '0')}`;
      const tmp = this.file(id) + '.tmp';
      await writeFile(tmp, JSON.stringify(letter));
      await rename(tmp, this.file(id));
      this.ids.push(id);
      if (this.ids.length > 1 && (this.ids.at(-2) as string) > id) this.ids.sort();
      while (this.ids.length > this.max) {
        const oldest = this.ids.shift() as string;
        this.dropped++;
        await unlink(this.file(oldest)).catch(() => {});
      }
      return id;
    });
  }

  async list(options: { limit: number; after?: string }): Promise<DeadLetterSummary[]> {
    await this.queued(async () => {});
    const start = options.after === undefined ? 0 : this.ids.findIndex((id) => id > (options.after as string));
    if (start < 0) return [];
    const out: DeadLetterSummary[] = [];
    for (const id of this.ids.slice(start)) {
      if (out.length >= options.limit) break;
      const letter = await this.get(id);
      if (letter) out.push(summaryOf(letter));
    }
    return out;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!idPattern.test(id)) return undefined;
    await this.queued(async () => {});
    try {
      return parseDeadLetter(id, await readFile(this.file(id), 'utf8'));
    } catch {
      return undefined;
    }
  }

  remove(id: string): Promise<boolean> {
    if (!idPattern.test(id)) return Promise.resolve(false);
    return this.queued(async () => {
      const at = this.ids.indexOf(id);
      if (at < 0) return false;
      this.ids.splice(at, 1);
      await unlink(this.file(id)).catch(() => {});
      return true;
    });
  }

  count(): Promise<number> {
    return this.queued(async () => this.ids.length);
  }

  async close(): Promise<void> {
    await this.tail;
  }
}
