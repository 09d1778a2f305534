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
import type { Bus } from '../../domain/bus.js';
import { maxUserIdLength } from '../../domain/auth.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { idempotentBody } from './idempotent-body.js';
import { splitProblem } from '../plays/red-packet-draw.js';
import { RedPacketService, createFingerprint, maxExpiresSeconds, minExpiresSeconds } from '../plays/red-packets.js';

/** How long the API waits for core before answering 503 (the site retries with the same key). */
const apiTimeoutMs = 10_000;
const badRoom = (): RouteResponse => problem(400, 'BAD_ROOM', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');

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

/** The play routes, checking `apiKey` and forwarding to core over `bus`. */
export function playRoutes(options: { apiKey: string; bus: Bus }): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const ask = async (room: string, request: v1.PlayRequest): Promise<v1.PlayReply | RouteResponse> => {
    try {
      return v1.PlayReply.decode(await options.bus.request(subjects.play(room), v1.PlayRequest.encode(request).finish(), apiTimeoutMs));
    } catch {
      const res = problem(503, 'UNAVAILABLE', 'not confirmed; retry with the same Idempotency-Key');
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
  };
  return [
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/red-packets',
      maxBody: 4 * 1024,
      authorize: (headers) => authorized({ headers }),
      unauthorized,
      handler: async (req) => {
        const room = req.params[0] ?? '';
        if (!isValidRoomId(room)) return badRoom();
        const parsed = parseCreate(req, room);
        if ('error' in parsed) return parsed.error;
        const reply = await ask(room, parsed.request);
        if (!(reply instanceof v1.PlayReply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
        if (reply.conflict) return problem(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key opened a different red packet');
        const res: RouteResponse = {
          status: reply.duplicate ? 200 : 201,
          headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
          body: reply.json,
        };
        if (reply.duplicate) res.headers = { ...res.headers, 'idempotent-replayed': 'true' };
        return res;
      },
    },
    {
      method: 'get',
      pattern: '/api/v1/rooms/:room/red-packets/:id',
      authorize: (headers) => authorized({ headers }),
      unauthorized,
      handler: async (req) => {
        const [room = '', id = ''] = req.params;
        if (!isValidRoomId(room)) return badRoom();
        if (!/^[0-9a-f]{1,64}$/.test(id)) return problem(404, 'NOT_FOUND', 'no such red packet in this room');
        const reply = await ask(room, new v1.PlayRequest({ getRedPacket: id }));
        if (!(reply instanceof v1.PlayReply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
        return { ...json(200, {}), body: reply.json };
      },
    },
  ];
}
