/**
 * The gifts API for site backends (documented in docs/api.md):
 *
 *   POST   /api/v1/rooms/:room/gifts                   record a gift or super chat (Idempotency-Key required)
 *   DELETE /api/v1/rooms/:room/super-chats/:id         unpin a super chat early
 *
 * Mounted on every edge; each request goes to core over the bus and is
 * answered only once core says the event is durable. A retry with the same
 * Idempotency-Key answers 200 with the first result (`Idempotent-Replayed:
 * true`) and shows nothing twice.
 */
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Route, RouteRequest, RouteResponse } from '../../domain/http.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import type { Bus } from '../../domain/bus.js';
import { maxUserIdLength } from '../../domain/auth.js';
import { fingerprintOf, maxIdempotencyKeyLength } from '../gifts/gifts.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { idempotentBody } from './idempotent-body.js';

/** How long the API waits for core before answering 503 (the site retries with the same key). */
const apiTimeoutMs = 10_000;

const statusOf: Partial<Record<number, [number, string]>> = {
  [ErrorCode.ERROR_CODE_GIFT_UNKNOWN]: [400, 'GIFT_UNKNOWN'],
  [ErrorCode.ERROR_CODE_INVALID_ARGUMENT]: [400, 'INVALID_ARGUMENT'],
  [ErrorCode.ERROR_CODE_TEXT_TOO_LONG]: [400, 'TEXT_TOO_LONG'],
  [ErrorCode.ERROR_CODE_NOT_FOUND]: [404, 'NOT_FOUND'],
  [ErrorCode.ERROR_CODE_UNAVAILABLE]: [503, 'UNAVAILABLE'],
};

/** The JSON shape of a recorded paid event. */
export function paidEventJson(event: v1.IEvent | null | undefined): Record<string, unknown> {
  if (!event) return {};
  const user = (u: v1.IUser | null | undefined) => ({ id: u?.id ?? '', name: u?.name ?? '' });
  const out: Record<string, unknown> = { seq: Number(event.seq ?? 0), room: event.room ?? '', ts_ms: Number(event.tsMs ?? 0) };
  if (event.gift) {
    const g = event.gift;
    out['gift'] = {
      id: g.id,
      user: user(g.user),
      gift_id: g.giftId,
      name: g.name,
      count: g.count,
      price_cents: Number(g.priceCents ?? 0),
      combo: g.combo,
      combo_id: g.comboId,
      image_url: g.imageUrl,
      tier: g.tier,
    };
  }
  if (event.superChat) {
    const s = event.superChat;
    out['super_chat'] = {
      id: s.id,
      user: user(s.user),
      text: s.text,
      price_cents: Number(s.priceCents ?? 0),
      pin_seconds: s.pinSeconds,
      color: s.color,
    };
  }
  return out;
}

function failure(reply: v1.PaidReply): RouteResponse {
  const [status, code] = statusOf[reply.error] ?? [500, 'INTERNAL'];
  const res = problem(status, code, reply.message);
  if (status === 503) res.headers = { ...res.headers, 'retry-after': '1' };
  return res;
}

function parseBody(req: RouteRequest, room: string): { request: v1.PaidRequest } | { error: RouteResponse } {
  const read = idempotentBody(req);
  if ('error' in read) return read;
  const { key, body } = read;
  const user = body['user'] as Record<string, unknown> | undefined;
  const userId = typeof user?.['id'] === 'string' ? user['id'] : '';
  if (!userId || userId.length > maxUserIdLength) {
    return { error: problem(400, 'INVALID_ARGUMENT', `user.id is required (1-${maxUserIdLength} characters)`) };
  }
  const name = typeof user?.['name'] === 'string' ? user['name'].slice(0, 64) : userId;
  const sc = body['super_chat'] as Record<string, unknown> | undefined;
  const gift = body['gift'];
  if ((gift === undefined) === (sc === undefined)) {
    return { error: problem(400, 'INVALID_ARGUMENT', 'send either "gift" (with "count") or "super_chat" ({ text, price_cents })') };
  }
  const count = body['count'] ?? 1;
  if (gift !== undefined && (typeof gift !== 'string' || typeof count !== 'number' || !Number.isInteger(count) || count < 1)) {
    return { error: problem(400, 'INVALID_ARGUMENT', '"gift" must be a gift id and "count" a positive integer') };
  }
  const price = sc?.['price_cents'];
  if (sc !== undefined && (typeof sc['text'] !== 'string' || typeof price !== 'number' || !Number.isInteger(price) || price < 0)) {
    return { error: problem(400, 'INVALID_ARGUMENT', '"super_chat" needs "text" and integer "price_cents"') };
  }
  const request = new v1.PaidRequest({
    id: `k:${key}`,
    user: { id: userId, name, role: v1.Role.ROLE_VIEWER },
    giftId: typeof gift === 'string' ? gift : '',
    count: typeof gift === 'string' ? (count as number) : 0,
    text: typeof sc?.['text'] === 'string' ? sc['text'] : '',
    priceCents: typeof price === 'number' ? price : 0,
  });
  request.fingerprint = fingerprintOf(request) + ':' + room;
  return { request };
}

