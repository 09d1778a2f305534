/**
 * The connection controller both components share: one WebSocket per server
 * and room, the token (a string or a provider called before every connect, so
 * a refreshed token is used after expiry), reconnects with exponential
 * backoff and full jitter, and resume from the last seq seen. When a
 * WebSocket cannot open (blocked by a proxy or network), it falls back to
 * Server-Sent Events (widget/transport.ts) and says so in `transport`.
 *
 * It decodes each frame once and hands the same objects to every listener.
 * Events that take a seq (chat, paid, control) are delivered once: history
 * may interleave with live batches, and a resume may replay what was seen.
 */
import { shouldReconnect } from '../domain/close-codes.js';
import { isCounterKind } from '../domain/event-kind.js';
import { decodeServerFrame, encodeClientFrame } from './wire.js';
import { openWebSocket } from './transport.js';
import type { Transport, TransportKind } from './transport.js';
import type { Batch, ClientFrame, ServerFrame, Welcome, WireErrorFrame, WireEvent } from './wire.js';

/** Where a connection is. */
export const ConnectionState = { Idle: 'idle', Connecting: 'connecting', Open: 'open', Waiting: 'waiting', Closed: 'closed' } as const;
/** A connection state name. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Returns a token for a room (called before each connect); '' connects as a read-only guest. */
export type TokenProvider = (room: string) => string | Promise<string>;

/** What a `BarrageConnection` tells its listeners. */
export interface ConnectionListener {
  welcome?(welcome: Welcome): void;
  /** Events not seen before, in seq order within a batch. */
  events?(events: readonly WireEvent[], history: boolean): void;
  /** The server thinned chat for this viewer ("+N more"). */
  skipped?(count: number, reason: number): void;
  error?(error: WireErrorFrame): void;
  /** A frame the client sent with a client_msg_id was accepted (a danmaku sequenced, a report filed). */
  ack?(ack: { clientMsgId: string; seq: number }): void;
  /** Moderators only: an undecoded `held` or `reported` frame body (the console decodes it). */
  moderation?(frame: { held?: Uint8Array; reported?: Uint8Array }): void;
  /** The undecoded answer to this viewer's play frame (the plays chunk decodes it). */
  playAnswer?(bytes: Uint8Array): void;
  state?(state: ConnectionState, detail: ConnectionDetail): void;
}

/** What a state change carries: the close that caused it, the wait before the next try, the transport in use. */
export interface ConnectionDetail {
  code?: number;
  reason?: string;
  retryInMs?: number;
  /** `websocket`, or `sse` once the connection fell back to Server-Sent Events. */
  transport?: TransportKind;
}

/** Options of a connection. */
export interface ConnectionOptions {
  /** WebSocket endpoint, e.g. `wss://chat.example.com/ws`. */
  url: string;
  room: string;
  /** `room` names a video: the socket joins with `video=` (replay mode: VOD danmaku at a video time). */
  video?: boolean;
  token?: string;
  tokenProvider?: TokenProvider;
  /** First backoff step in ms (default 500); the cap is 30 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Never open a socket: frames come only through `receive()` (replays, benchmarks). */
  manual?: boolean;
  /**
   * A WebSocket that has not opened after this long (or fails before
   * opening) makes the connection fall back to SSE for good (default 4 s; 0: never).
   */
  fallbackAfterMs?: number;
}

/** Seqs remembered for de-duplication; older ones are below `lastSeq` anyway. */
const seenWindow = 4096;

