/**
 * The analytics sink: room events from an `EventSource` into the store's
 * `events` table, in batches bounded by count, bytes and time.
 *
 * Promises (docs/analytics.md has the reasoning):
 * - A batch is sealed once, with an id, and from then on is always sent as
 *   the same bytes, so a retry after an ambiguous failure writes rows that
 *   deduplicate (ReplacingMergeTree on the event identity; the rollup keyed
 *   by batch id).
 * - Events are acknowledged to the source only after the store accepted the
 *   batch holding them.
 * - Memory is bounded: past `maxMemoryBytes` of sealed batches the source is
 *   paused when it can be, and otherwise sealed batches are spilled to disk;
 *   past `maxSpillBytes` on disk new batches are dropped and counted.
 * - While the store is down, inserts are retried with exponential backoff.
 * - Spilled batches survive a restart: `start` picks them up.
 * - An event a durable source delivers again is stored once and counted
 *   once: a second delivery of an event still held is dropped (the first
 *   one's ack covers it), and redelivered events go into batches of their
 *   own that leave out what the store already has (analytics-redelivery.ts).
 * - Counter events (online, likes, leaderboard) are stored only where they
 *   say something: online counts once a minute per room with sequenced
 *   events, the minute's peak (analytics-counters.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CounterPolicy } from './analytics-counters.js';
import { NOT_HANDLED, ROW_OVERHEAD, writeDanmakuRow } from './analytics-fast-row.js';
import { withoutStored } from './analytics-redelivery.js';
import { eventRow } from './analytics-rows.js';
import { eventColumns } from './analytics-schema.js';
import type { AnalyticsStore } from './analytics-store.js';
import { sqlIdent } from './analytics-store.js';
import type { EventSource } from './analytics-source.js';
import { sleep } from '../../domain/retry.js';

/** Limits and timings of the sink. */
export interface SinkOptions {
  database: string;
  /** Seal a batch at this many events. */
  maxBatchEvents?: number;
  /** Seal a batch at this many bytes of rows. */
  maxBatchBytes?: number;
  /** Seal a non-empty batch at the latest this long after its first event. */
  flushMs?: number;
  /** Sealed batches held in memory before pausing the source or spilling. */
  maxMemoryBytes?: number;
  /** Where batches are spilled; no spilling (drop instead) when absent. */
  spillDir?: string;
  /** Spilled bytes on disk before new batches are dropped. */
  maxSpillBytes?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How often held online peaks of finished minutes are released into the open batch. */
  counterSweepMs?: number;
  /** Called before the first insert and after every failure; the sink waits for it (migrations). */
  prepare?: (afterFailure: boolean) => Promise<void>;
  logger?: Logger;
  now?: () => number;
}

/** Counters of the sink, for tests, metrics and the status endpoint. */
export interface SinkStats {
  received: number;
  malformed: number;
  inserted: number;
  batches: number;
  failures: number;
  spilledBatches: number;
  droppedEvents: number;
  /** Redelivered events left out: already held in a batch, or already in the store. */
  skippedRedeliveries: number;
  /** Counter events not stored: rooms without sequenced events, heartbeats, all but a minute's online peak. */
  skippedCounters: number;
  queuedBatches: number;
  queuedEvents: number;
  memoryBytes: number;
  spillBytes: number;
  paused: boolean;
}

/** The counters of a sink that has seen nothing. */
export function emptySinkStats(): SinkStats {
  return {
    received: 0,
    malformed: 0,
    inserted: 0,
    batches: 0,
    failures: 0,
    spilledBatches: 0,
    droppedEvents: 0,
    skippedRedeliveries: 0,
    skippedCounters: 0,
    queuedBatches: 0,
    queuedEvents: 0,
    memoryBytes: 0,
    spillBytes: 0,
    paused: false,
  };
}

interface Sealed {
  id: string;
  rows: number;
  bytes: number;
  payload: Buffer | undefined; // in memory, or
  file: string | undefined; // spilled
  handles: unknown[];
  /** Delivery ids of the handles (a durable source), released once the batch is done with. */
  ids: number[];
  /** Holds redelivered events: check the store for them before the first insert. */
  suspect: boolean;
}

/** What `append` did with an event. */
const Appended = { Row: 0, Malformed: 1, Intercepted: 2 } as const;
type Appended = (typeof Appended)[keyof typeof Appended];

/** Size of the buffers the open batch is written into. */
const chunkBytes = 1 << 20;

/** Writes room events to the analytics store in deduplicating batches. */
export class AnalyticsSink {
  private readonly table: string;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly flushMs: number;
  private readonly maxMemoryBytes: number;
  private readonly maxSpillBytes: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly counterSweepMs: number;
  private readonly now: () => number;
  private readonly prefix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  private counter = 0;