/** The `Idempotency-Key` header as the API description tells it. */
export const idempotencyHeader = {
  description: `1 to ${maxIdempotencyKeyLength} visible ASCII characters, unique per intended action; a retry sends the same key`,
  required: true,
};
const paidSchema = s.object(
  {
    seq: s.integer(),
    room: s.string(),
    ts_ms: s.integer(),
    duplicate: s.boolean('true when this answers a retry'),
    gift: s.any('gift: id, user, gift_id, name, count, price_cents, combo, combo_id, image_url, tier'),
    super_chat: s.any('super chat: id, user, text, price_cents, pin_seconds, color'),
  },
  ['seq', 'duplicate'],
);

/** The gift routes, checking `apiKey` and forwarding to core over `bus`. */
export function giftRoutes(options: { apiKey: string; bus: Bus }): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const ask = async (subject: string, data: Uint8Array): Promise<v1.PaidReply | RouteResponse> => {
    try {
      return v1.PaidReply.decode(await options.bus.request(subject, data, apiTimeoutMs));
    } catch {
      const res = problem(503, 'UNAVAILABLE', 'not confirmed; retry with the same Idempotency-Key');
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
  };
  return [
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/gifts',
      maxBody: 8 * 1024,
      doc: {
        tag: 'gifts',
        summary: 'Record a gift or a super chat, once per Idempotency-Key',
        description:
          'Answered once core says the event is durable. A retry with the same key answers 200 with the first result ' +
          '(`Idempotent-Replayed: true`) and shows nothing twice; on 503 retry with the same key.',
        params: { room: 'room id' },
        headers: { 'Idempotency-Key': idempotencyHeader },
        body: {
          schema: s.object(
            {
              user: s.ref('User'),
              gift: s.string('a gift id of the catalogue (or super_chat)'),
              count: s.integer('default 1'),
              super_chat: s.object({ text: s.string(), price_cents: s.integer() }, ['text', 'price_cents']),
            },
            ['user'],
          ),
        },
        responses: {
          200: { description: 'a retry: the first answer', schema: paidSchema },
          201: { description: 'recorded', schema: paidSchema },
          400: problemDoc('BAD_ROOM, IDEMPOTENCY_KEY_REQUIRED, INVALID_JSON, INVALID_ARGUMENT, GIFT_UNKNOWN, TEXT_TOO_LONG'),
          409: problemDoc('IDEMPOTENCY_KEY_REUSED: the key was used for a different request'),
          503: problemDoc('UNAVAILABLE: not confirmed in time; retry with the same key'),
        },
      },
      handler: async (req) => {
        if (!authorized(req)) return unauthorized();
        const room = req.params[0] ?? '';
        if (!isValidRoomId(room)) return problem(400, 'BAD_ROOM', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');
        const parsed = parseBody(req, room);
        if ('error' in parsed) return parsed.error;
        const reply = await ask(subjects.paid(room), v1.PaidRequest.encode(parsed.request).finish());
        if (!(reply instanceof v1.PaidReply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
        if (reply.conflict) {
          return problem(
            409,
            'IDEMPOTENCY_KEY_REUSED',
            `this Idempotency-Key was used for a different request (recorded as seq ${reply.seq})`,
          );
        }
        const res = json(reply.duplicate ? 200 : 201, {
          ...paidEventJson(reply.event),
          seq: Number(reply.seq),
          duplicate: reply.duplicate,
        });
        if (reply.duplicate) res.headers = { ...res.headers, 'idempotent-replayed': 'true' };
        return res;
      },
    },
    {
      method: 'del',
      pattern: '/api/v1/rooms/:room/super-chats/:id',
      doc: {
        tag: 'gifts',
        summary: 'Unpin a super chat before its time',
        params: { room: 'room id', id: 'SuperChat.id (e.g. k:order-123)' },
        responses: {
          200: { description: 'removed', schema: s.object({ seq: s.integer(), removed: s.string() }) },
          400: problemDoc('BAD_ROOM'),
          404: problemDoc('NOT_FOUND: not pinned'),
          503: problemDoc('UNAVAILABLE'),
        },
      },
      handler: async (req) => {
        if (!authorized(req)) return unauthorized();
        const [room = '', id = ''] = req.params;
        if (!isValidRoomId(room)) return problem(400, 'BAD_ROOM', 'room must be 1-64 characters of A-Z a-z 0-9 _ -');
        const reply = await ask(subjects.removeSuperChat(room), v1.RemoveSuperChat.encode({ id, byUserId: 'api' }).finish());
        if (!(reply instanceof v1.PaidReply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return failure(reply);
        return json(200, { seq: Number(reply.seq), removed: id });
      },
    },
  ];
}
