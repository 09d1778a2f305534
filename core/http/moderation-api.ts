/**
 * The moderation API for site backends (API key), documented in docs/api.md
 * under "Moderation":
 *
 * - `POST /api/v1/rooms/:room/moderate`: one action (JSON, see `fromJson`)
 * - `GET  /api/v1/rooms/:room/moderation`: the room's current state
 * - `GET  /api/v1/rooms/:room/held`, `POST /api/v1/rooms/:room/held/:id`
 * - `GET|PUT /api/v1/rooms/:room/filter`, `GET|PUT /api/v1/filter` (global)
 * - `GET  /api/v1/rooms/:room/audit?from&to&limit` (when analytics runs)
 *
 * Every `:room` must be a valid room id (`isValidRoomId`), else 400 BAD_ROOM:
 * `*` in particular is not a room (it names the global filter in the store,
 * which the API addresses only as `/api/v1/filter`).
 *
 * Actions become the same control events as a moderator's `Moderate` frame,
 * published on the room's ingress; the site may name the person acting
 * (`actor: { id, name }`), else the actor is `site`.
 */
import { v1 } from '../../proto/index.js';
import type { Route, RouteDoc, RouteRequest, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import type { AnalyticsQueries } from '../analytics/analytics-queries.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import type { Bus } from '../../domain/bus.js';
import { actionEvent, defaultFilterMaxPatterns, defaultFilterMaxTerms, isActionRefusal, limitRefusal } from '../../domain/moderation.js';
import type { ModerationOptions } from '../../domain/moderation.js';
import { moderationJson } from '../../domain/moderation-state.js';
import type { RoomModeration } from '../../domain/moderation-state.js';
import { globalFilter } from '../../domain/moderation-store.js';
import type { ModerationStore } from '../../domain/moderation-store.js';
import { isValidRoomId, subjects } from '../../domain/subjects.js';
import { patternsProblem } from '../../domain/word-filter.js';

/** What the routes need. */
export interface ModerationApiOptions {
  bus: Bus;
  store: ModerationStore;
  options: ModerationOptions;
  apiKey: string;
  /** For the audit log; without it `/audit` answers 503. */
  queries?: () => AnalyticsQueries | undefined;
  /**
   * The room's state as this process knows it (the edge's copy, kept up to
   * date by the store), for the ban limit check; without it the store is read.
   */
  stateOf?: (room: string) => RoomModeration | undefined;
}

/** Longest term, in characters. */
export const maxTermLength = 100;
/** Longest pattern, in characters. */
export const maxPatternLength = 200;
/** Latest time the audit log is asked about: 2100-01-01 (ClickHouse's DateTime ends in 2106). */
const maxAuditMs = 4_102_444_800_000;
const filterActions: Record<string, v1.FilterAction> = {
  block: v1.FilterAction.FILTER_ACTION_BLOCK,
  replace: v1.FilterAction.FILTER_ACTION_REPLACE,
  hold: v1.FilterAction.FILTER_ACTION_HOLD,
};
const filterActionName = (a: v1.FilterAction): string => Object.keys(filterActions).find((k) => filterActions[k] === a) ?? 'block';

type Body = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** A JSON action as a `Moderate`, or a message saying what is wrong. */
export function fromJson(b: Body): v1.IModerate | string {
  const reason = str(b['reason']);
  switch (b['action']) {
    case 'retract':
    case 'delete':
      return { retract: { danmakuId: str(b['danmaku_id']) }, reason };
    case 'timeout':
    case 'mute':
      return { mute: { userId: str(b['user_id']), seconds: num(b['seconds']) }, reason };
    case 'untimeout':
    case 'unmute':
      return { unmute: { userId: str(b['user_id']) }, reason };
    case 'ban':
      // No `seconds`: the deployment's default length (BARRAGE_BAN_DEFAULT_SECONDS).
      return { ban: { userId: str(b['user_id']), seconds: b['seconds'] === undefined ? 0 : num(b['seconds']) }, reason };
    case 'unban':
      return { unban: { userId: str(b['user_id']) }, reason };
    case 'slow_mode':
      return { slowMode: { seconds: num(b['seconds']) }, reason };
    case 'pin':
      return { pin: { danmakuId: str(b['danmaku_id']), text: str(b['text']), seconds: num(b['seconds']) }, reason };
    case 'unpin':
      return { pin: { seconds: 0 }, reason };
    case 'notice':
      return { notice: { text: str(b['text']) }, reason };
    case 'room_mode':
      return {
        roomMode: { danmakuOff: b['danmaku_off'] === true, membersOnly: b['members_only'] === true, emoteOnly: b['emote_only'] === true },
        reason,
      };
    case 'close':
      return { roomClose: { reason }, reason };
    case 'reopen':
      return { roomClose: { reopen: true }, reason };
    default:
      return 'action must be one of retract, timeout, untimeout, ban, unban, slow_mode, pin, unpin, notice, room_mode, close, reopen';
  }
}

/** The JSON object body of a request, or a 400 answer. */
export function parseBody(req: RouteRequest): Body | RouteResponse {
  try {
    const b = JSON.parse(req.body.toString('utf8')) as unknown;
    if (b && typeof b === 'object' && !Array.isArray(b)) return b as Body;
  } catch {
    // answered below
  }
  return problem(400, 'BAD_JSON', 'the body must be a JSON object');
}

/** True for an answer (what `parseBody` gives for a bad body). */
export const isResponse = (x: unknown): x is RouteResponse => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;

/** The person at the site who acted (`actor: { id, name }`), else `site`. */
export function actorOf(b: Body): v1.IUser {
  const a = (b['actor'] ?? {}) as Body;
  return { id: str(a['id']).slice(0, 128) || 'site', name: str(a['name']).slice(0, 64) || 'site', role: v1.Role.ROLE_ADMIN };
}

/**
 * Checks and converts filter rules from JSON: at most `filterMaxTerms` terms
 * and `filterMaxPatterns` patterns (every edge compiles them), each pattern
 * one RE2 accepts at a bounded size (`patternsProblem`).
 */
export async function rulesFromJson(
  b: Body,
  options: Pick<ModerationOptions, 'filterMaxTerms' | 'filterMaxPatterns'> = {},
): Promise<v1.FilterRules | string> {
  const maxTerms = options.filterMaxTerms ?? defaultFilterMaxTerms;
  const maxPatterns = options.filterMaxPatterns ?? defaultFilterMaxPatterns;
  const terms = b['terms'] ?? [];
  const patterns = b['patterns'] ?? [];
  if (!Array.isArray(terms)) return `terms must be an array of strings of 1 to ${maxTermLength} characters`;
  if (terms.length > maxTerms) return `at most ${maxTerms} terms (BARRAGE_FILTER_MAX_TERMS), got ${terms.length}`;
  if (!terms.every((t) => typeof t === 'string' && t.length > 0 && t.length <= maxTermLength))
    return `terms must be an array of strings of 1 to ${maxTermLength} characters`;
  if (!Array.isArray(patterns)) return `patterns must be an array of strings of 1 to ${maxPatternLength} characters`;
  if (patterns.length > maxPatterns) return `at most ${maxPatterns} patterns (BARRAGE_FILTER_MAX_PATTERNS), got ${patterns.length}`;
  if (!patterns.every((p) => typeof p === 'string' && p.length > 0 && p.length <= maxPatternLength))
    return `patterns must be an array of strings of 1 to ${maxPatternLength} characters`;
  const action = filterActions[str(b['action']) || 'block'];
  if (action === undefined) return 'action must be block, replace or hold';
  const why = await patternsProblem(patterns as string[]);
  if (why) return why.slice(0, 300);
  return new v1.FilterRules({ terms: terms as string[], patterns: patterns as string[], action, updatedMs: Date.now() });
}

/**
 * A time of the audit range: epoch milliseconds (digits only) or an ISO 8601
 * time, from 1970 to 2100; undefined when it is neither.
 */
function auditTime(raw: string | null, fallback: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  const t = /^\d{1,16}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  return Number.isInteger(t) && t >= 0 && t <= maxAuditMs ? t : undefined;
}

const rulesJson = (rules: v1.FilterRules | undefined) => ({
  terms: rules?.terms ?? [],
  patterns: rules?.patterns ?? [],
  action: filterActionName(rules?.action ?? v1.FilterAction.FILTER_ACTION_BLOCK),
  updated_ms: Number(rules?.updatedMs ?? 0),
});

const heldJson = (h: v1.IHeld) => ({
  hold_id: h.holdId,
  user: { id: h.danmaku?.user?.id ?? '', name: h.danmaku?.user?.name ?? '' },
  text: h.danmaku?.text ?? '',
  matched: h.matched ?? '',
  ts_ms: Number(h.tsMs ?? 0),
});

const actionSchema = s.object(
  {
    action: s.enum([
      'retract',
      'delete',
      'timeout',
      'mute',
      'untimeout',
      'unmute',
      'ban',
      'unban',
      'slow_mode',
      'pin',
      'unpin',
      'notice',
      'room_mode',
      'close',
      'reopen',
    ]),
    user_id: s.string('timeout, untimeout, ban, unban'),
    danmaku_id: s.string('retract, pin'),
    seconds: s.integer('timeout, ban, slow_mode, pin'),
    text: s.string('pin, notice'),
    danmaku_off: s.boolean('room_mode'),
    members_only: s.boolean('room_mode'),
    emote_only: s.boolean('room_mode'),
    reason: s.string('at most 200 characters, kept in the audit log'),
    actor: s.ref('User'),
  },
  ['action'],
);
const heldSchema = s.object({ hold_id: s.string(), user: s.ref('User'), text: s.string(), matched: s.string(), ts_ms: s.integer() });
const rulesSchema = s.object({
  terms: s.array(s.string(), `at most BARRAGE_FILTER_MAX_TERMS, each 1 to ${maxTermLength} characters`),
  patterns: s.array(s.string(), `RE2 patterns, at most BARRAGE_FILTER_MAX_PATTERNS, each 1 to ${maxPatternLength} characters`),
  action: s.enum(['block', 'replace', 'hold']),
});
const rulesAnswer = s.object({
  room: s.string('null for the global rules', { type: ['string', 'null'] }),
  ...(rulesSchema['properties'] as object),
  updated_ms: s.integer(),
});
const getFilterDoc = (whose: string): RouteDoc => ({
  tag: 'moderation',
  summary: `The word filter of ${whose}`,
  responses: { 200: { description: 'the rules', schema: rulesAnswer } },
});
const putFilterDoc = (whose: string): RouteDoc => ({
  tag: 'moderation',
  summary: `Replace the word filter of ${whose}`,
  body: { schema: rulesSchema },
  responses: { 200: { description: 'the rules now in force', schema: rulesAnswer }, 400: problemDoc('BAD_FILTER (the message says why)') },
});

/** A route of the site API: `run` is called once the key and (for `:room` routes) the room id are checked. */
export type SiteRoute = (
  method: Route['method'],
  pattern: string,
  doc: RouteDoc,
  run: (room: string, req: RouteRequest) => Promise<RouteResponse>,
  maxBody?: number,
) => Route;

/** Makes site routes checking `apiKey` (the moderation and report routes share it). */
export function siteRoute(apiKey: string): SiteRoute {
  const authorized = bearerAuth(apiKey);
  return (
    method: Route['method'],
    pattern: string,
    doc: RouteDoc,
    run: (room: string, req: RouteRequest) => Promise<RouteResponse>,
    maxBody?: number,
  ): Route => ({
    method,
    pattern,
    ...(maxBody ? { maxBody } : {}),
    doc: {
      ...doc,
      ...(pattern.includes(':room') ? { params: { room: 'room id (1 to 64 of A-Z a-z 0-9 _ -)', ...doc.params } } : {}),
      responses: pattern.includes(':room')
        ? { 400: problemDoc('BAD_ROOM, or the request is wrong (the code says how)'), ...doc.responses }
        : doc.responses,
    },
    handler: async (req) => {
      if (!authorized(req)) return unauthorized();
      // Only a route without `:room` (`/api/v1/filter`) means the global rules: `/rooms/*/...` is a bad room, not them.
      if (!pattern.includes(':room')) return run(globalFilter, req);
      const room = req.params[0] ?? '';
      if (!isValidRoomId(room)) return problem(400, 'BAD_ROOM', 'room ids are 1 to 64 characters of A-Z a-z 0-9 _ -');
      return run(room, req);
    },
  });
}

/** The moderation routes. */
export function moderationRoutes(o: ModerationApiOptions): Route[] {
  const route = siteRoute(o.apiKey);

  const holdRequest = async (room: string, request: v1.IHoldRequest): Promise<v1.HoldReply | RouteResponse> => {
    try {
      return v1.HoldReply.decode(await o.bus.request(subjects.hold(room), v1.HoldRequest.encode(request).finish(), 2_000));
    } catch {
      return problem(503, 'UNAVAILABLE', 'core did not answer; try again');
    }
  };

  const getFilter = async (room: string) =>
    json(200, { room: room === globalFilter ? null : room, ...rulesJson(await o.store.getFilter(room)) });
  const putFilter = async (room: string, req: RouteRequest) => {
    const b = parseBody(req);
    if (isResponse(b)) return b;
    const rules = await rulesFromJson(b, o.options);
    if (typeof rules === 'string') return problem(400, 'BAD_FILTER', rules);
    await o.store.putFilter(room, rules);
    return json(200, { room: room === globalFilter ? null : room, ...rulesJson(rules) });
  };

  return [
    route(
      'post',
      '/api/v1/rooms/:room/moderate',
      {
        tag: 'moderation',
        summary: 'One moderation action (retract, timeout, ban, slow mode, pin, notice, room mode, close, ...)',
        description:
          "Becomes the same control event as a moderator's Moderate frame; effective on every edge within a second. docs/api.md has the table of actions.",
        body: { schema: actionSchema },
        responses: {
          202: { description: 'published', schema: s.object({ accepted: s.boolean(), room: s.string(), action: s.string() }) },
          409: problemDoc('ERROR_CODE_LIMIT_REACHED: the room holds BARRAGE_MAX_BANS_PER_ROOM bans and time-outs'),
        },
      },
      async (room, req) => {
        const b = parseBody(req);
        if (isResponse(b)) return b;
        const m = fromJson(b);
        if (typeof m === 'string') return problem(400, 'BAD_ACTION', m);
        const event = actionEvent(room, m, actorOf(b), o.options);
        if (isActionRefusal(event)) return problem(400, v1.ErrorCode[event.code] ?? 'INVALID_ARGUMENT', event.message);
        if (event.ban || event.mute) {
          const state = o.stateOf ? o.stateOf(room) : await o.store.getState(room);
          const full = limitRefusal(state, event, o.options, Date.now());
          if (full) return problem(409, v1.ErrorCode[full.code] ?? 'LIMIT_REACHED', full.message);
        }
        o.bus.publish(subjects.ingress(room), v1.Event.encode(event).finish());
        return json(202, { accepted: true, room, action: b['action'] });
      },
    ),
    route(
      'get',
      '/api/v1/rooms/:room/moderation',
      {
        tag: 'moderation',
        summary: "The room's moderation state (time-outs, bans, slow mode, mode, pin, closed)",
        responses: { 200: { description: 'the state', schema: s.any('see docs/api.md, GET /api/v1/rooms/:room/moderation') } },
      },
      async (room) => {
        const state = await o.store.getState(room);
        const now = Date.now();
        return json(200, state ? moderationJson(state, now) : { room, seq: 0, timeouts: [], bans: [], closed: false });
      },
    ),
    route(
      'get',
      '/api/v1/rooms/:room/held',
      {
        tag: 'moderation',
        summary: "Danmaku held for a moderator's decision",
        responses: {
          200: { description: 'the list', schema: s.object({ room: s.string(), held: s.array(heldSchema) }) },
          503: problemDoc('UNAVAILABLE: core did not answer'),
        },
      },
      async (room) => {
        const reply = await holdRequest(room, {});
        return isResponse(reply) ? reply : json(200, { room, held: reply.held.map(heldJson) });
      },
    ),
    route(
      'post',
      '/api/v1/rooms/:room/held/:id',
      {
        tag: 'moderation',
        summary: 'Approve or reject a held danmaku',
        params: { id: 'hold_id from the list' },
        body: { schema: s.object({ approve: s.boolean(), reason: s.string(), actor: s.ref('User') }, ['approve']) },
        responses: {
          200: { description: 'decided', schema: s.object({ room: s.string(), approved: s.boolean() }) },
          404: problemDoc('NOT_FOUND: unknown or already decided'),
          503: problemDoc('UNAVAILABLE: core did not answer'),
        },
      },
      async (room, req) => {
        const b = parseBody(req);
        if (isResponse(b)) return b;
        if (typeof b['approve'] !== 'boolean') return problem(400, 'BAD_DECISION', 'send { "approve": true | false }');
        const reply = await holdRequest(room, {
          decision: { holdId: req.params[1] ?? '', approve: b['approve'] },
          actor: actorOf(b),
          reason: str(b['reason']).slice(0, 200),
        });
        if (isResponse(reply)) return reply;
        return reply.found ? json(200, { room, approved: b['approve'] }) : problem(404, 'NOT_FOUND', 'no such held danmaku');
      },
    ),
    route('get', '/api/v1/rooms/:room/filter', getFilterDoc('the room'), (room) => getFilter(room)),
    route('put', '/api/v1/rooms/:room/filter', putFilterDoc('the room'), putFilter, 2 << 20),
    route('get', '/api/v1/filter', getFilterDoc("every room (checked before each room's)"), (room) => getFilter(room)),
    route('put', '/api/v1/filter', putFilterDoc("every room (checked before each room's)"), putFilter, 2 << 20),
    route(
      'get',
      '/api/v1/rooms/:room/audit',
      {
        tag: 'moderation',
        summary: 'The moderation audit log, newest first',
        query: {
          from: { description: 'epoch milliseconds or ISO 8601 (default: 24 h before `to`)' },
          to: { description: 'epoch milliseconds or ISO 8601 (default: now)' },
          limit: { description: 'at most 1,000 (default 100)', schema: s.integer() },
        },
        responses: {
          200: {
            description: 'entries',
            schema: s.object({ room: s.string(), from: s.integer(), to: s.integer(), entries: s.array(s.any('AuditEntry (docs/api.md)')) }),
          },
          503: problemDoc('ANALYTICS_UNAVAILABLE'),
        },
      },
      async (room, req) => {
        // The request is checked before anything is asked of analytics: a bad range is the caller's error, whatever runs.
        const now = Date.now();
        const to = auditTime(req.query.get('to'), now);
        const from = auditTime(req.query.get('from'), Math.max(0, (to ?? now) - 86_400_000));
        if (to === undefined || from === undefined)
          return problem(400, 'BAD_TIME', 'from and to are epoch milliseconds (0 to 4102444800000) or ISO 8601 times');
        if (from >= to) return problem(400, 'BAD_RANGE', 'from must be before to');
        const limit = Math.min(1000, Math.max(1, Number.parseInt(req.query.get('limit') ?? '100', 10) || 100));
        const queries = o.queries?.();
        if (!queries) return problem(503, 'ANALYTICS_UNAVAILABLE', 'the audit log is kept by analytics, which is off in this process');
        try {
          return json(200, { room, from, to, entries: await queries.audit({ room, fromMs: from, toMs: to }, limit) });
        } catch (err) {
          return problem(503, 'ANALYTICS_UNAVAILABLE', (err as Error).message.slice(0, 300));
        }
      },
    ),
  ];
}
