/**
 * Per-room batching: events of a room go out as one Batch frame, encoded once
 * and published once to every socket of the room, at most one frame per room
 * per window.
 *
 * Leading edge: a room that has not sent a frame for a whole window sends its
 * next events at the end of the current event-loop turn (so a burst arriving
 * together still shares one frame) instead of waiting a window. A quiet room
 * therefore adds almost no latency, while a busy room is held to one frame
 * per window. Node groups timers of equal duration in one list, so one timer
 * per busy room is cheap.
 *
 * Adaptive window: what a frame costs the edge is one socket write per viewer
 * (uWebSockets.js sends it to each socket), so a busy room costs frames per
 * second × viewers. With `windowFor`, a room whose audience would cost more
 * than a budget at the base window gets a longer one (`adaptiveWindowMs`):
 * it grows only for rooms that are busy (a quiet room sends at the leading
 * edge whatever its window) and large.
 */
import { SkipReason } from '../proto/index.js';
import { encodeBatchFrame } from './frames.js';
import { ChatAllowance, planWindow } from './overload.js';
import type { OverloadOptions, WindowItem } from './overload.js';

/**
 * Called with each finished frame; `events` is how many events it carries.
 * `group` is -1 for a frame every viewer of the room gets, else the viewer
 * group (see overload.ts) it was sampled for, with `skipped` chat left out.
 */
export type FlushHandler = (room: string, frame: Uint8Array, events: number, group: number, skipped: number) => void;

/**
 * Called once per window after its frames went out, with when each of its
 * events arrived (the batcher's clock), each event's `ts_ms` as given to
 * `add` (0: unknown) and the time the frames were in the sockets.
 *
 * It is called at the event loop's next turn, not when `onFlush` returns:
 * uWebSockets.js buffers a published frame smaller than its cork buffer
 * (16 KB) and writes it to every socket of the topic in its own handler
 * around the loop's poll, after JavaScript returned. That write (one send per
 * socket) is most of an edge's CPU; timed when `onFlush` returned, it was
 * invisible here and was charged to the events that waited for it on the bus
 * instead (docs/benchmarks.md, "Where the time goes").
 */
export type SentHandler = (arrivedAt: readonly number[], tsMs: readonly number[], count: number, sentAt: number) => void;

class RoomBatch {
  readonly events: Uint8Array[] = [];
  /** When each event arrived and its `ts_ms`, beside `events` (kept only with an `onSent` handler). */
  arrivedAt: number[] = [];
  tsMs: number[] = [];
  /** When the room last sent a frame (ms, monotonic). */
  lastFlushAt = -Infinity;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  allowance: ChatAllowance | undefined;
  constructor(
    readonly room: string,
    readonly roomBytes: Uint8Array,
  ) {}
}

/**
 * The window of a room with `viewers` sockets on this edge: `baseMs`, or
 * longer when one frame per `baseMs` would cost more than `writesPerSecond`
 * socket writes (frames per second × viewers), up to `maxMs`. A budget of 0
 * (or a `maxMs` not above `baseMs`) keeps `baseMs`.
 */
export function adaptiveWindowMs(baseMs: number, maxMs: number, writesPerSecond: number, viewers: number): number {
  if (writesPerSecond <= 0 || maxMs <= baseMs) return baseMs;
  const needed = Math.ceil((viewers * 1000) / writesPerSecond);
  return needed <= baseMs ? baseMs : Math.min(maxMs, needed);
}

/** Options of a `Batcher`. */
export interface BatcherOptions {
  /** Minimum time between two frames of one room, in milliseconds; 0 sends each turn's events together. */
  windowMs: number;
  /** A room's window when it differs from `windowMs` (the adaptive window), asked when a room's next frame is scheduled. */
  windowFor?: (room: string) => number;
  /** A room holding this many events is flushed at once. */
  maxEvents: number;
  onFlush: FlushHandler;
  /** Told when each window's events were written (the latency histograms). */
  onSent?: SentHandler;
  now?: () => number;
  /** Per-viewer chat budget and sampling; without it every event goes to every viewer. */
  overload?: OverloadOptions;
}

