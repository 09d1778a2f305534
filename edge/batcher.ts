/**
 * Per-room batching: events of a room collected during one window go out as
 * one Batch frame, encoded once and published once to every socket of the
 * room. One timer serves all rooms; it runs only while some room has events.
 */
import { encodeBatchFrame } from './frames.js';

/** Called with each finished frame; `events` is how many events it carries. */
export type FlushHandler = (room: string, frame: Uint8Array, events: number) => void;

class RoomBatch {
  readonly events: Uint8Array[] = [];
  dirty = false;
  constructor(
    readonly room: string,
    readonly roomBytes: Uint8Array,
  ) {}
}

/** Options of a `Batcher`. */
export interface BatcherOptions {
  /** Window in milliseconds; 0 sends each bus turn's events at the next tick. */
  windowMs: number;
  /** A room holding this many events is flushed at once. */
  maxEvents: number;
  onFlush: FlushHandler;
}

/** Collects encoded events per room and flushes them as Batch frames. */
export class Batcher {
  private readonly rooms = new Map<string, RoomBatch>();
  private readonly dirty: RoomBatch[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly encoder = new TextEncoder();

  constructor(private readonly options: BatcherOptions) {}

  /** Queues one encoded event for `room`. Events must arrive in seq order. */
  add(room: string, event: Uint8Array): void {
    let batch = this.rooms.get(room);
    if (!batch) this.rooms.set(room, (batch = new RoomBatch(room, this.encoder.encode(room))));
    batch.events.push(event);
    if (batch.events.length >= this.options.maxEvents) {
      this.flushRoom(batch);
      return;
    }
    if (!batch.dirty) {
      batch.dirty = true;
      this.dirty.push(batch);
    }
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    this.timer = this.options.windowMs === 0 ? setImmediate(this.tick) : setInterval(this.tick, this.options.windowMs);
  }

  private readonly tick = (): void => {
    if (this.dirty.length === 0) {
      // A quiet window: stop the timer until the next event.
      if (this.options.windowMs !== 0) clearInterval(this.timer as NodeJS.Timeout);
      this.timer = undefined;
      return;
    }
    this.flush();
    if (this.options.windowMs === 0) this.timer = undefined;
  };

  private flushRoom(batch: RoomBatch): void {
    if (batch.events.length === 0) return;
    const frame = encodeBatchFrame(batch.events, batch.roomBytes);
    const count = batch.events.length;
    batch.events.length = 0;
    this.options.onFlush(batch.room, frame, count);
  }

  /** Sends every pending batch now (each window, and before shutdown). */
  flush(): void {
    for (const batch of this.dirty) {
      batch.dirty = false;
      this.flushRoom(batch);
    }
    this.dirty.length = 0;
  }

  /** Forgets a room the edge no longer hosts, sending what it still holds. */
  drop(room: string): void {
    const batch = this.rooms.get(room);
    if (!batch) return;
    this.flushRoom(batch);
    this.rooms.delete(room);
  }

  stop(): void {
    this.flush();
    if (this.timer !== undefined) {
      if (this.options.windowMs === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearInterval(this.timer as NodeJS.Timeout);
      this.timer = undefined;
    }
  }
}
