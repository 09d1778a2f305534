/**
 * The analytics sink: room events from an `EventSource` into the store's
 * `events` table, in batches bounded by count, bytes and time. This file
 * puts the parts together; each keeps one concern:
 *
 * - sink-batches.ts: the open batch (rows written into buffers, the fast
 *   danmaku path) and sealing it into fixed bytes with a fixed id;
 * - sink-spill.ts: the spill directory, written with asynchronous I/O;
 * - sink-retry.ts: inserting with backoff, and the schema check before it;
 * - analytics-redelivery.ts: what a durable source delivers again;
 * - analytics-counters.ts: which counter events are worth a row.
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
 *   past `maxSpillBytes` on disk new batches are dropped and counted. A
 *   batch being spilled counts as spilled at once; its bytes leave memory
 *   when the file is written (the event loop never waits for the disk).
 * - While the store is down, inserts are retried with exponential backoff.
 * - Spilled batches survive a restart: `start` picks them up, oldest first,
 *   before anything newer is inserted.
 * - An event a durable source delivers again is stored once and counted
 *   once: a second delivery of an event still held is dropped (the first
 *   one's ack covers it), and redelivered events go into batches of their
 *   own that leave out what the store already has (analytics-redelivery.ts).
 * - Counter events (online, likes, leaderboard) are stored only where they
 *   say something: online counts once a minute per room with sequenced
 *   events, the minute's peak (analytics-counters.ts).
 */
import type { Logger } from 'pino';
import { CounterPolicy } from './analytics-counters.js';
import { RedeliveryFilter } from './analytics-redelivery.js';
import { eventColumns } from './analytics-schema.js';
import type { AnalyticsStore } from './analytics-store.js';
import { sqlIdent } from './analytics-store.js';
import type { EventSource } from './analytics-source.js';
import { Appended, OpenBatch } from './sink-batches.js';
import type { SealedBatch } from './sink-batches.js';
import { InsertRetry } from './sink-retry.js';
import { SpillDir } from './sink-spill.js';

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

/** The counters the sink keeps itself; the parts keep the rest. */
type OwnStats = Pick<
  SinkStats,
  'received' | 'malformed' | 'inserted' | 'batches' | 'droppedEvents' | 'queuedEvents' | 'memoryBytes' | 'paused'
>;

/** What one insert attempt found. */
const Outcome = { Stored: 1, Gone: 2 } as const;
type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Writes room events to the analytics store in deduplicating batches. */
export class AnalyticsSink {
  private readonly table: string;
  private readonly maxMemoryBytes: number;
  private readonly counterSweepMs: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly counters = new CounterPolicy();
  private readonly open: OpenBatch;
  private readonly redelivery: RedeliveryFilter;
  private readonly retry: InsertRetry;
  private readonly spill: SpillDir | undefined;
  /** Sealed batches, oldest first; the head is the one being inserted. */
  private readonly queue: SealedBatch[] = [];
  /** Resolves once spilled batches of an earlier run are queued; nothing is inserted before. */
  private recovered: Promise<void> = Promise.resolve();
  private sweeper: NodeJS.Timeout | undefined;
  private writing = false;
  private stopping = false;
  private stopDeadline = Infinity;
  /** Set when `stop` gave up: what is left belongs to the spill directory and the next start. */
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly s: OwnStats = {
    received: 0,
    malformed: 0,
    inserted: 0,
    batches: 0,
    droppedEvents: 0,
    queuedEvents: 0,
    memoryBytes: 0,
    paused: false,
  };

  constructor(
    private readonly source: EventSource,
    private readonly store: AnalyticsStore,
    options: SinkOptions,
  ) {
    this.table = `${sqlIdent(options.database)}.events`;
    this.maxMemoryBytes = options.maxMemoryBytes ?? 64 << 20;
    this.counterSweepMs = options.counterSweepMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    const limits = {
      maxEvents: options.maxBatchEvents ?? 50_000,
      maxBytes: options.maxBatchBytes ?? 8 << 20,
      flushMs: options.flushMs ?? 1_000,
    };
    this.open = new OpenBatch(limits, this.counters, this.onDue);
    this.redelivery = new RedeliveryFilter(store, this.table);
    this.retry = new InsertRetry({
      minMs: options.retryMinMs ?? 100,
      maxMs: options.retryMaxMs ?? 5_000,
      prepare: options.prepare,
      logger: this.logger,
    });
    if (options.spillDir) this.spill = new SpillDir(options.spillDir, options.maxSpillBytes ?? 1 << 30, this.logger);
  }

