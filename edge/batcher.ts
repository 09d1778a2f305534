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
 */
import { encodeBatchFrame } from './frames.js';

/** Called with each finished frame; `events` is how many events it carries. */
export type FlushHandler = (room: string, frame: Uint8Array, events: number) => void;

class RoomBatch {
  readonly events: Uint8Array[] = [];
  /** When the room last sent a frame (ms, monotonic). */
  lastFlushAt = -Infinity;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  constructor(
    readonly room: string,
    readonly roomBytes: Uint8Array,
  ) {}
}

/** Options of a `Batcher`. */
export interface BatcherOptions {
  /** Minimum time between two frames of one room, in milliseconds; 0 sends each turn's events together. */
  windowMs: number;
  /** A room holding this many events is flushed at once. */
  maxEvents: number;
  onFlush: FlushHandler;
  now?: () => number;
}

/** Collects encoded events per room and flushes them as Batch frames. */
export class Batcher {
  private readonly rooms = new Map<string, RoomBatch>();
  private readonly encoder = new TextEncoder();
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Queues one encoded event for `room`. Events must arrive in seq order. */
  add(room: string, event: Uint8Array): void {
    let batch = this.rooms.get(room);
    if (!batch) this.rooms.set(room, (batch = new RoomBatch(room, this.encoder.encode(room))));
    batch.events.push(event);
    if (batch.events.length >= this.options.maxEvents) {
      this.flushRoom(batch);
      return;
    }
    if (batch.timer !== undefined || batch.immediate !== undefined) return;
    const wait = batch.lastFlushAt + this.options.windowMs - this.now();
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
    const frame = encodeBatchFrame(batch.events, batch.roomBytes);
    const count = batch.events.length;
    batch.events.length = 0;
    batch.lastFlushAt = this.now();
    this.options.onFlush(batch.room, frame, count);
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
