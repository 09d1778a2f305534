/**
 * Messages of the site API (docs/api.md "Messages"):
 *
 *   POST /api/v1/rooms/:room/messages   a danmaku from a bot or the site, or a system line; optionally to one user
 *   POST /api/v1/broadcast              a notice to listed rooms, or to every room
 *
 * Checked here (the same text checks as a viewer's danmaku, passed in by the
 * wiring since they live in edge/validate.ts) and posted to core over the bus
 * (`PostRequest`, core/messages/message-service.ts), answered once core has
 * stored it (or sent it, for a private line or every room). An
 * `Idempotency-Key` makes a retry, through any edge, answer the first result
 * and show nothing twice.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, v1 } from '../../proto/index.js';
import { maxUserIdLength } from '../../domain/auth.js';
import type { Bus } from '../../domain/bus.js';
import { json, problem } from '../../domain/http.js';
import type { Route, RouteRequest, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { maxIdempotencyKeyLength } from '../gifts/gifts.js';
import { idempotencyHeader } from './gifts-api.js';

/** Longest system line or broadcast notice, in code points (as a moderator's notice). */
export const maxNoticeLength = 500;
/** Most rooms one broadcast may list. */
export const maxBroadcastRooms = 1_000;
/** How long the API waits for core before answering 503 (retry with the same key). */
const apiTimeoutMs = 10_000;
const keyPattern = new RegExp(`^[\\x21-\\x7e]{1,${maxIdempotencyKeyLength}}$`);

/** The user a message is sent as: the site itself (badge `system`) unless a bot is named (badge `bot`). */
export const siteUser: v1.IUser = { id: 'system', name: 'System', role: v1.Role.ROLE_ADMIN, badges: ['system'] };

/** What the routes need. */
export interface MessageApiOptions {
  bus: Bus;
  /** `BARRAGE_MAX_TEXT`: longest danmaku. */
  maxTextLength: number;
  /** Why `text` is not acceptable at most `max` code points long (a viewer's checks), or undefined. */
  checkText: (text: string, max: number) => string | undefined;
}

type Body = Record<string, unknown>;

function parseJson(req: RouteRequest): Body | RouteResponse {
  try {
    const b = JSON.parse(req.body.toString('utf8')) as unknown;
    if (b && typeof b === 'object' && !Array.isArray(b)) return b as Body;
  } catch {
    // answered below
  }
  return problem(400, 'INVALID_JSON', 'the body must be a JSON object');
}

const isResponse = (x: unknown): x is RouteResponse => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;

/** The Idempotency-Key header: undefined when absent, a response when malformed. */
function idempotencyKey(req: RouteRequest): string | undefined | RouteResponse {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  return keyPattern.test(key)
    ? key
    : problem(400, 'IDEMPOTENCY_KEY_INVALID', `Idempotency-Key must be 1-${maxIdempotencyKeyLength} visible ASCII characters`);
}

const fingerprint = (parts: unknown): string => createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);

const levelOf = (b: Body): string | RouteResponse => {
  const level = b['level'] ?? 'info';
  return level === 'info' || level === 'warn' ? level : problem(400, 'INVALID_ARGUMENT', 'level must be "info" or "warn"');
};

const eventJson = (reply: v1.PaidReply, room: string) => ({
  room,
  seq: Number(reply.seq),
  id: reply.event?.danmaku?.id ?? '',
  duplicate: reply.duplicate,
});

const messageSchema = s.object(
  {
    type: s.enum(['danmaku', 'system'], 'a danmaku (default) or a system line (a notice)'),
    text: s.string("danmaku: 1 to BARRAGE_MAX_TEXT code points; system: 1 to 500; the checks of a viewer's text"),
    bot: s.object(
      { id: s.string(`1 to ${maxUserIdLength} characters`), name: s.string('1 to 64 characters') },
      ['id', 'name'],
      'send as this bot (badge "bot"); absent: as the site (id "system", badge "system")',
    ),
    to_user: s.string("deliver only to this user's sockets in the room, on every edge; unsequenced (seq 0), not stored or replayed"),
    mode: s.integer('danmaku: 0 scroll, 1 top, 2 bottom'),
    color: s.integer('danmaku: 0xRRGGBB'),
    level: s.enum(['info', 'warn'], 'system: default info'),
  },
  ['text'],
);
const postedSchema = s.object({
  room: s.string(),
  seq: s.integer('the room seq; 0 for a private line (unsequenced)'),
  id: s.string('the danmaku id (for retract); empty for a system line'),
  duplicate: s.boolean('true when this answers a retry of the same Idempotency-Key'),
});

