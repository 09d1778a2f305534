/**
 * The SSE transport's two HTTP entry points (see edge/sse.ts for the
 * stream): `GET /sse` opens a stream after the same admission as a WebSocket
 * upgrade, `POST /sse/send` hands one ClientFrame to the edge's frame
 * handler as if the stream's socket had sent it.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { verifyTokenSync } from '../domain/auth.js';
import type { Identity } from '../domain/auth.js';
import type { Route, RouteRequest, RouteResponse } from '../domain/http.js';
import { admitViewer } from './upgrade.js';
import type { UpgradeDeps } from './upgrade.js';
import { SseSocket, parseLastEventId } from './sse.js';
import type { SseHooks, SseStreams } from './sse.js';
import type { Socket } from './connection.js';

/** What the SSE entry points need from their edge. */
export interface SseDeps extends UpgradeDeps {
  streams: SseStreams;
  hooks: SseHooks;
  /** The session id a Welcome names (`<edge>-<n>`). */
  sessionId(ws: Socket): string;
  /** Runs the edge's open logic (join the room, welcome, history). */
  open(ws: Socket): void;
  /** The edge's handler of one client frame. */
  frame(ws: Socket, frame: ArrayBuffer): void;
}

/** Answers `GET /sse`: a refusal as for an upgrade, or a stream. Runs inside the uWS callback. */
export function openSse(deps: SseDeps, res: HttpResponse, req: HttpRequest): void {
  const query = new URLSearchParams(req.getQuery() ?? '');
  // A browser's own reconnect: the last id it saw, when the URL does not say where to resume.
  const last = parseLastEventId(req.getHeader('last-event-id'));
  if (last && !query.has('since')) {
    query.set('since', String(last.since));
    if (last.epoch !== '') query.set('epoch', last.epoch);
  }
  const conn = admitViewer(deps, res, req, query);
  if (!conn) return;
  const stream = new SseSocket(res, conn, deps.hooks, deps.config.maxBackpressure, query.get('mode') === 'poll');
  stream.start();
  const ws = stream.asSocket();
  deps.streams.add(stream, deps.sessionId(ws));
  deps.open(ws);
}

const cors = { 'access-control-allow-origin': '*' };
const text = (status: number, body: string): RouteResponse => ({ status, headers: { 'content-type': 'text/plain', ...cors }, body });

/**
 * `POST /sse/send?session=&token=`: the body is one binary ClientFrame. The
 * token must name the stream's user (a guest's stream takes none), so a
 * session id alone does not let anyone speak for its viewer. The frame's
 * answers come back on the stream; the POST is answered 202 once handled.
 * Sent as `text/plain` with the token in the query, it is a "simple"
 * cross-origin request: no preflight.
 */
export function sseSendRoute(deps: SseDeps, maxBody: number): Route {
  return {
    method: 'post',
    pattern: '/sse/send',
    maxBody,
    doc: {
      tag: 'transport',
      summary: 'Send one ClientFrame on an SSE stream (the fallback transport)',
      description:
        'The body is one binary protobuf `ClientFrame` (send it as `text/plain` to avoid a CORS preflight). ' +
        "It is handled exactly as a WebSocket frame of the stream named by `session` (the Welcome's `session_id`), " +
        "with that connection's rate limits; its answers (errors, pongs) arrive on the stream. " +
        'The request must reach the edge holding the stream (route by `session`). See docs/protocol.md, "SSE".',
      query: {
        session: { description: "the `session_id` of the stream's Welcome", required: true },
        token: { description: 'the token the stream was opened with (none for a guest stream)' },
      },
      body: { schema: { type: 'string', format: 'binary' }, contentType: 'text/plain', description: 'one encoded ClientFrame' },
      responses: {
        202: { description: 'handled; answers come on the stream', contentType: 'text/plain' },
        401: { description: 'the stream has a signed-in viewer and the token is missing or invalid', contentType: 'text/plain' },
        403: { description: 'the token names another user or room', contentType: 'text/plain' },
        404: { description: 'no such stream on this edge (ended, or the request reached another edge)', contentType: 'text/plain' },
      },
    },
    handler: (req) => sseSend(deps, req),
  };
}

function sseSend(deps: SseDeps, req: RouteRequest): RouteResponse {
  const stream = deps.streams.session(req.query.get('session') ?? '');
  if (!stream) return text(404, 'no such stream on this edge');
  const conn = stream.getUserData();
  if (conn.closed) return text(404, 'no such stream on this edge');
  const token = req.query.get('token') ?? '';
  if (conn.identity.role !== 'guest' || token !== '') {
    let identity: Identity;
    try {
      identity = verifyTokenSync(deps.config.secret, token, conn.room);
    } catch {
      return text(token === '' ? 401 : 403, 'token missing, invalid or for another room');
    }
    if (identity.userId !== conn.identity.userId) return text(403, 'token is for another user than the stream');
  }
  const body = req.body;
  deps.frame(stream.asSocket(), body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
  return text(202, 'accepted');
}
