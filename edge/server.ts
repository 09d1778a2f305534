/**
 * The edge: holds WebSocket connections for rooms, checks tokens at upgrade,
 * validates and rate-limits what viewers send, and fans room events out as
 * one Batch frame per room per window through uWebSockets.js topics.
 */
import * as uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { ErrorCode, SkipReason, v1 } from '../proto/index.js';
import type { Bus, Subscription } from '../domain/bus.js';
import { BusStatus } from '../domain/bus.js';
import { bearerAuth, unauthorized } from '../domain/http.js';
import type { EdgeConfig, ModerationHookConfig } from '../domain/config.js';
import { historyFrameOf } from '../domain/history-wire.js';
import type { HistoryFrame } from '../domain/history-wire.js';
import { openApiRoute, protectedPrefix } from '../domain/openapi.js';
import { subjects } from '../domain/subjects.js';
import { Batcher, adaptiveWindowMs } from './batcher.js';
import { CloseCode, CloseReason } from '../domain/close-codes.js';
import { groupTopicOf, onMacrotask, roleToWire } from './connection.js';
import type { Conn, Socket } from './connection.js';
import { ListenError } from './errors.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';
import { countBatchEvents, errorFrame, eventTsMs, skippedFrame } from './frames.js';
import { observeMs } from '../domain/latency.js';
import { mountRoutes, send } from './http.js';
import type { Route } from '../domain/http.js';
import { closeFrameFactor, MessageHandler } from './messages.js';
import { IpBudgets } from './ip-budget.js';
import { charge, fullBucket, hasTokens } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { EdgeMetrics } from './metrics.js';
import { handleUpgrade } from './upgrade.js';
import type { UpgradeDeps } from './upgrade.js';
import { SseStreams } from './sse.js';
import type { SseHooks } from './sse.js';
import { openSse, sseSendRoute } from './sse-routes.js';
import type { SseDeps } from './sse-routes.js';
import { Tarpit } from './tarpit.js';

const historyTimeoutMs = 2_000;
/** Waits between retries of a resume's history request (about 7 s in all, with the timeouts). */
const resumeRetryDelaysMs = [250, 500, 1_000, 2_000, 3_000];
const presenceIntervalMs = 1_000;
/**
 * The replay budget's burst is a quarter second of its rate: resumes that
 * arrive together are answered in the same turn of the loop, so a large
 * burst would be a long block (measured: 150 full resumes at once, ~75 ms).
 */
const replayBurstFraction = 4;
/** Bytes reserved per resume until its answer's size is known (a typical full replay is ~100 KB). */
const replayReserveBytes = 64 * 1024;
const sweepIntervalMs = 1_000;
/**
 * uWebSockets.js's own payload cap: above it uWS drops the connection without
 * a close frame (the client sees 1006). Bounded so one frame cannot cost much memory.
 */
const uwsPayloadCap = 64 * 1024;

/** Options of an edge. */
export interface EdgeOptions {
  config: EdgeConfig;
  bus: Bus;
  logger: Logger;
  /** Extra HTTP routes (pages, API) mounted next to the edge's own. */
  routes?: readonly Route[];
  /** Collect Node process metrics in /metrics (off in tests with many edges). */
  processMetrics?: boolean;
  /** Features plugged into the edge (likes, gifts, moderation). */
  extensions?: readonly EdgeExtension[];
  /** The site's moderation callback (on when it has a `url`). */
  moderationHook?: Readonly<ModerationHookConfig>;
}