  /** Recovers spilled batches from an earlier run (in the background), then starts consuming. */
  start(): void {
    if (this.spill) this.recovered = this.recover(this.spill);
    this.source.start(this.receive);
    this.sweeper = setInterval(this.sweepCounters, this.counterSweepMs);
    this.sweeper.unref();
    this.kick();
  }

  /** A copy of the counters. */
  stats(): SinkStats {
    return {
      ...this.s,
      failures: this.retry.failures,
      spilledBatches: this.spill?.spilled ?? 0,
      spillBytes: this.spill?.bytes ?? 0,
      skippedRedeliveries: this.redelivery.skipped,
      skippedCounters: this.counters.skipped,
      queuedBatches: this.queue.length,
    };
  }

  private readonly receive = (data: Uint8Array, handle: unknown): void => {
    this.s.received++;
    const delivery = handle !== undefined ? this.source.deliveryOf?.(handle) : undefined;
    // Delivered again while its batch waits for the store: the first delivery's ack covers both.
    if (delivery && this.redelivery.isHeld(delivery.id)) return;
    // Redelivered events get batches of their own (checked against the store before insert);
    // events without a delivery (counters) join whichever batch is open.
    const suspect = delivery ? delivery.redelivered : this.open.suspect;
    if (suspect !== this.open.suspect) {
      this.seal();
      this.kick();
      this.open.suspect = suspect;
    }
    const appended = this.open.append(data, this.now(), true);
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
    if (handle !== undefined) this.open.handles.push(handle);
    if (delivery) {
      this.redelivery.hold(delivery.id);
      this.open.ids.push(delivery.id);
    }
    this.afterAppend();
  };

  /** Seals a full batch, or makes sure a partial one is sealed within `flushMs`. */
  private afterAppend(): void {
    if (this.open.full()) {
      this.seal();
      this.kick();
    } else this.open.arm();
  }

  /** A released online peak joins the open batch like any event without a handle. */
  private readonly appendCounter = (bytes: Uint8Array, recvMs: number): void => {
    if (this.open.append(bytes, recvMs, false) === Appended.Malformed) this.s.malformed++;
  };

  /** Releases the online peaks of minutes that have ended. */
  private readonly sweepCounters = (): void => {
    this.counters.release(this.appendCounter, this.now());
    this.afterAppend();
  };

  private readonly onDue = (): void => {
    this.seal();
    this.kick();
  };