/** The message routes. */
export function messageRoutes(o: MessageApiOptions): Route[] {
  const ask = async (subject: string, request: v1.IPostRequest): Promise<v1.PaidReply | RouteResponse> => {
    try {
      return v1.PaidReply.decode(await o.bus.request(subject, v1.PostRequest.encode(request).finish(), apiTimeoutMs));
    } catch {
      const res = problem(503, 'UNAVAILABLE', 'not confirmed; retry with the same Idempotency-Key');
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
  };
  /** A failed reply, a reused key, or undefined when it went through. */
  const failure = (reply: v1.PaidReply): RouteResponse | undefined => {
    if (reply.error === ErrorCode.ERROR_CODE_UNAVAILABLE) {
      const res = problem(503, 'UNAVAILABLE', reply.message);
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
    if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED)
      return problem(400, v1.ErrorCode[reply.error] ?? 'INVALID_ARGUMENT', reply.message);
    if (reply.conflict) return problem(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different message');
    return undefined;
  };
  const answer = (reply: v1.PaidReply, status: number, body: unknown): RouteResponse => {
    const res = json(reply.duplicate ? 200 : status, body);
    if (reply.duplicate) res.headers = { ...res.headers, 'idempotent-replayed': 'true' };
    return res;
  };

  return [
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/messages',
      maxBody: 8 * 1024,
      doc: {
        tag: 'messages',
        summary: 'Send a danmaku as a bot or the site, or a system line; to the room or to one user',
        description:
          "Sequenced into the room like a viewer's danmaku (a system line is a notice, kept and replayed like control events) and answered " +
          "once stored. With `to_user` it goes only to that user's sockets, on every edge, with seq 0: a seq only one viewer received " +
          "would be a gap every other viewer tries to recover, so private lines are not part of the room's sequence, not stored and not " +
          'replayed. With an Idempotency-Key a retry answers the first result (200, `Idempotent-Replayed: true`) and shows nothing twice.',
        params: { room: 'room id' },
        headers: { 'Idempotency-Key': { ...idempotencyHeader, required: false } },
        body: { schema: messageSchema },
        responses: {
          200: { description: 'a retry: the first answer', schema: postedSchema },
          201: { description: 'stored in the room (sequenced)', schema: postedSchema },
          202: { description: "a private line: sent to the user's open sockets", schema: postedSchema },
          400: problemDoc('BAD_ROOM, INVALID_JSON, INVALID_ARGUMENT, TEXT_INVALID, IDEMPOTENCY_KEY_INVALID'),
          409: problemDoc('IDEMPOTENCY_KEY_REUSED'),
          503: problemDoc('UNAVAILABLE: not confirmed in time; retry with the same key'),
        },
      },
      handler: async (req) => {
        const room = req.params[0] ?? '';
        if (!isValidRoomId(room)) return problem(400, 'BAD_ROOM', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');
        const key = idempotencyKey(req);
        if (isResponse(key)) return key;
        const b = parseJson(req);
        if (isResponse(b)) return b;
        const type = b['type'] ?? 'danmaku';
        if (type !== 'danmaku' && type !== 'system') return problem(400, 'INVALID_ARGUMENT', 'type must be "danmaku" or "system"');
        const text = typeof b['text'] === 'string' ? b['text'].trim() : '';
        const why = o.checkText(text, type === 'system' ? maxNoticeLength : o.maxTextLength);
        if (why) return problem(400, 'TEXT_INVALID', why);
        const toUser = b['to_user'];
        if (toUser !== undefined && (typeof toUser !== 'string' || toUser.length === 0 || toUser.length > maxUserIdLength))
          return problem(400, 'INVALID_ARGUMENT', `to_user must be a user id of 1-${maxUserIdLength} characters`);
        let event: v1.IEvent;
        if (type === 'system') {
          const level = levelOf(b);
          if (isResponse(level)) return level;
          event = { notice: { text, level } };
        } else {
          const bot = b['bot'] as Body | undefined;
          let user = siteUser;
          if (bot !== undefined) {
            const id = bot?.['id'];
            const name = bot?.['name'];
            if (
              typeof id !== 'string' ||
              !id ||
              id.length > maxUserIdLength ||
              typeof name !== 'string' ||
              !name.trim() ||
              name.length > 64
            )
              return problem(400, 'INVALID_ARGUMENT', `bot needs an id (1-${maxUserIdLength} characters) and a name (1-64)`);
            user = { id, name: name.trim(), role: v1.Role.ROLE_VIEWER, badges: ['bot'] };
          }
          const mode = b['mode'] ?? 0;
          const color = b['color'] ?? 0xffffff;
          if (mode !== 0 && mode !== 1 && mode !== 2)
            return problem(400, 'INVALID_ARGUMENT', 'mode must be 0 (scroll), 1 (top) or 2 (bottom)');
          if (typeof color !== 'number' || !Number.isInteger(color) || color < 0 || color > 0xffffff)
            return problem(400, 'INVALID_ARGUMENT', 'color must be 0xRRGGBB');
          event = { danmaku: { user, text, mode, color } };
        }
        const reply = await ask(subjects.post(room), {
          id: key === undefined ? '' : `m:${key}`,
          event,
          fingerprint: fingerprint([
            type,
            text,
            event.danmaku?.user?.id,
            event.danmaku?.mode,
            event.danmaku?.color,
            event.notice?.level,
            toUser,
          ]),
          toUser: typeof toUser === 'string' ? toUser : '',
        });
        if (isResponse(reply)) return reply;
        const failed = failure(reply);
        if (failed) return failed;
        return answer(reply, toUser === undefined ? 201 : 202, {
          ...eventJson(reply, room),
          ...(toUser !== undefined ? { to_user: toUser } : {}),
        });
      },
    },
    {
      method: 'post',
      pattern: '/api/v1/broadcast',
      maxBody: 64 * 1024,
      doc: {
        tag: 'messages',
        summary: 'A notice to listed rooms, or to every room, in one call',
        description:
          "Listed rooms get a notice each, sequenced and stored like a moderator's notice (with an Idempotency-Key, once per room: a retry " +
          'after a partial failure posts only what is missing). `"rooms": "*"` sends it to every socket of every edge at once, unsequenced ' +
          '(seq 0), not stored or replayed: there is no list of every room to sequence into.',
        headers: { 'Idempotency-Key': { ...idempotencyHeader, required: false } },
        body: {
          schema: s.object(
            {
              text: s.string(`1 to ${maxNoticeLength} code points`),
              level: s.enum(['info', 'warn']),
              rooms: s.any(`an array of 1 to ${maxBroadcastRooms} room ids, or "*" for every room`),
            },
            ['text', 'rooms'],
          ),
        },
        responses: {
          200: {
            description: 'every listed room has the notice (seq per room), or a retry of a broadcast to every room',
            schema: s.object({ results: s.array(postedSchema) }),
          },
          202: { description: '"*": sent to every socket', schema: s.object({ every_room: s.boolean(), duplicate: s.boolean() }) },
          400: problemDoc('INVALID_JSON, INVALID_ARGUMENT, BAD_ROOM, TEXT_INVALID, IDEMPOTENCY_KEY_INVALID'),
          409: problemDoc('IDEMPOTENCY_KEY_REUSED'),
          503: problemDoc('UNAVAILABLE: some rooms were not confirmed (listed in `results` with `error`); retry with the same key'),
        },
      },
      handler: async (req) => {
        const key = idempotencyKey(req);
        if (isResponse(key)) return key;
        const b = parseJson(req);
        if (isResponse(b)) return b;
        const text = typeof b['text'] === 'string' ? b['text'].trim() : '';
        const why = o.checkText(text, maxNoticeLength);
        if (why) return problem(400, 'TEXT_INVALID', why);
        const level = levelOf(b);
        if (isResponse(level)) return level;
        const rooms = b['rooms'];
        const request = {
          id: key === undefined ? '' : `b:${key}`,
          event: { notice: { text, level } },
          fingerprint: fingerprint([text, level]),
        };
        if (rooms === '*') {
          const reply = await ask(subjects.broadcast, { ...request, everyRoom: true });
          if (isResponse(reply)) return reply;
          return failure(reply) ?? answer(reply, 202, { every_room: true, duplicate: reply.duplicate });
        }
        if (!Array.isArray(rooms) || rooms.length === 0 || rooms.length > maxBroadcastRooms)
          return problem(400, 'INVALID_ARGUMENT', `rooms must be "*" or an array of 1-${maxBroadcastRooms} room ids`);
        const bad = rooms.find((r) => typeof r !== 'string' || !isValidRoomId(r));
        if (bad !== undefined) return problem(400, 'BAD_ROOM', `not a room id: ${JSON.stringify(bad).slice(0, 80)}`);
        const unique = [...new Set(rooms as string[])];
        const results = await Promise.all(
          unique.map(async (room) => {
            const reply = await ask(subjects.post(room), request);
            if (isResponse(reply)) return { room, seq: 0, id: '', duplicate: false, error: 'UNAVAILABLE' };
            const failed = failure(reply);
            if (failed)
              return { room, seq: 0, id: '', duplicate: false, error: failed.status === 409 ? 'IDEMPOTENCY_KEY_REUSED' : 'UNAVAILABLE' };
            return eventJson(reply, room);
          }),
        );
        if (results.some((r) => 'error' in r && r.error === 'IDEMPOTENCY_KEY_REUSED'))
          return problem(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different broadcast');
        if (results.some((r) => 'error' in r)) {
          const res = json(503, {
            error: { code: 'UNAVAILABLE', message: 'some rooms were not confirmed; retry with the same Idempotency-Key' },
            results,
          });
          res.headers = { ...res.headers, 'retry-after': '1' };
          return res;
        }
        const res = json(200, { results });
        if (results.every((r) => r.duplicate)) res.headers = { ...res.headers, 'idempotent-replayed': 'true' };
        return res;
      },
    },
  ];
}
