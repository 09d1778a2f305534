/**
 * The edge: holds WebSocket connections for rooms, checks tokens at upgrade,
 * validates and rate-limits what viewers send, and fans room events out as
 * one Batch frame per room per window through uWebSockets.js topics.
 */
import * as uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { ErrorCode, Role, SkipReason, v1 } from '../proto/index.js';
import { verifyTokenSync } from '../core/auth.js';
import type { Identity, RoleName } from '../core/auth.js';
import type { Bus, Subscription } from '../core/bus.js';
import { BusStatus } from '../core/bus.js';
import type { Config } from '../core/config.js';
import { TokenError } from '../core/errors.js';
import { CoreErrorCode } from '../core/errors.js';
import { isValidRoomId, subjects } from '../core/subjects.js';
import { Batcher } from './batcher.js';
import { CloseCode, CloseReason } from './close-codes.js';
import { ListenError } from './errors.js';
import { countBatchEvents, errorFrame, skippedFrame } from './frames.js';
import { mountRoutes } from './http.js';
import type { Route } from './http.js';
import { EdgeMetrics } from './metrics.js';
import { fullBucket, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { isRefusal, validateDanmaku } from './validate.js';

/** Per-connection state, kept in uWS user data. */
interface Conn {
  room: string;
  identity: Identity;
  /** Per-edge connection number; with the edge id it names the session. */
  session: number;
  /** Resume point from the URL (`since`), or -1 for a fresh join. */
  since: number;
  frames: BucketState;
  danmaku: BucketState;
  badFrames: number;
  /** Frames over the frame-rate limit in the current strike window. */
  strikes: number;
  strikeWindowStart: number;
  lastRateErrorAt: number;
  /** Chat events uWS skipped for this socket because it read too slowly. */
  skipped: number;
  laggingSince: number;
  closed: boolean;
}

/** Roles as the wire enum. */
const roleToWire: Record<RoleName, v1.Role> = {
  guest: Role.ROLE_GUEST,
  viewer: Role.ROLE_VIEWER,
  moderator: Role.ROLE_MODERATOR,
  host: Role.ROLE_HOST,
  admin: Role.ROLE_ADMIN,
};

const historyTimeoutMs = 2_000;

/** The uWS topic of a room. */
const topicOf = (room: string): string => 'r/' + room;

/** The identity every guest connection shares (read only; `room` is on the connection). */
const guestIdentity: Identity = Object.freeze({ userId: 'guest', name: 'guest', room: '', role: 'guest', exp: 0, member: false });

/**
 * Runs `fn` on a fresh macrotask, never inside a uWebSockets.js callback: uWS
 * calls made from promise continuations (which can run at the end of another
 * socket's callback) go through this.
 */
const onMacrotask = setImmediate;
const presenceIntervalMs = 1_000;
const sweepIntervalMs = 1_000;
/** Undecodable frames tolerated per connection before closing it. */
const maxBadFrames = 10;
/** Frames over the frame limit tolerated per 10 s before closing for flood. */
const strikeWindowMs = 10_000;
/** RATE_LIMITED errors are sent at most this often per connection. */
const rateErrorIntervalMs = 1_000;
/** Frames this many times the limit close the socket with 1009 (sent by us, a clean close). */
const closeFrameFactor = 4;
/**
 * uWebSockets.js's own payload cap: above it uWS drops the connection without
 * a close frame (the client sees 1006). Bounded so one frame cannot cost much memory.
 */
const uwsPayloadCap = 64 * 1024;

/** Options of an edge. */
export interface EdgeOptions {
  config: Config;
  bus: Bus;
  logger: Logger;
  /** Extra HTTP routes (pages, API) mounted next to the edge's own. */
  routes?: readonly Route[];
  /** Collect Node process metrics in /metrics (off in tests with many edges). */
  processMetrics?: boolean;
}

/** A running edge. */
export class EdgeServer {
  readonly metrics: EdgeMetrics;
  private readonly app: TemplatedApp;
  private readonly config: Config;
  private readonly bus: Bus;
  private readonly log: Logger;
  private readonly batcher: Batcher;
  private readonly sockets = new Set<WebSocket<Conn>>();
  private readonly lagging = new Set<WebSocket<Conn>>();
  /** Local viewer count and bus interest per hosted room. */
  private readonly rooms = new Map<string, { count: number; sub: Subscription }>();
  /** Rooms emptied since the last presence report (reported once as 0). */
  private readonly emptied = new Set<string>();
  private listenSocket: us_listen_socket | undefined;
  private draining = false;
  private timers: NodeJS.Timeout[] = [];
  private boundPort = 0;
  private sessions = 0;

  constructor(options: EdgeOptions) {
    this.config = options.config;
    this.bus = options.bus;
    this.log = options.logger.child({ part: 'edge', edge: options.config.edgeId });
    this.metrics = new EdgeMetrics(options.processMetrics ?? false);
    this.batcher = new Batcher({
      windowMs: this.config.batchWindowMs,
      maxEvents: this.config.batchMaxEvents,
      onFlush: this.onFlush,
    });
    this.app = uWS.App();
    this.app.ws<Conn>('/ws', {
      compression: 0, // uWS.DISABLED: batches are small and deflate costs CPU per socket
      maxPayloadLength: Math.max(uwsPayloadCap, this.config.maxFrameBytes * closeFrameFactor * 2),
      maxBackpressure: this.config.maxBackpressure,
      closeOnBackpressureLimit: false,
      idleTimeout: this.config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      dropped: (ws, message) => this.onDropped(ws, message),
      drain: (ws) => this.onDrain(ws),
      close: (ws) => this.onClose(ws),
    });
    mountRoutes(this.app, [...this.ownRoutes(), ...(options.routes ?? [])], (err) => this.log.error({ err }, 'route handler failed'));
    this.app.any('/*', (res) => {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('not found');
    });
  }

  /** Binds the port (0 picks a free one) and starts the timers. */
  async listen(): Promise<number> {
    const { host, port } = this.config;
    await new Promise<void>((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) return reject(new ListenError(`cannot listen on ${host}:${port}`));
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
        resolve();
      });
    });
    this.timers.push(setInterval(() => this.reportPresence(), presenceIntervalMs));
    this.timers.push(setInterval(() => this.sweepSlowReaders(), sweepIntervalMs));
    this.log.info({ port: this.boundPort }, 'edge listening');
    return this.boundPort;
  }

  /** The bound port. */
  get port(): number {
    return this.boundPort;
  }

  /** Open connections on this edge. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Rooms this edge currently holds interest in on the bus. */
  hostedRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /**
   * Graceful shutdown: refuse new connections (readiness goes red), send what
   * is batched, close every socket with 4000 "reconnect elsewhere", then stop.
   */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.batcher.stop();
    for (const ws of [...this.sockets]) this.closeSocket(ws, CloseCode.Shutdown);
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ws of [...this.sockets]) ws.close();
    for (const { sub } of this.rooms.values()) sub.unsubscribe();
    this.rooms.clear();
    // Closes what is left, idle keep-alive HTTP connections included, so the
    // port can be bound again at once.
    this.app.close();
    this.log.info('edge stopped');
  }

  // ------------------------------------------------------------------ HTTP

  private ownRoutes(): Route[] {
    const text = (status: number, body: string) => ({ status, headers: { 'content-type': 'text/plain' }, body });
    return [
      { method: 'get', pattern: '/healthz', handler: () => text(200, 'ok') },
      {
        method: 'get',
        pattern: '/readyz',
        handler: () => {
          if (this.draining) return text(503, 'draining');
          const status = this.bus.status();
          return status === BusStatus.Connected ? text(200, 'ready') : text(503, `bus ${status}`);
        },
      },
      {
        method: 'get',
        pattern: '/metrics',
        handler: async () => ({
          status: 200,
          headers: { 'content-type': this.metrics.registry.contentType },
          body: await this.metrics.registry.metrics(),
        }),
      },
    ];
  }

  // ------------------------------------------------------------------ upgrade

  private onUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // Read everything from `req` before any await: it is invalid afterwards.
    const query = new URLSearchParams(req.getQuery() ?? '');
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const room = query.get('room') ?? '';
    const token = query.get('token') ?? '';
    const sinceRaw = query.get('since');
    const refuse = (status: string, reason: string, message: string): void => {
      this.metrics.upgrades.inc({ result: reason });
      res.writeStatus(status).writeHeader('content-type', 'text/plain').end(message);
    };
    if (this.draining) return refuse('503 Service Unavailable', 'draining', 'server shutting down; connect to another edge');
    if (!isValidRoomId(room)) return refuse('400 Bad Request', 'bad_room', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');
    const since = sinceRaw === null ? -1 : Number(sinceRaw);
    if (!Number.isSafeInteger(since) || since < -1) return refuse('400 Bad Request', 'bad_since', 'since must be a seq number');

    const upgrade = (identity: Identity): void => {
      const now = Date.now();
      const conn: Conn = {
        room,
        identity,
        session: ++this.sessions,
        since,
        frames: fullBucket(this.config.framesBurst, now),
        danmaku: fullBucket(this.config.danmakuBurst, now),
        badFrames: 0,
        strikes: 0,
        strikeWindowStart: now,
        lastRateErrorAt: 0,
        skipped: 0,
        laggingSince: 0,
        closed: false,
      };
      this.metrics.upgrades.inc({ result: 'ok' });
      res.upgrade(conn, key, protocol, extensions, context);
    };

    if (token === '') {
      const guests = this.config.guestRooms;
      if (guests !== '*' && !guests.has(room)) return refuse('401 Unauthorized', 'no_token', 'this room needs a token');
      // Guests share one identity: idle viewers are most connections, and
      // their per-session id is made from the connection number when needed.
      return upgrade(guestIdentity);
    }
    // Synchronous on purpose: see verifyTokenSync. The upgrade happens in this
    // callback, so there is no aborted request to track.
    let identity: Identity;
    try {
      identity = verifyTokenSync(this.config.secret, token, room);
    } catch (err) {
      if (err instanceof TokenError && err.code === CoreErrorCode.TokenRoom) {
        return refuse('403 Forbidden', 'wrong_room', 'token is for another room');
      }
      if (err instanceof TokenError && err.code === CoreErrorCode.TokenExpired)
        return refuse('401 Unauthorized', 'expired', 'token expired');
      return refuse('401 Unauthorized', 'bad_token', err instanceof Error ? err.message.slice(0, 200) : 'token invalid');
    }
    upgrade(identity);
  }

  // ------------------------------------------------------------------ lifecycle

  private onOpen(ws: WebSocket<Conn>): void {
    const conn = ws.getUserData();
    this.sockets.add(ws);
    this.metrics.connections.set(this.sockets.size);
    ws.subscribe(topicOf(conn.room));
    this.joinRoom(conn.room);
    this.sendHistory(ws, conn.since >= 0, Math.max(conn.since, 0));
  }

  private onClose(ws: WebSocket<Conn>): void {
    const conn = ws.getUserData();
    conn.closed = true;
    this.sockets.delete(ws);
    this.lagging.delete(ws);
    this.metrics.connections.set(this.sockets.size);
    this.leaveRoom(conn.room);
  }

  private joinRoom(room: string): void {
    const hosted = this.rooms.get(room);
    if (hosted) {
      hosted.count++;
      return;
    }
    const sub = this.bus.subscribe(subjects.events(room), (data) => {
      this.metrics.busMessages.inc();
      this.batcher.add(room, data);
    });
    this.rooms.set(room, { count: 1, sub });
    this.emptied.delete(room);
    this.metrics.rooms.set(this.rooms.size);
  }

  private leaveRoom(room: string): void {
    const hosted = this.rooms.get(room);
    if (!hosted) return;
    if (--hosted.count > 0) return;
    // The last viewer left: drop the bus interest so the room's traffic stops coming here.
    hosted.sub.unsubscribe();
    this.rooms.delete(room);
    this.batcher.drop(room);
    this.emptied.add(room);
    this.metrics.rooms.set(this.rooms.size);
  }

  private closeSocket(ws: WebSocket<Conn>, code: number): void {
    const conn = ws.getUserData();
    if (conn.closed) return;
    this.metrics.closes.inc({ code: String(code) });
    ws.end(code, CloseReason[code] ?? '');
  }

  /** Sends Welcome and then history (recent chat on join, everything missed on resume). */
  private sendHistory(ws: WebSocket<Conn>, resume: boolean, afterSeq: number): void {
    const conn = ws.getUserData();
    const request = v1.HistoryRequest.encode({ resume, afterSeq }).finish();
    const welcome = (reply: v1.HistoryReply | undefined): void => {
      if (conn.closed) return;
      const frame = this.welcomeFrame(conn, reply?.seq ?? 0, resume && (reply?.recovered ?? false));
      ws.cork(() => {
        ws.send(frame, true);
        if (reply && reply.events.length > 0) {
          ws.send(v1.ServerFrame.encode({ batch: { room: conn.room, events: reply.events, history: true } }).finish(), true);
        }
      });
    };
    this.bus.request(subjects.history(conn.room), request, historyTimeoutMs).then(
      (data) => {
        let reply: v1.HistoryReply | undefined;
        try {
          reply = v1.HistoryReply.decode(data);
        } catch (err) {
          this.log.error({ err, room: conn.room }, 'undecodable history reply; welcoming without it');
        }
        onMacrotask(welcome, reply);
      },
      (err: unknown) => {
        this.log.warn({ err, room: conn.room }, 'history unavailable; welcoming without it');
        onMacrotask(welcome, undefined);
      },
    );
  }

  private welcomeFrame(conn: Conn, seq: number, recovered: boolean): Uint8Array {
    const { identity, room } = conn;
    return v1.ServerFrame.encode({
      welcome: {
        room,
        userId: identity.role === 'guest' ? `guest-${this.config.edgeId}-${conn.session}` : identity.userId,
        name: identity.name,
        role: roleToWire[identity.role],
        seq,
        recovered,
        serverTsMs: Date.now(),
        sessionId: `${this.config.edgeId}-${conn.session}`,
        edgeId: this.config.edgeId,
        limits: {
          maxTextLength: this.config.maxTextLength,
          danmakuPerSecond: this.config.danmakuPerSecond,
          danmakuBurst: this.config.danmakuBurst,
          maxFrameBytes: this.config.maxFrameBytes,
        },
      },
    }).finish();
  }

  // ------------------------------------------------------------------ messages

  private sendError(ws: WebSocket<Conn>, code: v1.ErrorCode, message: string, clientMsgId = '', retryAfterMs = 0): void {
    this.metrics.errors.inc({ code: ErrorCode[code] ?? String(code) });
    ws.send(errorFrame(code, message, clientMsgId, retryAfterMs), true);
  }

  private onMessage(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    const now = Date.now();
    if (take(conn.frames, this.config.framesPerSecond, this.config.framesBurst, now) > 0) {
      this.onFrameFlood(ws, conn, now);
      return;
    }
    if (!isBinary) {
      this.metrics.framesIn.inc({ kind: 'text' });
      return this.onBadFrame(ws, conn, ErrorCode.ERROR_CODE_BAD_FRAME, 'frames must be binary protobuf ClientFrame');
    }
    if (message.byteLength > this.config.maxFrameBytes) {
      this.metrics.framesIn.inc({ kind: 'too_large' });
      if (message.byteLength > this.config.maxFrameBytes * closeFrameFactor) return this.closeSocket(ws, CloseCode.TooBig);
      return this.sendError(ws, ErrorCode.ERROR_CODE_FRAME_TOO_LARGE, `frame larger than ${this.config.maxFrameBytes} bytes`);
    }
    let frame: v1.ClientFrame;
    try {
      // Decoding copies every string out of uWS's buffer, which is only valid during this call.
      frame = v1.ClientFrame.decode(new Uint8Array(message));
    } catch (err) {
      const utf8 = (err as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA';
      this.metrics.framesIn.inc({ kind: 'undecodable' });
      return this.onBadFrame(
        ws,
        conn,
        utf8 ? ErrorCode.ERROR_CODE_INVALID_UTF8 : ErrorCode.ERROR_CODE_BAD_FRAME,
        utf8 ? 'text is not valid UTF-8' : 'not a ClientFrame',
      );
    }
    this.metrics.framesIn.inc({ kind: frame.kind ?? 'unknown' });
    switch (frame.kind) {
      case 'sendDanmaku':
        return this.onSendDanmaku(ws, conn, frame.sendDanmaku as v1.SendDanmaku, now);
      case 'ping':
        ws.send(v1.ServerFrame.encode({ pong: { clientTsMs: frame.ping?.clientTsMs ?? 0, serverTsMs: now } }).finish(), true);
        return;
      case 'resume': {
        const resume = frame.resume as v1.Resume;
        if (resume.room !== '' && resume.room !== conn.room) {
          return this.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'resume is for another room; connect to that room');
        }
        return this.sendHistory(ws, true, resume.lastSeq);
      }
      case 'like':
      case 'sendGift':
      case 'moderate':
        return this.sendError(ws, ErrorCode.ERROR_CODE_UNKNOWN_FRAME, `${frame.kind} is not supported by this server yet`);
      default:
        return this.sendError(ws, ErrorCode.ERROR_CODE_UNKNOWN_FRAME, 'frame kind unknown to this server');
    }
  }

  private onSendDanmaku(ws: WebSocket<Conn>, conn: Conn, msg: v1.SendDanmaku, now: number): void {
    const clientMsgId = msg.clientMsgId ?? '';
    const { identity } = conn;
    if (identity.role === 'guest')
      return this.sendError(ws, ErrorCode.ERROR_CODE_READ_ONLY, 'guests can only read; sign in to send', clientMsgId);
    if (identity.exp !== 0 && identity.exp * 1000 < now) {
      this.closeSocket(ws, CloseCode.TokenExpired);
      return;
    }
    const result = validateDanmaku(msg, this.config);
    if (isRefusal(result)) return this.sendError(ws, result.code, result.message, clientMsgId);
    const wait = take(conn.danmaku, this.config.danmakuPerSecond, this.config.danmakuBurst, now);
    if (wait > 0) {
      this.metrics.rateLimited.inc({ limit: 'danmaku' });
      // One error per interval: a client hammering the button gets told, not flooded.
      if (now - conn.lastRateErrorAt >= rateErrorIntervalMs) {
        conn.lastRateErrorAt = now;
        this.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, 'sending too fast', clientMsgId, wait);
      }
      return;
    }
    const event = v1.Event.encode({
      room: conn.room,
      tsMs: now,
      danmaku: {
        user: { id: identity.userId, name: identity.name, role: roleToWire[identity.role] },
        text: result.text,
        mode: result.mode,
        color: result.color,
        size: result.size,
        clientMsgId: result.clientMsgId,
      },
    }).finish();
    this.bus.publish(subjects.ingress(conn.room), event);
  }

  private onBadFrame(ws: WebSocket<Conn>, conn: Conn, code: v1.ErrorCode, message: string): void {
    if (++conn.badFrames > maxBadFrames) {
      this.closeSocket(ws, CloseCode.BadProtocol);
      return;
    }
    this.sendError(ws, code, message);
  }

  private onFrameFlood(ws: WebSocket<Conn>, conn: Conn, now: number): void {
    this.metrics.rateLimited.inc({ limit: 'frames' });
    if (now - conn.strikeWindowStart > strikeWindowMs) {
      conn.strikeWindowStart = now;
      conn.strikes = 0;
    }
    if (++conn.strikes > this.config.framesBurst) {
      this.closeSocket(ws, CloseCode.Flood);
      return;
    }
    if (now - conn.lastRateErrorAt >= rateErrorIntervalMs) {
      conn.lastRateErrorAt = now;
      this.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, 'too many frames', '', Math.ceil(1000 / this.config.framesPerSecond));
    }
  }

  // ------------------------------------------------------------------ fan-out and backpressure

  private readonly onFlush = (room: string, frame: Uint8Array, events: number): void => {
    const topic = topicOf(room);
    const receivers = this.app.numSubscribers(topic);
    if (receivers === 0) return;
    this.app.publish(topic, frame, true, false);
    this.metrics.batches.inc();
    this.metrics.framesOut.inc(receivers);
    this.metrics.eventsOut.inc(receivers * events);
  };

  /** uWS skipped a frame for a socket over its backpressure limit. */
  private onDropped(ws: WebSocket<Conn>, message: ArrayBuffer): void {
    const conn = ws.getUserData();
    const events = countBatchEvents(new Uint8Array(message));
    this.metrics.dropped.inc({ reason: 'backpressure' }, events);
    conn.skipped += events;
    if (conn.laggingSince === 0) {
      conn.laggingSince = Date.now();
      this.lagging.add(ws);
    }
  }

  private onDrain(ws: WebSocket<Conn>): void {
    const conn = ws.getUserData();
    if (conn.skipped === 0 || ws.getBufferedAmount() > this.config.maxBackpressure / 2) return;
    // Caught up: tell the viewer how much it missed, so the gap is explained.
    const skipped = conn.skipped;
    conn.skipped = 0;
    conn.laggingSince = 0;
    this.lagging.delete(ws);
    ws.send(skippedFrame(conn.room, skipped, SkipReason.SKIP_REASON_BACKPRESSURE), true);
  }

  /** Closes sockets that have been skipping batches for longer than allowed. */
  private sweepSlowReaders(): void {
    const now = Date.now();
    for (const ws of this.lagging) {
      const conn = ws.getUserData();
      if (conn.laggingSince !== 0 && now - conn.laggingSince > this.config.slowReaderCloseMs) {
        this.lagging.delete(ws);
        this.closeSocket(ws, CloseCode.SlowReader);
      }
    }
  }

  private reportPresence(): void {
    if (this.rooms.size === 0 && this.emptied.size === 0) return;
    const rooms: Record<string, number> = {};
    for (const [room, { count }] of this.rooms) rooms[room] = count;
    for (const room of this.emptied) rooms[room] = 0;
    this.emptied.clear();
    this.bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: this.config.edgeId, rooms, tsMs: Date.now() }).finish());
  }
}