/** One WebSocket to one room, shared by every component that shows the room. */
export class BarrageConnection {
  readonly url: string;
  readonly room: string;
  /** `room` is a video id (joined with `video=`). */
  readonly video: boolean;
  /** On a video's connection: the player's time (ms), sent as each danmaku's `video_ms` (replay mode sets it). */
  videoTime: (() => number) | undefined;
  token: string;
  tokenProvider: TokenProvider | undefined;
  state: ConnectionState = ConnectionState.Idle;
  welcome: Welcome | undefined;
  /** The highest seq seen: sent as `since` on reconnect. */
  lastSeq = 0;
  /** The epoch `lastSeq` belongs to: sent as `epoch` beside `since`. */
  epoch = '';
  /** How many times the socket was opened (1 after the first connect). */
  opens = 0;
  /** The `since` of the latest connect, -1 for a fresh join. */
  resumedFrom = -1;
  /** `websocket` until a WebSocket fails to open; then `sse` (Server-Sent Events plus POST). */
  transport: TransportKind = 'websocket';
  private ws: Transport | undefined;
  private readonly fallbackAfterMs: number;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  /** SSE saw a buffering intermediary: later streams poll. */
  private ssePoll = false;
  /** A WebSocket opened once: WebSocket works here, so later failures are the server's, not the network's. */
  private wsWorked = false;
  private readonly listeners = new Set<ConnectionListener>();
  private readonly seen = new Set<number>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private refs = 0;
  private nextMsgId = 0;
  private readonly manual: boolean;

  constructor(options: ConnectionOptions) {
    this.url = options.url;
    this.room = options.room;
    this.video = options.video ?? false;
    this.token = options.token ?? '';
    this.tokenProvider = options.tokenProvider;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.manual = options.manual ?? false;
    this.fallbackAfterMs = options.fallbackAfterMs ?? 4_000;
  }

  /** Adds a listener; the first one opens the socket. Returns the remover. */
  subscribe(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    if (this.welcome) listener.welcome?.(this.welcome);
    listener.state?.(this.state, { transport: this.transport });
    const idle = this.state === ConnectionState.Idle || this.state === ConnectionState.Closed;
    if (++this.refs === 1 && idle) this.connect();
    return () => {
      if (!this.listeners.delete(listener)) return;
      // Deferred: an element moved in the DOM unsubscribes and subscribes again at once.
      if (--this.refs === 0) setTimeout(() => this.refs === 0 && this.close(), 0);
    };
  }

  /** Opens the socket now (cancelling a pending retry). */
  connect(): void {
    if (this.manual) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.setState(ConnectionState.Connecting, {});
    void this.open();
  }

  /** `polling`: the next SSE poll, while the connection stays open (see `onTransportClosed`). */
  private async open(polling = false): Promise<void> {
    let token = this.token;
    try {
      if (this.tokenProvider) token = this.token = await this.tokenProvider(this.room);
    } catch {
      return this.retry(0, 'token provider failed');
    }
    const current = (): boolean => this.state === ConnectionState.Connecting || (polling && this.state === ConnectionState.Open);
    if (!current()) return; // closed meanwhile
    const q = new URLSearchParams({ [this.video ? 'video' : 'room']: this.room });
    if (token) q.set('token', token);
    this.resumedFrom = this.lastSeq > 0 ? this.lastSeq : -1;
    if (this.lastSeq > 0) {
      q.set('since', String(this.lastSeq));
      if (this.epoch) q.set('epoch', this.epoch);
    }
    let opened = false;
    let transport: Transport | undefined;
    const events = {
      opened: () => {
        opened = true;
        if (this.transport === 'websocket') this.wsWorked = true;
        clearTimeout(this.openTimer);
      },
      frame: (bytes: Uint8Array) => {
        if (transport === this.ws) this.receive(bytes);
      },
      closed: (code: number, reason: string) => {
        if (transport !== this.ws) return;
        clearTimeout(this.openTimer);
        // A WebSocket that never opened, here where none ever has: blocked on the way. Fall back to SSE at once.
        if (!opened && this.mayFallBack()) return this.fallBack();
        this.onTransportClosed(code, reason);
      },
    };
    if (this.transport === 'sse') {
      const { openSse } = await import('./transport-sse.js');
      if (!current()) return;
      transport = openSse({ wsUrl: this.url, query: q, poll: this.ssePoll, onBuffered: () => (this.ssePoll = true) }, events);
      this.ws = transport;
      return;
    }
    transport = openWebSocket(this.url + (this.url.includes('?') ? '&' : '?') + q.toString(), events);
    this.ws = transport;
    if (this.mayFallBack()) {
      // A proxy may hold the upgrade open without ever answering it.
      this.openTimer = setTimeout(() => {
        if (!opened && this.ws === transport) this.fallBack();
      }, this.fallbackAfterMs);
    }
  }

