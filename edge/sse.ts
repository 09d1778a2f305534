/**
 * Server-Sent Events: the fallback transport for viewers whose network
 * blocks WebSocket (schools, some corporate proxies, old mobile carriers).
 *
 * `GET /sse?room=&token=&since=&epoch=` is admitted exactly like a WebSocket
 * upgrade (edge/upgrade.ts) and streams the same ServerFrames, each one SSE
 * message with the frame in base64 as its data. A message whose frame
 * carries a seq has the id `<epoch>:<seq>`, so a browser's own reconnect
 * sends `Last-Event-ID` and is resumed like `since=&epoch=`. Viewers send
 * with `POST /sse/send?session=<Welcome.session_id>&token=<the same token>`,
 * the body one binary ClientFrame, which goes through the very handler
 * WebSocket frames go through, with the connection's own rate limits;
 * answers (errors, pongs) come back on the stream.
 *
 * The edge sees an SSE stream as one more socket (`SseSocket` has the part
 * of uWS's WebSocket the edge uses), so fan-out, limits, moderation and
 * backpressure policy are the same code. Backpressure: a write uWS could not
 * hand to the kernel marks the stream lagging, and until uWS reports it
 * writable every frame for it is skipped and counted as for a WebSocket
 * (`barrage_dropped_total{reason="backpressure"}`, then a "skipped" frame);
 * a stream lagging past `BARRAGE_SLOW_READER_CLOSE_MS` is closed. So uWS
 * holds at most one unwritten message per stream, never a queue.
 *
 * `mode=poll` is for intermediaries that buffer a response until it ends:
 * the stream ends after its first live frame with events (or after
 * `pollMs`), and the client reconnects at once with `since`, so a buffering
 * proxy still delivers, a poll at a time.
 */
import type { HttpResponse } from 'uWebSockets.js';
import { v1 } from '../proto/index.js';
import { ServerFrameField } from '../proto/gen/tables.js';
import { tagOf, WireType } from '../proto/wire.js';
import { CloseReason } from '../domain/close-codes.js';
import { batchLastSeq } from './frames.js';
import type { Conn, Socket } from './connection.js';

/** How often an idle stream gets a comment line: under uWS's 10 s HTTP idle timeout and most proxies' read timeouts. */
export const sseKeepaliveMs = 5_000;
/** Longest a `mode=poll` response stays open without a live frame. */
export const ssePollMs = 20_000;
/**
 * Bytes of comment sent first: some intermediaries hold the first 1-2 KB
 * of a response before forwarding anything.
 */
const paddingBytes = 2048;

const tagWelcome = tagOf(ServerFrameField.welcome, WireType.Len);

/** What an SSE stream tells its edge (the same events a uWS WebSocket gives). */
export interface SseHooks {
  /** A frame was skipped because the stream is lagging. */
  dropped(ws: Socket, frame: Uint8Array): void;
  /** The stream can take frames again. */
  drain(ws: Socket): void;
  /** The stream ended (by us, the client or the network); `code` as a WebSocket close code. */
  close(ws: Socket, code: number): void;
  /** Threw inside a uWS callback of the stream (logged and counted by the edge). */
  error(err: unknown, entry: string): void;
}

/** Parses `Last-Event-ID` (`<epoch>:<seq>` or `<seq>`); undefined when it is not one of ours. */
export function parseLastEventId(value: string): { since: number; epoch: string } | undefined {
  if (value === '' || value.length > 100) return undefined;
  const at = value.lastIndexOf(':');
  const seqText = value.slice(at + 1);
  if (!/^\d{1,15}$/.test(seqText)) return undefined;
  return { since: Number(seqText), epoch: at < 0 ? '' : value.slice(0, at) };
}

