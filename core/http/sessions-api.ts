/**
 * Live sessions for site backends (API key), documented in docs/api.md
 * under "Live sessions and replay":
 *
 * - `POST /api/v1/rooms/:room/sessions` (`{ offset_ms? }`): starts one;
 *   201 `{ session_id, room, started_ms, offset_ms }`, 409 SESSION_OPEN when
 *   the room has one open
 * - `POST /api/v1/rooms/:room/sessions/:id/end`: ends it; 200 with its
 *   `ended_ms` and `duration_ms` (from then on it is a video)
 * - `PUT  /api/v1/rooms/:room/sessions/:id` (`{ offset_ms }`): corrects the
 *   offset between the session's start and the recording's time 0
 * - `GET  /api/v1/rooms/:room/sessions/current`: the open session, or 404
 * - `POST /api/v1/rooms/:room/stream-state` (`{ live: true|false }`): the
 *   site's stream went live or offline; starts or ends the session (no-op
 *   when it already is so), for sites that would rather forward their
 *   streaming server's callback than call the two above
 *
 * Start, end and offset changes are `session` control events in the room
 * (sequenced, shown to viewers, stored, sent to webhooks); a start also
 * tells every core to start the room's like and gift totals from zero.
 */
import { randomBytes } from 'node:crypto';
import { v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import type { Route, RouteDoc, RouteRequest, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { isVideoRoom, videoDuration, VideoKind } from '../../domain/video-store.js';
import type { VideoRecord, VideoStore } from '../../domain/video-store.js';

/** Largest offset correction: a day either way. */
export const maxOffsetMs = 86_400_000;

/** What the routes need. */
export interface SessionsApiOptions {
  bus: Bus;
  store: VideoStore;
  apiKey: string;
  now?: () => number;
}

type Body = Record<string, unknown>;

/** A new session id: time-ordered, unguessable enough not to collide, and a valid video id. */
export function newSessionId(now: number): string {
  return `s${now.toString(36)}${randomBytes(6).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function parseBody(req: RouteRequest): Body | RouteResponse {
  if (req.body.length === 0) return {};
  try {
    const b = JSON.parse(req.body.toString('utf8')) as unknown;
    if (b && typeof b === 'object' && !Array.isArray(b)) return b as Body;
  } catch {
    // answered below
  }
  return problem(400, 'BAD_JSON', 'the body must be a JSON object');
}

const isResponse = (x: unknown): x is RouteResponse => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;

/** `offset_ms` of a body: absent is `fallback`; else an integer within a day either way. */
function offsetOf(body: Body, fallback: number | undefined): number | RouteResponse | undefined {
  const v = body['offset_ms'];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || Math.abs(v) > maxOffsetMs)
    return problem(400, 'BAD_OFFSET', `offset_ms must be an integer within ±${maxOffsetMs}`);
  return v;
}

/** A session's JSON as the API answers it. */
export function sessionJson(r: VideoRecord): Record<string, unknown> {
  return {
    session_id: r.id,
    room: r.room,
    started_ms: r.startedMs,
    ended_ms: r.endedMs === 0 ? null : r.endedMs,
    offset_ms: r.offsetMs,
    duration_ms: r.endedMs === 0 ? null : videoDuration(r),
    live: r.endedMs === 0,
  };
}

/** A session as the routes answer it. */
const sessionSchema = s.object(
  {
    session_id: s.string('the session id; once ended, the video id'),
    room: s.string(),
    started_ms: s.integer('wall time of the start (ms since the epoch)'),
    ended_ms: s.integer('null while live', { type: ['integer', 'null'] }),
    offset_ms: s.integer('added to (event time - started_ms) to give the video time'),
    duration_ms: s.integer('null while live', { type: ['integer', 'null'] }),
    live: s.boolean(),
  },
  ['session_id', 'room', 'started_ms', 'offset_ms', 'live'],
);
const offsetBody = s.object({ offset_ms: s.integer('within ±86400000') });
const room = { room: 'room id (not starting _v_)' };
const session = { ...room, id: 'session id' };
const common = { 400: problemDoc('BAD_ROOM, BAD_JSON or BAD_OFFSET'), 503: problemDoc('UNAVAILABLE: the session store is down') };

/** The session routes. */
export function sessionRoutes(options: SessionsApiOptions): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const now = options.now ?? Date.now;
  const { bus, store } = options;

  /** Publishes the session's change as a control event of its room. */
  const announce = (r: VideoRecord, state: v1.LiveSessionState): void => {
    const event = v1.Event.encode({
      room: r.room,
      tsMs: now(),
      session: { id: r.id, startedMs: r.startedMs, endedMs: r.endedMs, offsetMs: r.offsetMs, state },
      actor: { id: 'site', name: 'site', role: v1.Role.ROLE_ADMIN },
    }).finish();
    bus.publish(subjects.ingress(r.room), event);
    if (state === v1.LiveSessionState.LIVE_SESSION_STATE_STARTED) bus.publish(subjects.session, event);
  };

  const start = async (room: string, offsetMs: number): Promise<RouteResponse> => {
    const t = now();
    const record: VideoRecord = { id: newSessionId(t), kind: VideoKind.Session, room, startedMs: t, endedMs: 0, offsetMs, durationMs: 0 };
    const result = await store.startSession(record);
    if (!result.ok)
      return json(409, { error: { code: 'SESSION_OPEN', message: 'the room has a session open; end it first' }, session_id: result.open });
    announce(record, v1.LiveSessionState.LIVE_SESSION_STATE_STARTED);
    return json(201, sessionJson(record));
  };

  const end = async (room: string, id: string): Promise<RouteResponse> => {
    const current = await store.get(id);
    if (!current || current.kind !== VideoKind.Session || current.room !== room)
      return problem(404, 'NOT_FOUND', 'no such session in this room');
    const result = await store.endSession(id, now());
    if (!result.ok) return problem(409, 'SESSION_ENDED', 'the session has ended already');
    announce(result.record, v1.LiveSessionState.LIVE_SESSION_STATE_ENDED);
    return json(200, sessionJson(result.record));
  };

  /** Runs `fn` for an authorized request on a valid room, answering 503 when the store fails. */
  const route = (
    method: Route['method'],
    pattern: string,
    doc: RouteDoc,
    fn: (room: string, req: RouteRequest) => Promise<RouteResponse>,
  ): Route => ({
    method,
    pattern,
    doc,
    maxBody: 4 * 1024,
    handler: async (req) => {
      if (!authorized(req)) return unauthorized();
      const room = req.params[0] ?? '';
      if (!isValidRoomId(room) || isVideoRoom(room))
        return problem(400, 'BAD_ROOM', 'room ids are 1 to 64 characters of A-Z a-z 0-9 _ - (not starting _v_)');
      try {
        return await fn(room, req);
      } catch (err) {
        return problem(503, 'UNAVAILABLE', `session store unavailable: ${(err as Error).message.slice(0, 200)}`);
      }
    },
  });

  return [
    route(
      'post',
      '/api/v1/rooms/:room/sessions',
      {
        tag: 'sessions',
        summary: 'Start a live session',
        description: 'A `session` control event tells viewers; the like total and leaderboard start again from zero.',
        params: room,
        body: { schema: offsetBody, description: 'optional' },
        responses: { 201: { description: 'started', schema: sessionSchema }, 409: problemDoc('SESSION_OPEN (with session_id)'), ...common },
      },
      async (room, req) => {
        const body = parseBody(req);
        if (isResponse(body)) return body;
        const offset = offsetOf(body, 0);
        if (isResponse(offset)) return offset;
        return start(room, offset ?? 0);
      },
    ),
    route(
      'get',
      '/api/v1/rooms/:room/sessions/current',
      {
        tag: 'sessions',
        summary: "The room's open session",
        params: room,
        responses: { 200: { description: 'open', schema: sessionSchema }, 404: problemDoc('NOT_FOUND: none open'), ...common },
      },
      async (room) => {
        const open = await store.openSession(room);
        return open ? json(200, sessionJson(open)) : problem(404, 'NOT_FOUND', 'no session open in this room');
      },
    ),
    route(
      'post',
      '/api/v1/rooms/:room/sessions/:id/end',
      {
        tag: 'sessions',
        summary: 'End a live session; it is a video from then on',
        params: session,
        responses: {
          200: { description: 'ended', schema: sessionSchema },
          404: problemDoc('NOT_FOUND'),
          409: problemDoc('SESSION_ENDED'),
          ...common,
        },
      },
      (room, req) => end(room, req.params[1] ?? ''),
    ),
    route(
      'put',
      '/api/v1/rooms/:room/sessions/:id',
      {
        tag: 'sessions',
        summary: "Correct a session's offset to its recording",
        params: session,
        body: { schema: offsetBody },
        responses: { 200: { description: 'corrected', schema: sessionSchema }, 404: problemDoc('NOT_FOUND'), ...common },
      },
      async (room, req) => {
        const body = parseBody(req);
        if (isResponse(body)) return body;
        const offset = offsetOf(body, undefined);
        if (isResponse(offset)) return offset;
        if (offset === undefined) return problem(400, 'BAD_OFFSET', 'send { "offset_ms": <integer> }');
        const current = await store.get(req.params[1] ?? '');
        if (!current || current.kind !== VideoKind.Session || current.room !== room)
          return problem(404, 'NOT_FOUND', 'no such session in this room');
        const updated = { ...current, offsetMs: offset };
        await store.put(updated);
        announce(updated, v1.LiveSessionState.LIVE_SESSION_STATE_OFFSET);
        return json(200, sessionJson(updated));
      },
    ),
    route(
      'post',
      '/api/v1/rooms/:room/stream-state',
      {
        tag: 'sessions',
        summary: 'The stream went live or offline: start or end the session',
        params: room,
        body: { schema: s.object({ live: s.boolean() }, ['live']) },
        responses: {
          200: { description: 'already live (the open session), or ended', schema: sessionSchema },
          201: { description: 'started', schema: sessionSchema },
          404: problemDoc('NOT_FOUND: offline with no session open'),
          ...common,
        },
      },
      async (room, req) => {
        const body = parseBody(req);
        if (isResponse(body)) return body;
        const live = body['live'];
        if (typeof live !== 'boolean') return problem(400, 'BAD_STATE', 'send { "live": true } or { "live": false }');
        const open = await store.openSession(room);
        if (live) return open ? json(200, sessionJson(open)) : start(room, 0);
        return open ? end(room, open.id) : problem(404, 'NOT_FOUND', 'no session open in this room');
      },
    ),
  ];
}
