/**
 * The plays API for site backends (documented in docs/api.md):
 *
 *   POST /api/v1/rooms/:room/red-packets        open a red packet (Idempotency-Key required)
 *   GET  /api/v1/rooms/:room/red-packets/:id    a packet with its grabs and, once expired, the refundable rest
 *
 * Mounted on every edge; each request goes to core over the bus. The site
 * has charged the sender already: Barrage splits, records and reports. A
 * retry with the same Idempotency-Key answers 200 with the same packet
 * (`Idempotent-Replayed: true`); the same key with a different body is 409.
 */
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Route, RouteRequest, RouteResponse } from '../../domain/http.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import type { Bus } from '../../domain/bus.js';
import { maxUserIdLength } from '../../domain/auth.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { idempotencyHeader } from './gifts-api.js';
import { idempotentBody } from './idempotent-body.js';
import { splitProblem } from '../plays/red-packet-draw.js';
import { defaultGrabsPage, maxGrabsPage } from '../plays/red-packet-live.js';
import { RedPacketService, createFingerprint, maxExpiresSeconds, minExpiresSeconds } from '../plays/red-packets.js';

/** How long the API waits for core before answering 503 (the site retries with the same key). */
const apiTimeoutMs = 10_000;
export const badRoom = (): RouteResponse => problem(400, 'BAD_ROOM', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');

const statusOf: Partial<Record<number, [number, string]>> = {
  [ErrorCode.ERROR_CODE_INVALID_ARGUMENT]: [400, 'INVALID_ARGUMENT'],
  [ErrorCode.ERROR_CODE_NOT_FOUND]: [404, 'NOT_FOUND'],
  [ErrorCode.ERROR_CODE_UNAVAILABLE]: [503, 'UNAVAILABLE'],
};

function failure(reply: v1.PlayReply): RouteResponse {
  const [status, code] = statusOf[reply.error] ?? [500, 'INTERNAL'];
  const res = problem(status, code, reply.message);
  if (status === 503) res.headers = { ...res.headers, 'retry-after': '1' };
  return res;
}

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Reads the body of a create request into a `PlayRequest`, or the 400 that says what is wrong. */
function parseCreate(req: RouteRequest, room: string): { request: v1.PlayRequest } | { error: RouteResponse } {
  const read = idempotentBody(req);
  if ('error' in read) return read;
  const { key, body } = read;
  const invalid = (message: string) => ({ error: problem(400, 'INVALID_ARGUMENT', message) });
  const sender = body['sender'] as Record<string, unknown> | undefined;
  const senderId = typeof sender?.['id'] === 'string' ? sender['id'] : '';
  if (!senderId || senderId.length > maxUserIdLength) return invalid(`sender.id is required (1-${maxUserIdLength} characters)`);
  const senderName = typeof sender?.['name'] === 'string' ? sender['name'].slice(0, 64) : senderId;
  const total = body['total_cents'];
  const count = body['count'];
  if (!isWhole(total) || !isWhole(count)) return invalid('"total_cents" and "count" must be whole numbers');
  const mode = body['mode'] ?? 'random';
  if (mode !== 'random' && mode !== 'equal') return invalid('"mode" must be "random" or "equal"');
  const expires = body['expires_s'] ?? 60;
  const min = body['min_cents'] ?? 1;
  if (!isWhole(expires) || !isWhole(min)) return invalid('"expires_s" and "min_cents" must be whole numbers');
  const membersOnly = body['members_only'] ?? false;
  if (typeof membersOnly !== 'boolean') return invalid('"members_only" must be true or false');
  const keyword = body['keyword'] ?? '';
  const greeting = body['greeting'] ?? '';
  if (typeof keyword !== 'string' || typeof greeting !== 'string') return invalid('"keyword" and "greeting" must be strings');
  // Checked here, before the wire's unsigned fields could wrap a negative or huge number; core checks again.
  const split = splitProblem(total, count, min);
  if (split) return invalid(split);
  if (expires < minExpiresSeconds || expires > maxExpiresSeconds)
    return invalid(`expires_s must be ${minExpiresSeconds} to ${maxExpiresSeconds}`);
  const create = new v1.CreateRedPacket({
    idempotencyKey: key,
    totalCents: total,
    count,
    mode: mode === 'equal' ? v1.RedPacketMode.RED_PACKET_MODE_EQUAL : v1.RedPacketMode.RED_PACKET_MODE_RANDOM,
    expiresS: expires,
    minCents: min,
    membersOnly,
    keyword,
    greeting,
  });
  const problemText = RedPacketService.problemOf(create);
  if (problemText) return invalid(problemText);
  create.fingerprint = createFingerprint(room, create, senderId);
  return {
    request: new v1.PlayRequest({ user: { id: senderId, name: senderName, role: v1.Role.ROLE_VIEWER }, createRedPacket: create }),
  };
}

const user = s.object({ id: s.string(), name: s.string() }, ['id']);
/** A red packet as both routes answer it (docs/api.md). */
const packetSchema = s.object(
  {
    id: s.string('the packet id (grab_red_packet{id})'),
    room: s.string(),
    sender: user,
    total_cents: s.integer(),
    count: s.integer(),
    mode: s.enum(['random', 'equal']),
    min_cents: s.integer(),
    created_at_ms: s.integer(),
    expires_at_ms: s.integer(),
    members_only: s.boolean(),
    keyword: s.string(),
    greeting: s.string(),
    status: s.enum(['open', 'emptied', 'expired']),
    ended: s.boolean('its red_packet_ended event is stored'),
    grabbed: s.integer(),
    grabbed_cents: s.integer(),
    refundable_cents: s.integer('total_cents − grabbed_cents once expired (the site refunds the sender), else 0'),
    luckiest: s.any('{ user, amount_cents } of the largest share, or null'),
    grabs_offset: s.integer(),
    grabs: s.array(
      s.object({ user, amount_cents: s.integer(), slot: s.integer(), at_ms: s.integer() }),
      'the shares taken from grabs_offset on, in order (at most limit); `grabbed` says how many there are',
    ),
  },
  ['id', 'status', 'grabbed', 'grabs'],
);

/** Asks core about a play; a 503 when core does not answer in time. */
export function playAsker(bus: Bus): (room: string, request: v1.PlayRequest) => Promise<v1.PlayReply | RouteResponse> {
  return async (room, request) => {
    try {
      return v1.PlayReply.decode(await bus.request(subjects.play(room), v1.PlayRequest.encode(request).finish(), apiTimeoutMs));
    } catch {
      const res = problem(503, 'UNAVAILABLE', 'not confirmed; retry with the same Idempotency-Key');
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
  };
}

type Ask = ReturnType<typeof playAsker>;
type Parse = (req: RouteRequest, room: string) => { request: v1.PlayRequest } | { error: RouteResponse };

/** The handler of a create route: parse, ask core, answer 201 (or 200 for a retry, 409 for a reused key). */
export function createHandler(ask: Ask, parse: Parse, what: string): Route['handler'] {
  return async (req) => {
    const room = req.params[0] ?? '';
    if (!isValidRoomId(room)) return badRoom();
    const parsed = parse(req, room);
    if ('error' in parsed) return parsed.error;
    const reply = await ask(room, parsed.request);
    if (!(reply instanceof v1.PlayReply)) return reply;
    if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
    if (reply.conflict) return problem(409, 'IDEMPOTENCY_KEY_REUSED', `this Idempotency-Key opened a different ${what}`);
    const res: RouteResponse = { ...json(reply.duplicate ? 200 : 201, {}), body: reply.json };
    if (reply.duplicate) res.headers = { ...res.headers, 'idempotent-replayed': 'true' };
    return res;
  };
}

/** The handler of a read route (`:room/.../:id`, ids are hex). */
export function readHandler(ask: Ask, request: (id: string) => v1.IPlayRequest, what: string): Route['handler'] {
  return async (req) => {
    const [room = '', id = ''] = req.params;
    if (!isValidRoomId(room)) return badRoom();
    if (!/^[0-9a-f]{1,64}$/.test(id)) return problem(404, 'NOT_FOUND', `no such ${what} in this room`);
    const reply = await ask(room, new v1.PlayRequest(request(id)));
    if (!(reply instanceof v1.PlayReply)) return reply;
    if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
    return { ...json(200, {}), body: reply.json };
  };
}

/** The play routes, checking `apiKey` and forwarding to core over `bus`. */
export function playRoutes(options: { apiKey: string; bus: Bus }): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const ask = playAsker(options.bus);
  return [
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/red-packets',
      maxBody: 4 * 1024,
      doc: {
        tag: 'plays',
        summary: 'Open a red packet (红包), once per Idempotency-Key',
        description:
          'The site has charged the sender; Barrage draws the shares now (they sum to total_cents exactly, each ≥ min_cents; ' +
          'random mode: each at most min_cents + twice the mean of what is left), announces the packet to the room and lets ' +
          'viewers grab one share each. A retry with the same key answers 200 with the same packet.',
        params: { room: 'room id' },
        headers: { 'Idempotency-Key': idempotencyHeader },
        body: {
          schema: s.object(
            {
              sender: user,
              total_cents: s.integer('count × min_cents to 1,000,000,000'),
              count: s.integer('1 to 10,000'),
              mode: s.enum(['random', 'equal'], 'default random'),
              expires_s: s.integer('5 to 86,400; default 60'),
              min_cents: s.integer('default 1'),
              members_only: s.boolean(),
              keyword: s.string('≤ 32 characters: only viewers who sent a danmaku containing it since the packet opened may grab'),
              greeting: s.string('≤ 100 characters'),
            },
            ['sender', 'total_cents', 'count'],
          ),
        },
        responses: {
          200: { description: 'a retry: the same packet', schema: packetSchema },
          201: { description: 'opened', schema: packetSchema },
          400: problemDoc('BAD_ROOM, IDEMPOTENCY_KEY_REQUIRED, INVALID_JSON, INVALID_ARGUMENT (the message names the field)'),
          409: problemDoc('IDEMPOTENCY_KEY_REUSED: the key opened a different packet'),
          503: problemDoc('UNAVAILABLE: not confirmed in time; retry with the same key'),
        },
      },
      authorize: (headers) => authorized({ headers }),
      unauthorized,
      handler: createHandler(ask, parseCreate, 'red packet'),
    },
    {
      method: 'get',
      pattern: '/api/v1/rooms/:room/red-packets/:id',
      doc: {
        tag: 'plays',
        summary: 'A red packet with its grabs and, once expired, the refundable rest',
        params: { room: 'room id', id: 'the packet id' },
        query: {
          offset: { description: 'the first grab listed (slot order); default 0', schema: s.integer() },
          limit: { description: `grabs listed, 1 to ${maxGrabsPage}; default ${defaultGrabsPage}`, schema: s.integer() },
        },
        responses: {
          200: { description: 'the packet', schema: packetSchema },
          400: problemDoc('BAD_ROOM'),
          404: problemDoc('NOT_FOUND'),
          503: problemDoc('UNAVAILABLE'),
        },
      },
      authorize: (headers) => authorized({ headers }),
      unauthorized,
      handler: (req) => {
        const offset = Number(req.query.get('offset') ?? 0);
        const limit = Number(req.query.get('limit') ?? defaultGrabsPage);
        if (
          !Number.isSafeInteger(offset) ||
          offset < 0 ||
          offset >= 2 ** 31 ||
          !Number.isSafeInteger(limit) ||
          limit < 1 ||
          limit > maxGrabsPage
        ) {
          return problem(400, 'INVALID_ARGUMENT', `offset must be ≥ 0 and limit 1 to ${maxGrabsPage}`);
        }
        return readHandler(ask, (id) => ({ getRedPacket: id, grabsOffset: offset, grabsLimit: limit }), 'red packet')(req);
      },
    },
  ];
}