/** A running edge. */
export class EdgeServer {
  readonly metrics: EdgeMetrics;
  private readonly app: TemplatedApp;
  private readonly config: EdgeConfig;
  private readonly bus: Bus;
  private readonly log: Logger;
  private readonly batcher: Batcher;
  /** Open sockets on this edge. */
  private open = 0;
  private readonly lagging = new Set<Socket>();
  private readonly extensions: readonly EdgeExtension[];
  /** The extensions told of each opened connection. */
  private readonly openHooks: readonly EdgeExtension[];
  /** The extensions told of each closed connection. */
  private readonly closeHooks: readonly EdgeExtension[];
  private readonly messages: MessageHandler;
  private readonly ipBudgets: IpBudgets;
  private readonly tarpit: Tarpit;
  /** Viewers on the SSE fallback transport (edge/sse.ts). */
  private readonly sse: SseStreams;
  private readonly sseDeps: SseDeps;
  /** Bytes of history this edge may replay (edge-wide, whoever asks). */
  private readonly replay: BucketState;
  /** What extensions see of this edge. */
  readonly context: EdgeContext;
  /** Every HTTP route this edge mounts, `GET /api/v1/openapi.json` (which describes them) included. */
  readonly routes: readonly Route[];
  /** The sockets and bus interest of each hosted room (the sockets also serve `socketsOf` without a walk of the edge). */
  private readonly rooms = new Map<string, { sockets: Set<Socket>; sub: Subscription }>();
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
    this.metrics.observe({ busConnected: () => this.bus.status() === BusStatus.Connected, draining: () => this.draining });
    this.batcher = new Batcher({
      windowMs: this.config.batchWindowMs,
      ...(this.config.batchWritesPerSecond > 0 && this.config.batchMaxWindowMs > this.config.batchWindowMs
        ? {
            windowFor: (room: string) =>
              adaptiveWindowMs(
                this.config.batchWindowMs,
                this.config.batchMaxWindowMs,
                this.config.batchWritesPerSecond,
                this.rooms.get(room)?.sockets.size ?? 0,
              ),
          }
        : {}),
      maxEvents: this.config.batchMaxEvents,
      onFlush: this.onFlush,
      onSent: this.onSent,
      // Without a chat budget or merging, every event goes to every viewer as it did before.
      overload:
        this.config.chatBudget > 0 || this.config.mergeDanmaku
          ? {
              budget: this.config.chatBudget,
              buckets: this.config.overloadBuckets,
              merge: this.config.mergeDanmaku,
              mergeMaxLength: this.config.mergeMaxLength,
            }
          : undefined,
    });
    this.extensions = options.extensions ?? [];
    this.openHooks = this.extensions.filter((e) => e.onOpen !== undefined);
    this.closeHooks = this.extensions.filter((e) => e.onClose !== undefined);
    const c = this.config;
    this.replay = fullBucket(c.replayBytesPerSecond / replayBurstFraction, Date.now());
    this.ipBudgets = new IpBudgets({
      upgradesPerSecond: c.ipUpgradesPerSecond,
      upgradesBurst: c.ipUpgradesBurst,
      costlyPerSecond: c.ipCostlyPerSecond,
      costlyBurst: c.ipCostlyBurst,
      framesPerSecond: c.ipFramesPerSecond,
      framesBurst: c.ipFramesBurst,
      maxConnections: c.maxConnectionsPerIp,
      trustProxy: c.trustProxy,
      penalty: {
        strikes: c.ipAbuseStrikes,
        penaltyMs: c.ipPenaltySeconds * 1000,
        maxPenaltyMs: c.ipPenaltyMaxSeconds * 1000,
        decayMs: c.ipPenaltyDecaySeconds * 1000,
        maxEntries: c.ipPenaltyMaxAddresses,
      },
    });
    this.metrics.observePenalties(this.ipBudgets.penalties);
    this.tarpit = new Tarpit(c.ipRefusalDelayMs, c.ipRefusalMaxHeld);
    this.context = {
      config: this.config,
      bus: this.bus,
      log: this.log,
      metrics: this.metrics,
      sendError: (ws, code, message, clientMsgId, retryAfterMs) => this.sendError(ws, code, message, clientMsgId, retryAfterMs),
      send: (ws, frame) => {
        if (!ws.getUserData().closed) ws.send(frame, true);
      },
      closeSocket: (ws, code) => this.closeSocket(ws, code),
      socketsOf: (room) => this.rooms.get(room)?.sockets ?? noSockets,
      hostedRooms: () => this.hostedRooms(),
    };
    this.messages = new MessageHandler(
      this.context,
      this.extensions,
      this.ipBudgets,
      (ws, afterSeq, epoch) => this.sendHistory(ws, true, afterSeq, epoch),
      options.moderationHook,
    );
    const upgradeDeps: UpgradeDeps = {
      config: this.config,
      metrics: this.metrics,
      extensions: this.extensions,
      draining: () => this.draining,
      nextSession: () => ++this.sessions,
      ipBudgets: this.ipBudgets,
      tarpit: this.tarpit,
    };
    this.sse = new SseStreams(this.config.overloadBuckets);
    const hooks: SseHooks = {
      dropped: (ws, frame) => this.guard(ws, 'dropped', this.onDropped, frame),
      drain: (ws) => this.guard(ws, 'drain', this.onDrain, undefined),
      close: (ws, code) => {
        this.sse.remove(this.sessionIdOf(ws.getUserData()));
        this.guard(ws, 'close', this.onClose, code);
      },
      error: (err, entry) => this.internalError(err, entry),
    };
    this.sseDeps = {
      ...upgradeDeps,
      streams: this.sse,
      hooks,
      sessionId: (ws) => this.sessionIdOf(ws.getUserData()),
      open: (ws) => this.guard(ws, 'open', this.onOpen, undefined),
      frame: (ws, frame) => this.guard(ws, 'message', this.onMessage, frame, true),
    };
    this.app = uWS.App();
    this.app.get('/sse', (res, req) => {
      try {
        openSse(this.sseDeps, res, req);
      } catch (err) {
        this.internalError(err, 'sse');
        try {
          res.writeStatus('500 Internal Server Error').end('internal error');
        } catch {
          // Already answered, or streaming.
        }
      }
    });
    this.app.ws<Conn>('/ws', {
      compression: 0, // uWS.DISABLED: batches are small and deflate costs CPU per socket
      maxPayloadLength: Math.max(uwsPayloadCap, this.config.maxFrameBytes * closeFrameFactor * 2),
      maxBackpressure: this.config.maxBackpressure,
      closeOnBackpressureLimit: false,
      idleTimeout: this.config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        try {
          handleUpgrade(this.sseDeps, res, req, context);
        } catch (err) {
          this.internalError(err, 'upgrade');
          try {
            res.writeStatus('500 Internal Server Error').end('internal error');
          } catch {
            // Already answered or upgraded.
          }
        }
      },
      open: (ws) => this.guard(ws, 'open', this.onOpen, undefined),
      message: (ws, message, isBinary) => this.guard(ws, 'message', this.onMessage, message, isBinary),
      ping: (ws) => this.guard(ws, 'ping', this.onPing, undefined),
      pong: (ws) => this.guard(ws, 'ping', this.onPing, undefined),
      dropped: (ws, message) => this.guard(ws, 'dropped', this.onDropped, message),
      drain: (ws) => this.guard(ws, 'drain', this.onDrain, undefined),
      close: (ws, code) => this.guard(ws, 'close', this.onClose, code),
    });
    const authorized = bearerAuth(this.config.apiKey);
    const described = [...this.ownRoutes(), ...(options.routes ?? [])];
    this.routes = [...described, openApiRoute(described)];
    mountRoutes(
      this.app,
      this.routes,
      {
        onError: (err, where) => this.internalError(err, 'http', { route: where }),
        onRefused: (reason) => this.metrics.httpRefused.inc({ reason }),
      },
      {
        maxBufferedBodyBytes: this.config.maxBufferedBodyBytes,
        protect: { prefix: protectedPrefix, authorize: (headers) => authorized({ headers }), unauthorized },
      },
    );
    this.app.any('/*', (res, req) => {
      send(res, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' }, req.getMethod() === 'head');
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
    this.ipBudgets.start();
    this.sse.start();
    for (const ext of this.extensions) await ext.start?.(this.context);
    this.log.info({ port: this.boundPort }, 'edge listening');
    return this.boundPort;
  }

  /** The bound port. */
  get port(): number {
    return this.boundPort;
  }

  /** Open connections on this edge. */
  get connectionCount(): number {
    return this.open;
  }

  /** Rooms this edge currently holds interest in on the bus. */
  hostedRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /**
   * Graceful shutdown: refuse new connections (readiness goes red), wait
   * `drainDelayMs` (still listening), send what is batched, close every socket
   * with 4000 "reconnect elsewhere", then stop.
   */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.config.drainDelayMs > 0) {
      // Readiness is red from here on while this edge still listens and serves
      // its viewers, so the balancer (or Kubernetes) stops sending new viewers
      // here before these ones are told to reconnect: else they could come back.
      this.log.info({ drainDelayMs: this.config.drainDelayMs }, 'draining: /readyz is 503; closing sockets after the delay');
      await new Promise((r) => setTimeout(r, this.config.drainDelayMs));
    }
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.sse.stop();
    this.ipBudgets.stop();
    this.tarpit.stop();
    // Danmaku still waiting for the callback get the policy now (published or held), before the sockets close.
    this.messages.hook?.close();
    for (const ext of this.extensions) {
      try {
        await ext.stop?.();
      } catch (err) {
        this.log.error({ err, extension: ext.name }, 'extension failed to stop');
      }
    }
    this.batcher.stop();
    for (const ws of this.allSockets()) this.closeSocket(ws, CloseCode.Shutdown);
    const deadline = Date.now() + timeoutMs;
    while (this.open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ws of this.allSockets()) ws.close();
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
    const plain = (description: string) => ({ description, contentType: 'text/plain' });
    return [
      {
        method: 'get',
        pattern: '/healthz',
        doc: { tag: 'operations', summary: 'Liveness: the process answers', responses: { 200: plain('ok') } },
        handler: () => text(200, 'ok'),
      },
      {
        method: 'get',
        pattern: '/readyz',
        doc: {
          tag: 'operations',
          summary: 'Readiness: the bus is connected and the edge is not draining',
          responses: { 200: plain('ready'), 503: plain('draining, or the bus is not connected (the body says which)') },
        },
        handler: () => {
          if (this.draining) return text(503, 'draining');
          const status = this.bus.status();
          return status === BusStatus.Connected ? text(200, 'ready') : text(503, `bus ${status}`);
        },
      },
      {
        method: 'get',
        pattern: '/metrics',
        doc: {
          tag: 'operations',
          summary: 'Prometheus metrics (text exposition format)',
          responses: { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4' } },
        },
        handler: async () => ({
          status: 200,
          headers: { 'content-type': this.metrics.registry.contentType },
          body: await this.metrics.registry.metrics(),
        }),
      },
      sseSendRoute(this.sseDeps, this.config.maxFrameBytes * closeFrameFactor),
    ];
  }

  /** The session id a Welcome names; `POST /sse/send` finds a stream by it. */
  private sessionIdOf(conn: Conn): string {
    return `${this.config.edgeId}-${conn.session}`;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Runs a uWS socket callback so that nothing it throws reaches uWS (which
   * would end the process and every socket in it): the error is logged and
   * counted and the socket, if still open, is closed with 4002.
   */
  private guard<A, B>(ws: Socket, entry: string, fn: (ws: Socket, a: A, b: B) => void, a: A, b?: B): void {
    try {
      fn.call(this, ws, a, b as B);
    } catch (err) {
      this.internalError(err, entry);
      if (entry !== 'close') {
        try {
          this.closeSocket(ws, CloseCode.Internal);
        } catch {
          // The socket is gone already.
        }
      }
    }
  }

  private internalError(err: unknown, entry: string, extra: Record<string, unknown> = {}): void {
    this.metrics.internalErrors.inc({ entry });
    this.log.error({ err, entry, ...extra }, 'caught at an entry point');
  }

  private onMessage(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    this.messages.onMessage(ws, message, isBinary);
  }

  /** WebSocket-level pings and pongs (uWS answers pings itself) count against the frame rate like frames do. */
  private onPing(ws: Socket): void {
    this.messages.onControlFrame(ws);
  }

  private onOpen(ws: Socket): void {
    const conn = ws.getUserData();
    if (conn.ip) conn.ip.connections++;
    this.open++;
    this.metrics.connections.set(this.open);
    ws.subscribe(groupTopicOf(conn.room, conn.session % this.config.overloadBuckets));
    this.joinRoom(conn.room, ws);
    this.sendHistory(ws, conn.since >= 0, Math.max(conn.since, 0), conn.sinceEpoch);
    for (const ext of this.openHooks) (ext.onOpen as NonNullable<EdgeExtension['onOpen']>)(conn, ws);
  }

  private onClose(ws: Socket, code: number): void {
    const conn = ws.getUserData();
    conn.closed = true;
    if (conn.ip) conn.ip.connections--;
    if (!conn.closedByServer) this.metrics.clientCloses.inc({ code: clientCloseLabel(code) });
    this.open--;
    this.lagging.delete(ws);
    this.metrics.connections.set(this.open);
    this.leaveRoom(conn.room, ws);
    for (const ext of this.closeHooks) (ext.onClose as NonNullable<EdgeExtension['onClose']>)(conn);
  }

  /** A copy of every open socket (shutdown closes them while they leave their rooms). */
  private allSockets(): Socket[] {
    const all: Socket[] = [];
    for (const { sockets } of this.rooms.values()) for (const ws of sockets) all.push(ws);
    return all;
  }

  private joinRoom(room: string, ws: Socket): void {
    const hosted = this.rooms.get(room);
    if (hosted) {
      hosted.sockets.add(ws);
      return;
    }
    const bus = this.metrics.latency.hops.bus;
    const sub = this.bus.subscribe(subjects.events(room), (data) => {
      this.metrics.busMessages.inc();
      const tsMs = eventTsMs(data);
      if (tsMs > 0) observeMs(bus, Date.now() - tsMs);
      this.batcher.add(room, data, tsMs);
    });
    this.rooms.set(room, { sockets: new Set([ws]), sub });
    this.emptied.delete(room);
    this.metrics.rooms.set(this.rooms.size);
  }

  private leaveRoom(room: string, ws: Socket): void {
    const hosted = this.rooms.get(room);
    if (!hosted) return;
    hosted.sockets.delete(ws);
    if (hosted.sockets.size > 0) return;
    // The last viewer left: drop the bus interest so the room's traffic stops coming here.
    hosted.sub.unsubscribe();
    this.rooms.delete(room);
    this.batcher.drop(room);
    this.emptied.add(room);
    this.metrics.rooms.set(this.rooms.size);
  }

  private closeSocket(ws: Socket, code: number): void {
    const conn = ws.getUserData();
    if (conn.closed || conn.closedByServer) return;
    this.metrics.closes.inc({ code: String(code) });
    conn.closedByServer = true;
    ws.end(code, CloseReason[code] ?? '');
    // An abusive peer keeps writing until it reads our close frame, and uWS
    // reads and parses all of it meanwhile (measured: most of an edge's CPU
    // under a 50-socket flood). Once the close frame has been handed to the
    // kernel, the connection is cut without waiting for the peer's answer.
    if (abusiveCloses.has(code)) {
      // A strike against the address; enough of them and its upgrades are refused for a while (edge/ip-penalty.ts).
      if (conn.ip && this.ipBudgets.strike(conn.ip) > 0)
        this.log.warn({ address: conn.ip.key }, 'address penalized after repeated abuse closes');
      onMacrotask(() => {
        if (!conn.closed) ws.close();
      });
    }
  }

  /**
   * Sends Welcome and then history (recent chat on join, everything missed on
   * resume). Replayed bytes are charged to the edge-wide replay budget: while
   * it is spent, a resume is answered as a join (`recovered: false`, the
   * recent chat and the room's state), so a flood of resumes cannot make the
   * edge copy history without bound; honest resumes after a short drop are
   * small and rarely meet it.
   */
  private sendHistory(ws: Socket, resume: boolean, afterSeq: number, epoch: string): void {
    const conn = ws.getUserData();
    const { replayBytesPerSecond: rate } = this.config;
    const burst = rate / replayBurstFraction;
    // Reserved now, settled when the answer's size is known: resumes arriving
    // together must not all pass the check before any of them is charged.
    let reserved = 0;
    if (resume) {
      if (hasTokens(this.replay, rate, burst, Date.now())) {
        reserved = replayReserveBytes;
        charge(this.replay, rate, burst, Date.now(), reserved);
      } else {
        this.metrics.rateLimited.inc({ limit: 'replay' });
        resume = false;
      }
    }
    const request = v1.HistoryRequest.encode({ resume, afterSeq, epoch }).finish();
    const welcome = (reply: HistoryFrame | undefined): void => {
      if (reserved > 0) charge(this.replay, rate, burst, Date.now(), (reply?.frame?.length ?? 0) - reserved);
      if (conn.closed) return;
      const recovered = resume && (reply?.recovered ?? false);
      const frame = this.welcomeFrame(conn, reply?.seq ?? 0, recovered, reply?.epoch ?? '');
      // A recovered resume replays every control event it missed: the state would only repeat it.
      const now = Date.now();
      const state = recovered ? [] : this.extensions.flatMap((ext) => ext.welcomeEvents?.(conn.room, now) ?? []);
      ws.cork(() => {
        ws.send(frame, true);
        if (reply?.frame) ws.send(reply.frame, true);
        // After the history, so a replayed older pin or slow mode does not override the current one.
        if (state.length > 0) ws.send(v1.ServerFrame.encode({ batch: { room: conn.room, events: state, history: true } }).finish(), true);
      });
    };
    // A resume must not be answered "not recovered" just because core or
    // NATS is briefly away (a restart): that would leave the viewer with a
    // gap it cannot fill. Resumes retry with backoff; joins welcome at once.
    const delays = resume ? resumeRetryDelaysMs : [];
    const attempt = (n: number): void => {
      this.bus.request(subjects.history(conn.room), request, historyTimeoutMs).then(
        (data) => {
          let reply: HistoryFrame | undefined;
          try {
            reply = historyFrameOf(data, Buffer.from(conn.room));
          } catch (err) {
            this.log.error({ err, room: conn.room }, 'undecodable history reply; welcoming without it');
          }
          onMacrotask(welcome, reply);
        },
        (err: unknown) => {
          const delay = delays[n];
          if (delay !== undefined && !conn.closed && !this.draining) {
            this.metrics.historyRetries.inc();
            setTimeout(() => attempt(n + 1), delay);
            return;
          }
          this.log.warn({ err, room: conn.room, resume }, 'history unavailable; welcoming without it');
          onMacrotask(welcome, undefined);
        },
      );
    };
    attempt(0);
  }

  private welcomeFrame(conn: Conn, seq: number, recovered: boolean, epoch: string): Uint8Array {
    const { identity, room } = conn;
    return v1.ServerFrame.encode({
      welcome: {
        room,
        userId: identity.role === 'guest' ? `guest-${this.config.edgeId}-${conn.session}` : identity.userId,
        name: identity.name,
        role: roleToWire[identity.role],
        seq,
        recovered,
        epoch,
        serverTsMs: Date.now(),
        sessionId: this.sessionIdOf(conn),
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

  private sendError(ws: Socket, code: v1.ErrorCode, message: string, clientMsgId = '', retryAfterMs = 0): void {
    if (ws.getUserData().closed) return;
    this.metrics.errors.inc({ code: ErrorCode[code] ?? String(code) });
    ws.send(errorFrame(code, message, clientMsgId, retryAfterMs), true);
  }

  // ------------------------------------------------------------------ fan-out and backpressure

  /** Publishes a room's frame to every viewer group (group -1) or to the one it was sampled for. */
  private readonly onFlush = (room: string, frame: Uint8Array, events: number, group: number, skipped: number): void => {
    const from = group < 0 ? 0 : group;
    const to = group < 0 ? this.config.overloadBuckets : group + 1;
    let receivers = 0;
    for (let g = from; g < to; g++) {
      const topic = groupTopicOf(room, g);
      const n = this.app.numSubscribers(topic);
      if (n === 0) continue;
      this.app.publish(topic, frame, true, false);
      receivers += n;
    }
    receivers += this.sse.publish(room, frame, events, from, to);
    if (receivers === 0) return;
    this.metrics.batches.inc();
    this.metrics.framesOut.inc(receivers);
    this.metrics.eventsOut.inc(receivers * events);
    if (skipped > 0) this.metrics.dropped.inc({ reason: 'overload' }, receivers * skipped);
  };

  /**
   * A window's events are in the sockets: one observation per event (never
   * per socket) of the time it waited on this edge and of its age since core
   * stamped `ts_ms`.
   */
  private readonly onSent = (arrivedAt: readonly number[], tsMs: readonly number[], count: number, sentAt: number): void => {
    const { flush, total } = this.metrics.latency.hops;
    const wall = Date.now();
    for (let i = 0; i < count; i++) {
      observeMs(flush, sentAt - (arrivedAt[i] as number));
      const born = tsMs[i] as number;
      if (born > 0) observeMs(total, wall - born);
    }
  };

  /** uWS skipped a frame for a socket over its backpressure limit. */
  private onDropped(ws: Socket, message: ArrayBuffer | Uint8Array): void {
    const conn = ws.getUserData();
    const events = countBatchEvents(new Uint8Array(message));
    this.metrics.dropped.inc({ reason: 'backpressure' }, events);
    conn.skipped += events;
    if (conn.laggingSince === 0) {
      conn.laggingSince = Date.now();
      this.lagging.add(ws);
    }
  }

  private onDrain(ws: Socket): void {
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
    for (const [room, { sockets }] of this.rooms) rooms[room] = sockets.size;
    for (const room of this.emptied) rooms[room] = 0;
    this.emptied.clear();
    this.bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: this.config.edgeId, rooms, tsMs: Date.now() }).finish());
  }
}

const noSockets: ReadonlySet<Socket> = new Set();

/** Closes for abuse: the connection is cut right after the close frame is sent (see `closeSocket`). */
const abusiveCloses: ReadonlySet<number> = new Set([CloseCode.Flood, CloseCode.BadProtocol, CloseCode.TooBig]);

/** Close codes a client may send, kept as labels; anything else is `other` (clients choose codes freely). */
const clientCloseCodes = new Set([1000, 1001, 1005, 1006, 1009, 1011]);

/** The label of a close the server did not make. */
function clientCloseLabel(code: number): string {
  return clientCloseCodes.has(code) ? String(code) : 'other';
}
