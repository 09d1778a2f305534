/**
 * Sessions and videos in files, for single-process mode: one JSON file per
 * video in a directory (`BARRAGE_VIDEOS_DIR`, `.barrage/videos` by
 * default), beside the process's other durable state under `.barrage/`
 * (the chDB analytics, spilled batches, webhook dead letters). A restart
 * reads them back, so the replay of a session, a VOD's registration and a
 * session still open survive it (the danmaku themselves are in analytics).
 *
 * The records live in memory (`MemoryVideoStore` decides every change,
 * including "one open session per room"); each change is written to its
 * file before the call resolves, in order, replacing the file whole (write
 * then rename, so a crash leaves the old record or the new one, never half).
 * Video ids are `[A-Za-z0-9_-]`, so an id is its file name.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryVideoStore } from './video-store-memory.js';
import { isValidVideoId, parseVideoRecord, VideoKind } from './video-store.js';
import type { EndResult, StartResult, VideoRecord, VideoStore } from './video-store.js';

const suffix = '.json';

/** A `VideoStore` kept in a directory. */
export class FileVideoStore implements VideoStore {
  private readonly memory = new MemoryVideoStore();
  /** Every write in order: a later change of a video never lands before an earlier one. */
  private tail: Promise<unknown> = Promise.resolve();
  private written = 0;

  /** Resolves once the directory's records are read (every call waits for it); rejects if it cannot be read. */
  readonly loaded: Promise<void>;

  /** Starts reading `dir` (made if missing); a file that is not a record is skipped. */
  constructor(private readonly dir: string) {
    this.loaded = this.load();
    this.loaded.catch(() => undefined); // reported by the first call that waits for it
  }

  /** A store on `dir`, once its records are read. */
  static async open(dir: string): Promise<FileVideoStore> {
    const store = new FileVideoStore(dir);
    await store.loaded;
    return store;
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => n.endsWith(suffix) && isValidVideoId(n.slice(0, -suffix.length)));
    for (const name of names.sort()) {
      const record = parseVideoRecord(await readFile(join(this.dir, name), 'utf8'));
      if (!record || record.id !== name.slice(0, -suffix.length)) continue;
      // An open session takes its room's open slot again; everything else is put back as it was.
      if (record.kind === VideoKind.Session && record.endedMs === 0 && record.room !== '') {
        if ((await this.memory.startSession(record)).ok) continue;
      }
      await this.memory.put(record);
    }
  }

  /** Writes `record` to its file (after every earlier write); resolves once it is there. */
  private save(record: VideoRecord): Promise<void> {
    const file = join(this.dir, record.id + suffix);
    const tmp = `${file}.${process.pid}.${++this.written}.tmp`;
    const run = this.tail.then(async () => {
      await writeFile(tmp, JSON.stringify(record));
      await rename(tmp, file);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async get(id: string): Promise<VideoRecord | undefined> {
    await this.loaded;
    return this.memory.get(id);
  }

  async openSession(room: string): Promise<VideoRecord | undefined> {
    await this.loaded;
    return this.memory.openSession(room);
  }

  async startSession(record: VideoRecord): Promise<StartResult> {
    await this.loaded;
    const result = await this.memory.startSession(record);
    if (result.ok) await this.save(record);
    return result;
  }

  async endSession(id: string, endedMs: number): Promise<EndResult> {
    await this.loaded;
    const result = await this.memory.endSession(id, endedMs);
    if (result.ok) await this.save(result.record);
    return result;
  }

  async put(record: VideoRecord): Promise<void> {
    await this.loaded;
    await this.memory.put(record);
    await this.save(record);
  }

  async close(): Promise<void> {
    await this.loaded.catch(() => undefined);
    await this.tail;
  }
}
