/**
 * The WebSocket upgrade: room, resume point and token are checked before any
 * per-socket state exists; a refused upgrade is a plain HTTP answer with a
 * status and a reason a person can read.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { verifyTokenSync } from '../domain/auth.js';
import type { Identity } from '../domain/auth.js';
import type { EdgeConfig } from '../domain/config.js';
import { CoreErrorCode, TokenError } from '../domain/errors.js';
import { isValidRoomId } from '../domain/subjects.js';
import { isValidVideoId, isVideoRoom, videoRoom } from '../domain/video-store.js';
import { guestIdentity, newConn } from './connection.js';
import type { Conn } from './connection.js';
import { maxEpochLength } from './messages.js';
import type { EdgeExtension } from './extensions.js';
import type { IpBudgets } from './ip-budget.js';
import type { Tarpit } from './tarpit.js';
import type { EdgeMetrics } from './metrics.js';

/** What the upgrade needs from its edge. */
export interface UpgradeDeps {
  config: EdgeConfig;
  metrics: EdgeMetrics;
  extensions: readonly EdgeExtension[];
  draining(): boolean;
  nextSession(): number;
  /** Per-address budgets of the edge. */
  ipBudgets: IpBudgets;
  /** Where refusals for a spent address budget wait before they are answered. */
  tarpit: Tarpit;
}

/** Answers one upgrade request: upgrades it or refuses it, synchronously. */
export function handleUpgrade(deps: UpgradeDeps, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const conn = admitViewer(deps, res, req, new URLSearchParams(req.getQuery() ?? ''));
  if (conn) res.upgrade(conn, key, protocol, extensions, context);
}

/**
 * The checks every viewer connection passes, WebSocket or SSE
 * (edge/sse.ts): draining, the address's budgets, room, resume point, token
 * and the extensions' admission. Returns the new connection's state, or
 * undefined once `res` has been answered with the refusal. Reads `req`
 * synchronously (it is invalid after the uWS callback returns).
 */
export function admitViewer(deps: UpgradeDeps, res: HttpResponse, req: HttpRequest, query: URLSearchParams): Conn | undefined {
  const { config, metrics } = deps;
  // `video=<id>` instead of `room=`: the video's room (its danmaku, sent at a video time); the token names the video.
  const video = query.get('video');
  const room = video === null ? (query.get('room') ?? '') : isValidVideoId(video) ? videoRoom(video) : '';
  const claim = video ?? room;
  const token = query.get('token') ?? '';
  const sinceRaw = query.get('since');
  const refuse = (status: string, reason: string, message: string): undefined => {
    metrics.upgrades.inc({ result: reason });
    res.writeStatus(status).writeHeader('content-type', 'text/plain').end(message);
    return undefined;
  };
  if (deps.draining()) return refuse('503 Service Unavailable', 'draining', 'server shutting down; connect to another edge');
  const address = deps.ipBudgets.addressOf(res, req);
  const ip = address === undefined ? undefined : deps.ipBudgets.get(address);
  if (ip) {
    // An address in a penalty window (repeated abuse closes, edge/ip-penalty.ts) is refused before it spends its budget.
    const penalty = deps.ipBudgets.penalty(ip);
    if (penalty > 0) {
      const seconds = Math.ceil(penalty / 1000);
      metrics.upgrades.inc({ result: 'ip_penalty' });
      const held = deps.tarpit.hold(res, (r) =>
        r
          .writeStatus('429 Too Many Requests')
          .writeHeader('content-type', 'text/plain')
          .writeHeader('retry-after', String(seconds))
          .end(`connections from this address were closed for abuse; refused for ${seconds} s`),
      );
      if (held === 'closed') metrics.upgrades.inc({ result: 'ip_closed' });
      return undefined;
    }
    const wait = deps.ipBudgets.admit(ip);
    if (wait !== 0) {
      const reason = wait < 0 ? 'ip_connections' : 'ip_rate';
      const message = wait < 0 ? 'too many connections from this address' : `too many connections from this address; retry in ${wait} ms`;
      metrics.upgrades.inc({ result: reason });
      const held = deps.tarpit.hold(res, (r) =>
        r.writeStatus('429 Too Many Requests').writeHeader('content-type', 'text/plain').end(message),
      );
      if (held === 'closed') metrics.upgrades.inc({ result: 'ip_closed' });
      return undefined;
    }
  }
  if (video !== null && room === '') return refuse('400 Bad Request', 'bad_video', 'video must be 1-60 characters of A-Z a-z 0-9 _ -');
  if (!isValidRoomId(room) || (video === null && isVideoRoom(room)))
    return refuse('400 Bad Request', 'bad_room', 'room must be 1-64 characters of A-Z a-z 0-9 _ - (not starting _v_)');
  const since = sinceRaw === null ? -1 : Number(sinceRaw);
  if (!Number.isSafeInteger(since) || since < -1) return refuse('400 Bad Request', 'bad_since', 'since must be a seq number');
  const sinceEpoch = query.get('epoch') ?? '';
  if (sinceEpoch.length > maxEpochLength) return refuse('400 Bad Request', 'bad_epoch', 'epoch is longer than any this server hands out');

  let identity: Identity;
  if (token === '') {
    const guests = config.guestRooms;
    if (guests !== '*' && !guests.has(claim)) return refuse('401 Unauthorized', 'no_token', 'this room needs a token');
    // Guests share one identity: idle viewers are most connections, and
    // their per-session id is made from the connection number when needed.
    identity = guestIdentity;
  } else {
    // Synchronous on purpose: see verifyTokenSync. The upgrade happens in this
    // callback, so there is no aborted request to track.
    try {
      identity = verifyTokenSync(config.secret, token, claim);
    } catch (err) {
      if (err instanceof TokenError && err.code === CoreErrorCode.TokenRoom)
        return refuse('403 Forbidden', 'wrong_room', 'token is for another room');
      if (err instanceof TokenError && err.code === CoreErrorCode.TokenExpired)
        return refuse('401 Unauthorized', 'expired', 'token expired');
      return refuse('401 Unauthorized', 'bad_token', err instanceof Error ? err.message.slice(0, 200) : 'token invalid');
    }
  }
  for (const ext of deps.extensions) {
    const verdict = ext.admit?.(identity, room);
    if (verdict && !verdict.ok) return refuse(verdict.status, verdict.reason, verdict.message);
  }
  const conn = newConn({ room, identity, session: deps.nextSession(), since, sinceEpoch, ip }, config, Date.now());
  metrics.upgrades.inc({ result: 'ok' });
  return conn;
}