/** One SSE message: optional id, the frame in base64. */
function message(frame: Uint8Array, id: string): string {
  const data = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
  return id === '' ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`;
}

/**
 * An SSE stream as the edge sees a socket. Implements the part of
 * `WebSocket<Conn>` the edge calls: `getUserData`, `send`, `cork`, `end`,
 * `close`, `getBufferedAmount`, `subscribe`.
 */
export class SseSocket {
  /** A write is still in uWS's buffer: frames are skipped until it drains. */
  private lagging = false;
  private ended = false;
  /** The epoch of this stream's Welcome (ids are `<epoch>:<seq>`). */
  epoch = '';
  /** The stream ends after its first live frame with events (`mode=poll`). */
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: HttpResponse,
    private readonly conn: Conn,
    private readonly hooks: SseHooks,
    private readonly maxBackpressure: number,
    readonly poll: boolean,
  ) {}

  /** Writes the headers and the padding; called inside the uWS request callback. */
  start(): void {
    this.res.onAborted(() => this.finished(1001));
    this.res.onWritable(() => {
      try {
        if (this.lagging) {
          this.lagging = false;
          this.hooks.drain(this.asSocket());
        }
      } catch (err) {
        this.hooks.error(err, 'sse drain');
      }
      return true;
    });
    this.res.cork(() => {
      this.res
        .writeStatus('200 OK')
        .writeHeader('content-type', 'text/event-stream; charset=utf-8')
        .writeHeader('cache-control', 'no-cache, no-store, no-transform')
        .writeHeader('x-accel-buffering', 'no')
        .writeHeader('access-control-allow-origin', '*');
      this.res.write(`: ${' '.repeat(paddingBytes)}\nretry: 2000\n\n`);
    });
    if (this.poll) this.pollTimer = setTimeout(() => this.endPoll(), ssePollMs);
  }

  /** This object where the edge expects a socket. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }

  getUserData(): Conn {
    return this.conn;
  }

  /** Like `WebSocket.send`: 1 written, 0 written with backpressure, 2 skipped (the stream is lagging or closed). */
  send(frame: Uint8Array | ArrayBuffer): number {
    if (this.ended) return 2;
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
    let seq: number;
    // Something for a poll to return: anything but the Welcome of a resume that missed nothing.
    let news = true;
    if (bytes[0] === tagWelcome) {
      const welcome = v1.ServerFrame.decode(bytes).welcome;
      this.epoch = welcome?.epoch ?? '';
      seq = Number(welcome?.seq ?? 0);
      news = !(welcome?.recovered ?? false);
    } else seq = batchLastSeq(bytes);
    return this.write(message(bytes, seq > 0 ? `${this.epoch}:${seq}` : ''), bytes, news);
  }

  /**
   * A room's live frame, its message made once for every stream of the
   * room (`chunk`), `events` > 0 when it carries events.
   */
  sendShared(chunk: string, frame: Uint8Array, events: number): void {
    if (this.ended) return;
    this.write(chunk, frame, events > 0);
  }

  private write(chunk: string, frame: Uint8Array, news: boolean): number {
    if (this.lagging) {
      this.hooks.dropped(this.asSocket(), frame);
      return 2;
    }
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    if (!ok) this.lagging = true;
    // A poll ends once it has something to show, after this turn: frames written with it (history after a Welcome) go too.
    if (this.poll && news) setImmediate(() => this.endPoll());
    return ok ? 1 : 0;
  }

  /** A comment line: keeps the stream alive through proxies' and uWS's idle timeouts. */
  keepalive(): void {
    if (this.ended || this.lagging) return;
    this.res.cork(() => this.res.write(':\n\n'));
  }

  cork(cb: () => void): this {
    // Each write corks itself (uWS's HttpResponse has no cork spanning writes made outside it).
    cb();
    return this;
  }

  getBufferedAmount(): number {
    return this.lagging ? this.maxBackpressure : 0;
  }

  /** Rooms' viewer groups are served by the edge's SSE fan-out, not uWS topics. */
  subscribe(): boolean {
    return true;
  }

  /**
   * Ends the stream with a close code: an `event: close` message (data
   * `<code> <reason>`) tells the widget whether to reconnect, as a
   * WebSocket close frame would. A lagging stream is cut instead.
   */
  end(code = 1000, reason?: string): void {
    if (this.ended) return;
    if (this.lagging) return this.close();
    const text = `${code} ${reason ?? CloseReason[code] ?? ''}`.trim();
    this.finished(code);
    this.res.cork(() => this.res.end(`event: close\ndata: ${text}\n\n`));
  }

  /** Cuts the connection without a goodbye. */
  close(): void {
    if (this.ended) return;
    this.finished(1006);
    // Runs onAborted at once, which finds the stream finished.
    this.res.close();
  }

  private endPoll(): void {
    if (this.ended) return;
    this.finished(1000);
    this.res.cork(() => this.res.end());
  }

  /** Reports the end once, whoever ended it. */
  private finished(code: number): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.pollTimer);
    this.hooks.close(this.asSocket(), code);
  }
}

/** The SSE streams of one edge, by room and by session (for `POST /sse/send`). */
export class SseStreams {
  private readonly rooms = new Map<string, Set<SseSocket>>();
  private readonly sessions = new Map<string, SseSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly buckets: number) {}

  start(): void {
    this.timer = setInterval(() => {
      for (const set of this.rooms.values()) for (const s of set) s.keepalive();
    }, sseKeepaliveMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  add(stream: SseSocket, sessionId: string): void {
    const room = stream.getUserData().room;
    let set = this.rooms.get(room);
    if (!set) this.rooms.set(room, (set = new Set()));
    set.add(stream);
    this.sessions.set(sessionId, stream);
  }

  /** Forgets the stream of a session (it ended). */
  remove(sessionId: string): void {
    const stream = this.sessions.get(sessionId);
    if (!stream) return;
    this.sessions.delete(sessionId);
    const room = stream.getUserData().room;
    const set = this.rooms.get(room);
    set?.delete(stream);
    if (set?.size === 0) this.rooms.delete(room);
  }

  /** The stream of a session on this edge. */
  session(sessionId: string): SseSocket | undefined {
    return this.sessions.get(sessionId);
  }

  /** Open streams. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Writes a room's frame to its streams of viewer groups `[from, to)`: the
   * message is made once per frame, only when the room has streams.
   */
  publish(room: string, frame: Uint8Array, events: number, from: number, to: number): number {
    const set = this.rooms.get(room);
    if (!set || set.size === 0) return 0;
    const seq = batchLastSeq(frame);
    let chunk: string | undefined;
    let chunkEpoch = '';
    let receivers = 0;
    for (const stream of set) {
      const group = stream.getUserData().session % this.buckets;
      if (group < from || group >= to) continue;
      // Every stream of a room has the same epoch; made again only if one does not.
      if (chunk === undefined || stream.epoch !== chunkEpoch) {
        chunkEpoch = stream.epoch;
        chunk = message(frame, seq > 0 ? `${chunkEpoch}:${seq}` : '');
      }
      stream.sendShared(chunk, frame, events);
      receivers++;
    }
    return receivers;
  }
}