const bytesOf = (items: WindowItem[]): Uint8Array[] => items.map((it) => it.bytes);

/** Collects encoded events per room and flushes them as Batch frames. */
export class Batcher {
  private readonly rooms = new Map<string, RoomBatch>();
  private readonly encoder = new TextEncoder();
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Queues one encoded event for `room`, with its `ts_ms` when known. Events must arrive in seq order. */
  add(room: string, event: Uint8Array, tsMs = 0): void {
    let batch = this.rooms.get(room);
    if (!batch) this.rooms.set(room, (batch = new RoomBatch(room, this.encoder.encode(room))));
    batch.events.push(event);
    if (this.options.onSent) {
      batch.arrivedAt.push(this.now());
      batch.tsMs.push(tsMs);
    }
    if (batch.events.length >= this.options.maxEvents) {
      this.flushRoom(batch);
      return;
    }
    if (batch.timer !== undefined || batch.immediate !== undefined) return;
    const windowMs = this.options.windowFor ? this.options.windowFor(room) : this.options.windowMs;
    const wait = batch.lastFlushAt + windowMs - this.now();
    const target = batch;
    if (wait <= 0) batch.immediate = setImmediate(() => this.flushRoom(target));
    else batch.timer = setTimeout(() => this.flushRoom(target), wait);
  }

  private cancel(batch: RoomBatch): void {
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    if (batch.immediate !== undefined) clearImmediate(batch.immediate);
    batch.timer = undefined;
    batch.immediate = undefined;
  }

  private flushRoom(batch: RoomBatch): void {
    this.cancel(batch);
    if (batch.events.length === 0) return;
    const count = batch.events.length;
    this.sendWindow(batch);
    const onSent = this.options.onSent;
    if (onSent && batch.arrivedAt.length > 0) {
      // Handed over: the next window fills new arrays while these wait for the write.
      const { arrivedAt, tsMs } = batch;
      batch.arrivedAt = [];
      batch.tsMs = [];
      setImmediate(() => onSent(arrivedAt, tsMs, count, this.now()));
    }
  }

  private sendWindow(batch: RoomBatch): void {
    const now = this.now();
    const overload = this.options.overload;
    if (!overload) {
      const frame = encodeBatchFrame(batch.events, batch.roomBytes);
      const count = batch.events.length;
      batch.events.length = 0;
      batch.lastFlushAt = now;
      this.options.onFlush(batch.room, frame, count, -1, 0);
      return;
    }
    batch.allowance ??= new ChatAllowance(Math.max(1, overload.budget / 2), now);
    const plan = planWindow(batch.events, batch.allowance, now, overload);
    batch.events.length = 0;
    batch.lastFlushAt = now;
    if (plan.kind === 'all') {
      this.options.onFlush(batch.room, encodeBatchFrame(bytesOf(plan.items), batch.roomBytes), plan.items.length, -1, 0);
      return;
    }
    plan.groups.forEach((g, group) => {
      const frame = encodeBatchFrame(bytesOf(g.items), batch.roomBytes, g.skipped, SkipReason.SKIP_REASON_OVERLOAD);
      this.options.onFlush(batch.room, frame, g.items.length, group, g.skipped);
    });
  }

  /** Sends every pending batch now (before shutdown). */
  flush(): void {
    for (const batch of this.rooms.values()) this.flushRoom(batch);
  }

  /** Forgets a room the edge no longer hosts, sending what it still holds. */
  drop(room: string): void {
    const batch = this.rooms.get(room);
    if (!batch) return;
    this.flushRoom(batch);
    this.rooms.delete(room);
  }

  /** Sends what is pending and stops every timer. */
  stop(): void {
    this.flush();
  }
}