  // The open batch: its rows written straight into buffers as they arrive,
  // so no per-event string outlives its event (they would fill the old
  // generation at 200,000 events/s), and its id fixed when it opens.
  private openId = '';
  private openTail = '';
  private openTailBytes: Buffer = Buffer.alloc(0);
  private openRows = 0;
  private openBytes = 0;
  private chunks: Buffer[] = [];
  private chunk: Buffer = Buffer.allocUnsafeSlow(0);
  private offset = 0;
  private handles: unknown[] = [];
  private ids: number[] = [];
  private openSuspect = false;
  /** Delivery ids of events in batches the store has not accepted yet. */
  private readonly held = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly counters = new CounterPolicy();
  private readonly queue: Sealed[] = [];
  private writing = false;
  private stopping = false;
  private prepared = false;
  private idleWaiters: Array<() => void> = [];
  private readonly s: SinkStats = emptySinkStats();

  constructor(
    private readonly source: EventSource,
    private readonly store: AnalyticsStore,
    private readonly options: SinkOptions,
  ) {
    this.table = `${sqlIdent(options.database)}.events`;
    this.maxBatchEvents = options.maxBatchEvents ?? 50_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 8 << 20;
    this.flushMs = options.flushMs ?? 1_000;
    this.maxMemoryBytes = options.maxMemoryBytes ?? 64 << 20;
    this.maxSpillBytes = options.maxSpillBytes ?? 1 << 30;
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.counterSweepMs = options.counterSweepMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Recovers spilled batches from an earlier run, then starts consuming. */
  start(): void {
    this.recoverSpill();
    this.source.start(this.receive);
    this.sweeper = setInterval(this.sweepCounters, this.counterSweepMs);
    this.sweeper.unref();
    this.kick();
  }

  /** A copy of the counters. */
  stats(): SinkStats {
    return { ...this.s, queuedBatches: this.queue.length, skippedCounters: this.counters.skipped };
  }

  private readonly receive = (data: Uint8Array, handle: unknown): void => {
    this.s.received++;
    const delivery = handle !== undefined ? this.source.deliveryOf?.(handle) : undefined;
    if (delivery && this.held.has(delivery.id)) {
      // Delivered again while its batch waits for the store: the first delivery's ack covers both.
      this.s.skippedRedeliveries++;
      return;
    }
    // Redelivered events get batches of their own (checked against the store before insert);
    // events without a delivery (counters) join whichever batch is open.
    const suspect = delivery ? delivery.redelivered : this.openSuspect;
    if (suspect !== this.openSuspect) {
      this.seal();
      this.kick();
      this.openSuspect = suspect;
    }
    const appended = this.append(data, this.now(), true);
    if (appended === Appended.Intercepted) {
      // A counter left out or held (held online peaks come back through releaseDisplaced or sweepCounters).
      if (handle !== undefined) this.source.ack([handle]);
      this.counters.releaseDisplaced(this.appendCounter);
      this.afterAppend();
      return;
    }
    if (appended === Appended.Malformed) {
      // Not an event: nothing could ever store it, so it is acknowledged and counted.
      this.s.malformed++;
      if (handle !== undefined) this.source.ack([handle]);
      return;
    }
    if (handle !== undefined) this.handles.push(handle);
    if (delivery) {
      this.held.add(delivery.id);
      this.ids.push(delivery.id);
    }
    this.afterAppend();
  };

  /** Seals a full batch, or makes sure a partial one is sealed within `flushMs`. */
  private afterAppend(): void {
    if (this.openRows >= this.maxBatchEvents || this.openBytes >= this.maxBatchBytes) {
      this.seal();
      this.kick();
    } else if (!this.timer && this.openRows > 0) {
      this.timer = setTimeout(this.onTimer, this.flushMs);
    }
  }

  /** A released online peak joins the open batch like any event without a handle. */
  private readonly appendCounter = (bytes: Uint8Array, recvMs: number): void => {
    if (this.append(bytes, recvMs, false) === Appended.Malformed) this.s.malformed++;
  };

  /** Releases the online peaks of minutes that have ended. */
  private readonly sweepCounters = (): void => {
    this.counters.release(this.appendCounter, this.now());
    this.afterAppend();
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.seal();
    this.kick();
  };

  /**
   * Adds the row of one event to the open batch, opening one if needed.
   * Danmaku take the fast path, straight from their bytes; everything else
   * is decoded and formatted, counters only if the counter policy lets them
   * through (when `filter`; released online peaks have been through it).
   */
  private append(data: Uint8Array, recvMs: number, filter: boolean): Appended {
    if (this.openId === '') {
      this.openId = `${this.prefix}-${(this.counter++).toString(36).padStart(6, '0')}`;
      this.openTail = `\t${this.openId}\n`;
      this.openTailBytes = Buffer.from(this.openTail);
    }
    this.reserve(2 * data.length + this.openTailBytes.length + ROW_OVERHEAD);
    let end = writeDanmakuRow(data, recvMs, this.openTailBytes, this.chunk, this.offset);
    if (end === NOT_HANDLED) {
      if (filter && this.counters.intercepts(data, recvMs)) return Appended.Intercepted;
      const line = eventRow(data, recvMs);
      if (line === undefined) return Appended.Malformed;
      const row = line + this.openTail;
      this.reserve(row.length * 3); // a UTF-16 code unit is at most 3 bytes of UTF-8
      end = this.offset + this.chunk.write(row, this.offset, 'utf8');
    }
    this.openBytes += end - this.offset;
    this.offset = end;
    this.openRows++;
    return Appended.Row;
  }

  /** Makes sure the current chunk has `bytes` free after the offset. */
  private reserve(bytes: number): void {
    if (this.chunk.length - this.offset >= bytes) return;
    this.cutChunk();
    this.chunk = Buffer.allocUnsafeSlow(Math.max(chunkBytes, bytes));
  }

  /** Moves the written part of the current chunk to the open batch's list. */
  private cutChunk(): void {
    if (this.offset === 0) return;
    this.chunks.push(this.chunk.subarray(0, this.offset));
    this.chunk = this.chunk.subarray(this.offset);
    this.offset = 0;
  }

  /** Turns the open batch into a sealed one with a fixed id and fixed bytes. */
  private seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.openRows === 0) return;
    this.cutChunk();
    const payload = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.openBytes);
    const batch: Sealed = {
      id: this.openId,
      rows: this.openRows,
      bytes: payload.length,
      payload,
      file: undefined,
      handles: this.handles,
      ids: this.ids,
      suspect: this.openSuspect,
    };
    this.chunks = [];
    this.openId = '';
    this.openRows = 0;
    this.openBytes = 0;
    this.handles = [];
    this.ids = [];
    this.queue.push(batch);
    this.s.queuedEvents += batch.rows;
    this.s.memoryBytes += batch.bytes;
    this.bound();
  }

  /** Keeps sealed batches in memory under the limit: pause the source, or spill the newest. */
  private bound(): void {
    if (this.s.memoryBytes <= this.maxMemoryBytes) return;
    if (this.source.pause) {
      if (!this.s.paused) {
        this.s.paused = true;
        this.source.pause();
      }
      return;
    }
    // Spill from the newest back; the oldest (head) is the one being written.
    for (let i = this.queue.length - 1; i >= 1 && this.s.memoryBytes > this.maxMemoryBytes; i--) {
      const b = this.queue[i] as Sealed;
      if (!b.payload) continue;
      if (!this.options.spillDir || this.s.spillBytes + b.bytes > this.maxSpillBytes) {
        this.drop(i, b);
        continue;
      }
      const file = this.spillFile(this.options.spillDir, b);
      try {
        mkdirSync(this.options.spillDir, { recursive: true });
        writeFileSync(file, b.payload);
      } catch (err) {
        this.options.logger?.error({ err, batch: b.id }, 'analytics spill failed; dropping the batch');
        this.drop(i, b);
        continue;
      }
      this.s.memoryBytes -= b.bytes;
      this.s.spillBytes += b.bytes;
      this.s.spilledBatches++;
      b.payload = undefined;
      b.file = file;
    }
  }

  /** A spilled batch's file; redelivered batches not yet checked against the store say so in the name. */
  private spillFile(dir: string, b: Sealed): string {
    return join(dir, `${b.id}${b.suspect ? '.suspect' : ''}.tsv`);
  }

  /** Forgets the delivery ids of a batch that is done with (stored or dropped). */
  private release(b: Sealed): void {
    for (const id of b.ids) this.held.delete(id);
  }

  private drop(index: number, b: Sealed): void {
    this.queue.splice(index, 1);
    this.release(b);
    this.s.memoryBytes -= b.payload ? b.bytes : 0;
    this.s.queuedEvents -= b.rows;
    this.s.droppedEvents += b.rows;
    this.options.logger?.error({ batch: b.id, rows: b.rows }, 'analytics buffer full: batch dropped');
  }

  private recoverSpill(): void {
    const dir = this.options.spillDir;
    if (!dir) return;
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.tsv'));
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const file = join(dir, name);
      const bytes = statSync(file).size;
      const rows = readFileSync(file).reduce((n, c) => (c === 10 ? n + 1 : n), 0);
      const suspect = name.endsWith('.suspect.tsv');
      this.queue.push({ id: name.replace(/(\.suspect)?\.tsv$/, ''), rows, bytes, payload: undefined, file, handles: [], ids: [], suspect });
      this.s.spillBytes += bytes;
      this.s.queuedEvents += rows;
    }
    if (names.length) this.options.logger?.info({ batches: names.length }, 'analytics: recovered spilled batches');
  }

  /** Starts the writer loop unless it runs. */
  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.write().finally(() => {
      this.writing = false;
      if (this.queue.length && !this.stopping) this.kick();
      else for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async write(): Promise<void> {
    let delay = this.retryMinMs;
    while (this.queue.length && !this.stopped) {
      const b = this.queue[0] as Sealed;
      try {
        if (!this.prepared && this.options.prepare) await this.options.prepare(this.s.failures > 0);
        this.prepared = true;
        const loaded = this.load(b);
        if (!loaded) continue;
        const payload = b.suspect ? await this.settle(b, loaded) : loaded;
        if (b.rows > 0) await this.store.insertTsv(this.table, eventColumns, payload, b.id);
      } catch (err) {
        this.s.failures++;
        this.prepared = false;
        if (this.s.failures === 1 || this.s.failures % 20 === 0) {
          this.options.logger?.warn({ err, batch: b.id, failures: this.s.failures }, 'analytics insert failed; retrying');
        }
        if (this.stopping && this.stopDeadline < this.now()) return;
        await sleep(delay + Math.random() * delay * 0.2);
        delay = Math.min(delay * 2, this.retryMaxMs);
        continue;
      }
      delay = this.retryMinMs;
      this.queue.shift();
      this.s.batches++;
      this.s.inserted += b.rows;
      this.s.queuedEvents -= b.rows;
      if (b.payload) this.s.memoryBytes -= b.bytes;
      if (b.file) {
        this.s.spillBytes -= b.bytes;
        try {
          unlinkSync(b.file);
        } catch {
          // already gone; nothing to undo
        }
      }
      if (b.handles.length) this.source.ack(b.handles);
      this.release(b);
      if (this.s.paused && this.s.memoryBytes <= this.maxMemoryBytes / 2) {
        this.s.paused = false;
        this.source.resume?.();
      }
    }
  }

  /**
   * The head batch's bytes. When its spill file is gone (another process
   * sharing the spill directory inserted it, or someone deleted it) the batch
   * is forgotten with a warning rather than retried for ever.
   */
  private load(b: Sealed): Buffer | undefined {
    if (b.payload) return b.payload;
    try {
      return readFileSync(b.file as string);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.options.logger?.warn({ batch: b.id, file: b.file }, 'analytics spill file is gone; skipping its batch');
      this.queue.shift();
      this.s.queuedEvents -= b.rows;
      this.s.spillBytes -= b.bytes;
      this.release(b);
      return undefined;
    }
  }

  /**
   * Leaves out of a batch of redelivered events those the store already
   * has, once, before its first insert; its bytes are fixed from then on.
   */
  private async settle(b: Sealed, before: Buffer): Promise<Buffer> {
    const { payload, removed } = await withoutStored(this.store, this.table, before);
    if (removed > 0) {
      this.s.skippedRedeliveries += removed;
      this.s.queuedEvents -= removed;
      b.rows -= removed;
      if (b.payload) {
        this.s.memoryBytes += payload.length - b.bytes;
        b.payload = payload;
      } else {
        writeFileSync(b.file as string, payload);
        this.s.spillBytes += payload.length - b.bytes;
      }
      b.bytes = payload.length;
    }
    b.suspect = false;
    if (b.file) {
      const settled = this.spillFile(join(b.file, '..'), b);
      renameSync(b.file, settled);
      b.file = settled;
    }
    return payload;
  }

  private stopDeadline = Infinity;
  /** Set when `stop` gave up: what is left belongs to the spill directory and the next start. */
  private stopped = false;

  /** Seals the open batch and resolves when everything received so far is in the store. */
  async flush(): Promise<void> {
    this.counters.release(this.appendCounter);
    this.seal();
    this.kick();
    while ((this.writing || this.queue.length) && !this.stopped) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops consuming and writes what is buffered, for at most `timeoutMs`;
   * what is left is spilled to disk (when a spill dir is set) for the next start.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.source.stop();
    clearInterval(this.sweeper);
    this.counters.release(this.appendCounter);
    this.seal();
    this.stopping = true;
    this.stopDeadline = this.now() + timeoutMs;
    this.kick();
    const done = new Promise<void>((r) => this.idleWaiters.push(r));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    const dir = this.options.spillDir;
    if (!dir) return;
    for (const b of this.queue) {
      if (!b.payload) continue;
      const file = this.spillFile(dir, b);
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, b.payload);
      // Spilled like any other: an insert still in flight that succeeds deletes the file.
      this.s.memoryBytes -= b.bytes;
      this.s.spillBytes += b.bytes;
      this.s.spilledBatches++;
      b.payload = undefined;
      b.file = file;
    }
  }
}
