/**
 * The analytics sink's open batch: rows are written as UTF-8 straight into
 * 1 MiB buffers as events arrive, and the batch is sealed once, with an id
 * fixed when it opened, into bytes that never change afterwards (a retry
 * sends the same bytes, so the store deduplicates it).
 *
 * Why buffers and not strings: at 200,000 events/s, 50,000 row strings kept
 * until the batch is sealed are promoted to V8's old generation and GC runs
 * constantly (docs/benchmarks.md, "Analytics ingest"). Written into a buffer,
 * no per-event string outlives its event; danmaku do not even make one (the
 * fast-row path writes them from their protobuf bytes).
 *
 * A batch is sealed at `maxEvents` rows, at `maxBytes` bytes, or `flushMs`
 * after its first row, whichever comes first.
 */
import { randomBytes } from 'node:crypto';
import type { CounterPolicy } from './analytics-counters.js';
import { NOT_HANDLED, ROW_OVERHEAD, writeDanmakuRow } from './analytics-fast-row.js';
import { eventRow } from './analytics-rows.js';

/**
 * A batch whose id and rows are fixed, waiting for the store. Its bytes are
 * in memory (`payload`), in a spill file (`file`), or both while the file is
 * being written.
 */
export interface SealedBatch {
  readonly id: string;
  rows: number;
  bytes: number;
  payload: Buffer | undefined;
  file: string | undefined;
  /** The source's handles of its events, acknowledged once the store accepted the batch. */
  readonly handles: unknown[];
  /** Delivery ids of the handles (a durable source), released once the batch is done with. */
  readonly ids: number[];
  /** Holds redelivered events: check the store for them before the first insert. */
  suspect: boolean;
}

/** What `OpenBatch.append` did with an event. */
export const Appended = { Row: 0, Malformed: 1, Intercepted: 2 } as const;
/** One of `Appended`. */
export type Appended = (typeof Appended)[keyof typeof Appended];

/** Size of the buffers the open batch is written into. */
const chunkBytes = 1 << 20;

/** When an open batch is sealed. */
export interface BatchLimits {
  /** Seal at this many rows. */
  maxEvents: number;
  /** Seal at this many bytes of rows. */
  maxBytes: number;
  /** Seal a non-empty batch at the latest this long after its first row. */
  flushMs: number;
}

/** The batch rows are being written into; `seal` turns it into a `SealedBatch`. */
export class OpenBatch {
  /** Rows written since the batch opened. */
  rows = 0;
  /** Bytes of those rows. */
  bytes = 0;
  /** Whether the batch holds redelivered events (the sink never mixes them with fresh ones). */
  suspect = false;
  /** The source's handles of the rows' events. */
  handles: unknown[] = [];
  /** Delivery ids of those handles, when the source has them. */
  ids: number[] = [];

  private readonly prefix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  private counter = 0;
  private id = '';
  private tail = '';
  private tailBytes: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private chunk: Buffer = Buffer.allocUnsafeSlow(0);
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: BatchLimits,
    /** Decides which counter events are stored (appends with `filter`). */
    private readonly counters: CounterPolicy,
    /** Called when a partial batch's `flushMs` has passed; expected to `seal` it. */
    private readonly onDue: () => void,
  ) {}

  /**
   * Adds the row of one event, opening the batch if needed. Danmaku take the
   * fast path, straight from their bytes; everything else is decoded and
   * formatted, counters only if the counter policy lets them through (when
   * `filter`; released online peaks have been through it).
   */
  append(data: Uint8Array, recvMs: number, filter: boolean): Appended {
    if (this.id === '') {
      this.id = `${this.prefix}-${(this.counter++).toString(36).padStart(6, '0')}`;
      this.tail = `\t${this.id}\n`;
      this.tailBytes = Buffer.from(this.tail);
    }
    this.reserve(2 * data.length + this.tailBytes.length + ROW_OVERHEAD);
    let end = writeDanmakuRow(data, recvMs, this.tailBytes, this.chunk, this.offset);
    if (end === NOT_HANDLED) {
      if (filter && this.counters.intercepts(data, recvMs)) return Appended.Intercepted;
      const line = eventRow(data, recvMs);
      if (line === undefined) return Appended.Malformed;
      const row = line + this.tail;
      this.reserve(row.length * 3); // a UTF-16 code unit is at most 3 bytes of UTF-8
      end = this.offset + this.chunk.write(row, this.offset, 'utf8');
    }
    this.bytes += end - this.offset;
    this.offset = end;
    this.rows++;
    return Appended.Row;
  }

  /** True when the batch reached its row or byte limit and must be sealed now. */
  full(): boolean {
    return this.rows >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes;
  }

  /** Makes sure a non-empty batch is sealed within `flushMs` of now (once armed, the timer stays). */
  arm(): void {
    if (!this.timer && this.rows > 0) this.timer = setTimeout(this.due, this.limits.flushMs);
  }

  private readonly due = (): void => {
    this.timer = undefined;
    this.onDue();
  };

  /** Fixes the batch's id and bytes and starts a new one; undefined when nothing was written. */
  seal(): SealedBatch | undefined {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.rows === 0) return undefined;
    this.cutChunk();
    const payload = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    const batch: SealedBatch = {
      id: this.id,
      rows: this.rows,
      bytes: payload.length,
      payload,
      file: undefined,
      handles: this.handles,
      ids: this.ids,
      suspect: this.suspect,
    };
    this.chunks = [];
    this.id = '';
    this.rows = 0;
    this.bytes = 0;
    this.handles = [];
    this.ids = [];
    return batch;
  }

  /** Makes sure the current chunk has `bytes` free after the offset. */
  private reserve(bytes: number): void {
    if (this.chunk.length - this.offset >= bytes) return;
    this.cutChunk();
    this.chunk = Buffer.allocUnsafeSlow(Math.max(chunkBytes, bytes));
  }

  /** Moves the written part of the current chunk to the batch's list. */
  private cutChunk(): void {
    if (this.offset === 0) return;
    this.chunks.push(this.chunk.subarray(0, this.offset));
    this.chunk = this.chunk.subarray(this.offset);
    this.offset = 0;
  }
}