  /** Queues the open batch, sealed, and keeps memory within its bound. */
  private seal(): void {
    const batch = this.open.seal();
    if (!batch) return;
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
      const b = this.queue[i] as SealedBatch;
      if (b.file === undefined && !this.spillOut(b, false)) this.drop(b);
    }
  }

  /** Starts writing an in-memory batch to the spill directory; false when there is none, or no room. */
  private spillOut(b: SealedBatch, beyondLimit: boolean): boolean {
    const w = this.spill?.write(b.id, b.suspect, b.payload as Buffer, beyondLimit);
    if (!w) return false;
    this.s.memoryBytes -= b.bytes;
    b.file = w.file;
    void w.written.then((ok) => {
      if (b.file !== w.file) return; // settled under another name meanwhile
      if (ok) b.payload = undefined;
      else this.spillFailed(b);
    });
    return true;
  }

  /** A spill write failed: the batch is dropped, unless it is next to insert (then it stays in memory). */
  private spillFailed(b: SealedBatch): void {
    b.file = undefined;
    const i = this.queue.indexOf(b);
    if (i < 0) return; // stored meanwhile
    if (i > 0) return this.drop(b);
    this.s.memoryBytes += b.bytes;
  }

  /** Drops a batch that fits nowhere, counting its events. */
  private drop(b: SealedBatch): void {
    this.queue.splice(this.queue.indexOf(b), 1);
    this.redelivery.release(b.ids);
    if (b.file === undefined) this.s.memoryBytes -= b.bytes;
    this.s.queuedEvents -= b.rows;
    this.s.droppedEvents += b.rows;
    this.logger?.error({ batch: b.id, rows: b.rows }, 'analytics buffer full: batch dropped');
  }

  /** Puts the batches an earlier run spilled ahead of everything sealed since start. */
  private async recover(spill: SpillDir): Promise<void> {
    const found = await spill.recover();
    const batches: SealedBatch[] = found.map((f) => ({ ...f, payload: undefined, handles: [], ids: [] }));
    this.queue.unshift(...batches);
    for (const b of batches) this.s.queuedEvents += b.rows;
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

  /** Inserts the head batch until the queue is empty, retrying each until the store takes it. */
  private async write(): Promise<void> {
    await this.recovered;
    this.retry.reset();
    while (this.queue.length && !this.stopped) {
      const b = this.queue[0] as SealedBatch;
      const outcome = await this.retry.attempt(b.id, () => this.insert(b));
      if (outcome === undefined) {
        if (this.stopping && this.stopDeadline < this.now()) return;
        await this.retry.pause();
        continue;
      }
      this.queue.splice(this.queue.indexOf(b), 1);
      this.s.queuedEvents -= b.rows;
      this.redelivery.release(b.ids);
      if (b.file !== undefined) {
        if (outcome === Outcome.Gone) this.spill?.forget(b.file);
        else this.spill?.remove(b.file);
      } else this.s.memoryBytes -= b.bytes;
      if (outcome === Outcome.Gone) {
        this.logger?.warn({ batch: b.id, file: b.file }, 'analytics spill file is gone; skipping its batch');
        continue;
      }
      this.s.batches++;
      this.s.inserted += b.rows;
      if (b.handles.length) this.source.ack(b.handles);
      if (this.s.paused && this.s.memoryBytes <= this.maxMemoryBytes / 2) {
        this.s.paused = false;
        this.source.resume?.();
      }
    }
  }

  /**
   * One attempt at the head batch. When its spill file is gone (another
   * process sharing the spill directory inserted it, or someone deleted it)
   * the batch is forgotten with a warning rather than retried for ever.
   */
  private async insert(b: SealedBatch): Promise<Outcome> {
    const loaded = b.payload ?? (b.file !== undefined ? await this.spill?.read(b.file) : undefined);
    if (!loaded) return Outcome.Gone;
    const payload = b.suspect ? await this.settle(b, loaded) : loaded;
    if (b.rows > 0) await this.store.insertTsv(this.table, eventColumns, payload, b.id);
    return Outcome.Stored;
  }

  /**
   * Leaves out of a batch of redelivered events those the store already
   * has, once, before its first insert; its bytes are fixed from then on.
   */
  private async settle(b: SealedBatch, before: Buffer): Promise<Buffer> {
    const { payload, removed } = await this.redelivery.check(before);
    if (b.file !== undefined && this.spill) {
      b.file = await this.spill.settle(b.file, b.id, removed > 0 ? payload : undefined);
      b.payload = undefined; // the file holds the settled rows now
    } else if (removed > 0) {
      this.s.memoryBytes += payload.length - b.bytes;
      b.payload = payload;
    }
    this.redelivery.skipped += removed; // counted once the batch is settled, not on an attempt that failed
    this.s.queuedEvents -= removed;
    b.rows -= removed;
    b.bytes = payload.length;
    b.suspect = false;
    return payload;
  }

  /** Seals the open batch and resolves when everything received so far is in the store. */
  async flush(): Promise<void> {
    this.counters.release(this.appendCounter);
    this.seal();
    this.kick();
    while ((this.writing || this.queue.length) && !this.stopped) await new Promise<void>((r) => this.idleWaiters.push(r));
    await this.spill?.idle();
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
    if (!this.spill) return;
    // Spilled like any other, whatever the limit: an insert still in flight that succeeds deletes the file.
    for (const b of this.queue) if (b.file === undefined) this.spillOut(b, true);
    await this.spill.idle();
  }
}
