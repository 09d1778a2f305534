/**
 * The on-disk overflow of webhook events in one process, where the source (a
 * bus subscription) cannot be paused: once the queue in memory is full,
 * every new event is appended here, in arrival order, until the queue has
 * room again and what is here has been read back, oldest first. Nothing
 * overtakes: while anything is spilled, new events are spilled behind it.
 *
 * Events are kept as the bytes they arrived as (length-prefixed), in chunks
 * of up to `chunkEvents` events, one file per chunk, through the analytics
 * sink's `SpillDir` (asynchronous writes in order, temporary names renamed,
 * a byte limit, recovery of an earlier run's files at start). Past the limit
 * events are dropped and counted.
 */
import type { Logger } from 'pino';
import { SpillDir } from '../analytics/sink-spill.js';

/** Events per spill file. */
const chunkEvents = 1_000;
/** A chunk is sealed at the latest this long after its first event (so a quiet room's events reach disk). */
const chunkMs = 1_000;

interface Chunk {
  file: string;
  written: Promise<boolean>;
  events: number;
}

/** Spilled webhook events, in order. */
export class WebhookSpill {
  /** Events dropped because the spill limit was reached. */
  dropped = 0;
  /** Events written to spill, since start. */
  spilled = 0;
  private readonly dir: SpillDir;
  private readonly files: Chunk[] = [];
  private open: Buffer[] = [];
  private openEvents = 0;
  private openBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private draining = false;

  constructor(dir: string, maxBytes: number, logger?: Logger) {
    this.dir = new SpillDir(dir, maxBytes, logger, 'webhook');
  }

  /** True while anything is spilled: new events must follow it here. */
  get active(): boolean {
    return this.files.length > 0 || this.openEvents > 0;
  }

  /** Bytes on disk or being written. */
  get bytes(): number {
    return this.dir.bytes;
  }

  /** Picks up an earlier run's files (they are read back before anything newer). */
  async recover(): Promise<void> {
    for (const f of await this.dir.recover()) this.files.push({ file: f.file, written: Promise.resolve(true), events: 0 });
  }

  /** Appends an event behind everything spilled so far. */
  append(bytes: Uint8Array): void {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length);
    this.open.push(len, Buffer.from(bytes));
    this.openEvents++;
    this.openBytes += 4 + bytes.length;
    this.spilled++;
    if (this.openEvents >= chunkEvents) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), chunkMs);
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.openEvents === 0) return;
    const payload = Buffer.concat(this.open, this.openBytes);
    const id = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++).padStart(9, '0')}`;
    const write = this.dir.write(id, false, payload);
    if (write) this.files.push({ file: write.file, written: write.written, events: this.openEvents });
    else this.dropped += this.openEvents;
    this.open = [];
    this.openEvents = 0;
    this.openBytes = 0;
  }

  /**
   * Reads back the oldest chunk (the open one from memory when nothing is on
   * disk) and hands each event to `feed`, in order; false when there was
   * nothing, or a drain is already running.
   */
  async drainOne(feed: (bytes: Uint8Array) => void): Promise<boolean> {
    if (this.draining) return false;
    this.draining = true;
    try {
      const chunk = this.files.shift();
      if (!chunk) {
        if (this.openEvents === 0) return false;
        const payload = Buffer.concat(this.open, this.openBytes);
        clearTimeout(this.timer);
        this.timer = undefined;
        this.open = [];
        this.openEvents = 0;
        this.openBytes = 0;
        split(payload, feed);
        return true;
      }
      const ok = await chunk.written;
      const payload = ok ? await this.dir.read(chunk.file) : undefined;
      if (payload) split(payload, feed);
      else this.dropped += chunk.events;
      this.dir.remove(chunk.file);
      return true;
    } finally {
      this.draining = false;
    }
  }

  /** Seals the open chunk so it survives a restart, and waits for the disk. */
  async stop(): Promise<void> {
    this.seal();
    await this.dir.idle();
  }
}

function split(payload: Buffer, feed: (bytes: Uint8Array) => void): void {
  for (let at = 0; at + 4 <= payload.length;) {
    const len = payload.readUInt32BE(at);
    if (at + 4 + len > payload.length) break;
    feed(payload.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
}