  /**
   * Whether a WebSocket that does not open means "blocked": only while none
   * has ever opened for this connection (a restarting server also refuses
   * sockets, and must not move its viewers to SSE).
   */
  private mayFallBack(): boolean {
    return this.transport === 'websocket' && !this.wsWorked && this.fallbackAfterMs > 0;
  }

  /** Switches this connection to SSE for good and connects again now. */
  private fallBack(): void {
    this.ws?.close();
    this.ws = undefined;
    this.transport = 'sse';
    this.connect();
  }

  private onTransportClosed(code: number, reason: string): void {
    this.ws = undefined;
    if (this.state === ConnectionState.Closed) return;
    // An SSE poll (behind a buffering intermediary) ended as it should: the next one at once,
    // and the connection stays open meanwhile (the next Welcome comes when that poll ends).
    if (this.transport === 'sse' && code === 1000 && reason === 'poll' && this.state === ConnectionState.Open) {
      void this.open(true);
      return;
    }
    if (!shouldReconnect(code)) {
      this.setState(ConnectionState.Closed, { code, reason });
      return;
    }
    this.retry(code, reason);
  }

  private retry(code: number, reason: string): void {
    // Full jitter: a random wait up to the exponential step, so a restarted
    // server is not hit by every viewer in the same millisecond.
    const step = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(this.attempt++, 16));
    const retryInMs = Math.round(Math.random() * step);
    this.setState(ConnectionState.Waiting, { code, reason, retryInMs });
    this.timer = setTimeout(() => this.connect(), retryInMs);
  }

  /** Closes for good (until `connect()` is called again). */
  close(): void {
    clearTimeout(this.timer);
    clearTimeout(this.openTimer);
    this.setState(ConnectionState.Closed, {});
    const ws = this.ws;
    this.ws = undefined;
    ws?.close();
  }

  /**
   * Handles one binary ServerFrame as if it came from the socket. The socket
   * calls it; so do tests, replays and benchmarks that feed recorded frames.
   */
  receive(bytes: Uint8Array): void {
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(bytes);
    } catch {
      return; // a frame we cannot read is dropped, never thrown into the page
    }
    if (frame.welcome) this.onWelcome(frame.welcome);
    else if (frame.batch) this.onBatch(frame.batch);
    else if (frame.error) for (const l of this.listeners) l.error?.(frame.error);
    else if (frame.ack) for (const l of this.listeners) l.ack?.(frame.ack);
    else if (frame.held || frame.reported) for (const l of this.listeners) l.moderation?.(frame);
    else if (frame.playAnswer) for (const l of this.listeners) l.playAnswer?.(frame.playAnswer);
  }

  private onWelcome(welcome: Welcome): void {
    // A seq below ours without recovery means the room's sequence started
    // over (a core restart without persistence): forget what we saw, or every
    // new event would look like a duplicate.
    // The same for a new epoch (a restarted server, a lost stream): its seqs
    // say nothing about the ones we saw, whatever their size.
    if (!welcome.recovered && (welcome.seq < this.lastSeq || (this.epoch !== '' && welcome.epoch !== this.epoch))) {
      this.seen.clear();
      this.lastSeq = 0;
    }
    this.epoch = welcome.epoch;
    this.lastSeq = Math.max(this.lastSeq, welcome.seq);
    this.ws?.welcomed(welcome.sessionId);
    this.welcome = welcome;
    this.attempt = 0;
    this.opens++;
    this.setState(ConnectionState.Open, {});
    for (const l of this.listeners) l.welcome?.(welcome);
  }

  private onBatch(batch: Batch): void {
    if (batch.skipped > 0) for (const l of this.listeners) l.skipped?.(batch.skipped, batch.skipReason);
    const fresh = this.dedupe(batch.events);
    if (fresh.length === 0) return;
    for (const l of this.listeners) l.events?.(fresh, batch.history);
  }

  private dedupe(events: WireEvent[]): WireEvent[] {
    let out: WireEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as WireEvent;
      // Counters carry the latest seq without taking one; they are never duplicates.
      const counter = isCounterKind(e.kind);
      const dup = !counter && e.seq > 0 && this.seen.has(e.seq);
      if (!dup && !counter && e.seq > 0) {
        this.seen.add(e.seq);
        if (this.seen.size > seenWindow) this.trimSeen();
        if (e.seq > this.lastSeq) this.lastSeq = e.seq;
      }
      if (dup && !out) out = events.slice(0, i);
      else if (!dup && out) out.push(e);
    }
    return out ?? events;
  }

  private trimSeen(): void {
    const floor = this.lastSeq - seenWindow / 2;
    for (const s of this.seen) if (s < floor) this.seen.delete(s);
  }

  private setState(state: ConnectionState, detail: ConnectionDetail): void {
    this.state = state;
    const withTransport = { ...detail, transport: this.transport };
    for (const l of this.listeners) l.state?.(state, withTransport);
  }

  /** Whether frames can be sent now. */
  get canSend(): boolean {
    return this.ws !== undefined && this.state === ConnectionState.Open;
  }

  /** Sends a ClientFrame; returns false when the socket is not open. */
  send(frame: ClientFrame): boolean {
    if (!this.canSend) return false;
    return (this.ws as Transport).send(encodeClientFrame(frame));
  }

  /** A fresh client_msg_id: an Ack or Error for the frame carries it back. */
  nextClientMsgId(): string {
    return `${Date.now().toString(36)}-${(++this.nextMsgId).toString(36)}`;
  }

  /**
   * Sends a danmaku; returns its client_msg_id (errors for it carry the same id), or '' when offline
   * (or, on a video's connection, while no player gives the time).
   */
  sendDanmaku(text: string, options: { mode?: number; color?: number; size?: number } = {}): string {
    const clientMsgId = this.nextClientMsgId();
    const videoMs = this.videoTime?.();
    if (this.video && videoMs === undefined) return '';
    return this.send({ sendDanmaku: { text, clientMsgId, ...options, videoMs } }) ? clientMsgId : '';
  }

  /** Reports a danmaku to the room's moderators; returns its client_msg_id, or '' when offline. */
  report(danmakuId: string, reason: number, detail = ''): string {
    const clientMsgId = this.nextClientMsgId();
    return this.send({ report: { danmakuId, reason, detail, clientMsgId } }) ? clientMsgId : '';
  }
}

const shared = new Map<string, BarrageConnection>();

/**
 * The connection for a server and room, created on first use. Components of
 * one page that show the same room share it, so a page holds one socket.
 * A token or provider given later replaces the earlier one.
 */
export function sharedConnection(options: ConnectionOptions): BarrageConnection {
  const key = options.url + (options.video ? '#video#' : '#') + options.room;
  let conn = shared.get(key);
  if (!conn) shared.set(key, (conn = new BarrageConnection(options)));
  if (options.token) conn.token = options.token;
  if (options.tokenProvider) conn.tokenProvider = options.tokenProvider;
  return conn;
}

/** The WebSocket endpoint of the server that served this bundle (`/ws` beside `/widget.js`). */
export function defaultServerUrl(): string {
  const base = new URL(import.meta.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return `ws://${location.host}/ws`;
  return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}/ws`;
}
