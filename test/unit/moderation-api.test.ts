/**
 * The moderation API's input checks, called through its route handlers:
 * room ids (`*` is not a room), the audit range, the ban limit and the word
 * filter's limits. Each bad request is a 4xx saying why, never a 503.
 */
import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import type { AnalyticsQueries } from '../../core/analytics/analytics-queries.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { testConfig } from '../helpers/config.js';
import { moderationRoutes } from '../../core/http/moderation-api.js';
import { applyControl, emptyModeration } from '../../domain/moderation-state.js';
import type { RoomModeration } from '../../domain/moderation-state.js';
import { MemoryModerationStore } from '../../domain/moderation-store-memory.js';
import { globalFilter } from '../../domain/moderation-store.js';
import { subjects } from '../../domain/subjects.js';
import type { RouteResponse } from '../../domain/http.js';

const key = 'test-api-key';
/** An answer's JSON body: an error, or whatever the route returns. */
type Json = { error: { code: string; message: string } } & Record<string, unknown>;

function setup(states: Record<string, RoomModeration> = {}) {
  const bus = new MemoryBus();
  const store = new MemoryModerationStore();
  const published: string[] = [];
  bus.subscribe(subjects.ingressAll, (_d, subject) => published.push(subject));
  const audits: Array<{ fromMs: number; toMs: number }> = [];
  const queries = {
    audit: async (r: { fromMs: number; toMs: number }) => {
      audits.push({ fromMs: r.fromMs, toMs: r.toMs });
      return [];
    },
  } as unknown as AnalyticsQueries;
  const routes = moderationRoutes({
    bus,
    store,
    options: { ...testConfig().moderation, maxBansPerRoom: 2, filterMaxTerms: 5, filterMaxPatterns: 2 },
    apiKey: key,
    queries: () => queries,
    stateOf: (room) => states[room],
  });
  /** Calls the route registered for `method pattern` as the HTTP layer would. */
  const call = async (
    method: string,
    pattern: string,
    params: string[],
    body?: unknown,
    query = '',
  ): Promise<RouteResponse & { json: Json }> => {
    const route = routes.find((r) => r.method === method && r.pattern === pattern);
    if (!route) throw new Error(`no route ${method} ${pattern}`);
    const res = await route.handler({
      method: method.toUpperCase(),
      path: pattern,
      query: new URLSearchParams(query),
      headers: { authorization: `Bearer ${key}` },
      params,
      body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    });
    return { ...res, json: JSON.parse(String(res.body)) as Json };
  };
  return { bus, store, routes, call, published, audits };
}

describe('moderation api - rooms', () => {
  it('moderation api - every :room route refuses `*` and other invalid room ids with 400 BAD_ROOM, publishing nothing', async () => {
    const t = setup();
    const roomRoutes = t.routes.filter((r) => r.pattern.includes(':room'));
    expect(roomRoutes.length).toBeGreaterThanOrEqual(7);
    for (const room of ['*', '>', 'a.b', '', 'x'.repeat(65)]) {
      for (const r of roomRoutes) {
        const body = r.pattern.endsWith('/moderate') ? { action: 'ban', user_id: 'v' } : { approve: true, terms: ['x'] };
        const res = await t.call(r.method, r.pattern, [room, 'hold-1'], body);
        expect(res.status, `${r.method} ${r.pattern} with room ${JSON.stringify(room)}`).toBe(400);
        expect(res.json.error.code).toBe('BAD_ROOM');
      }
    }
    await t.bus.flush();
    expect(t.published).toEqual([]);
    expect(await t.store.getFilter(globalFilter)).toBeUndefined();
  });

  it('moderation api - the global filter is set and read under its own name, /api/v1/filter', async () => {
    const t = setup();
    expect((await t.call('put', '/api/v1/filter', [], { terms: ['heck'], action: 'replace' })).status).toBe(200);
    expect((await t.store.getFilter(globalFilter))?.terms).toEqual(['heck']);
    expect((await t.call('get', '/api/v1/filter', [])).json).toMatchObject({ room: null, terms: ['heck'], action: 'replace' });
    expect((await t.call('put', '/api/v1/rooms/:room/filter', ['real-room'], { terms: ['darn'] })).status).toBe(200);
    expect((await t.store.getFilter('real-room'))?.terms).toEqual(['darn']);
    expect((await t.store.getFilter(globalFilter))?.terms).toEqual(['heck']);
  });
});

describe('moderation api - audit range', () => {
  const audit = '/api/v1/rooms/:room/audit';

  it.each([
    ['non-numeric', 'from=abc', 'BAD_TIME'],
    ['negative', 'from=-5', 'BAD_TIME'],
    ['a fraction', 'to=1.5', 'BAD_TIME'],
    ['huge', 'to=99999999999999999999', 'BAD_TIME'],
    ['past 2100', 'to=4102444800001', 'BAD_TIME'],
    ['from after to', 'from=2000&to=1000', 'BAD_RANGE'],
    ['from equal to to', 'from=1000&to=1000', 'BAD_RANGE'],
  ])('moderation api - audit with %s from/to answers 400 with a message', async (_name, query, code) => {
    const t = setup();
    const res = await t.call('get', audit, ['r'], undefined, query);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toMatch(/from|to/);
    expect(t.audits).toEqual([]);
  });

  it('moderation api - audit with a good range, epoch or ISO, asks analytics for it', async () => {
    const t = setup();
    expect((await t.call('get', audit, ['r'], undefined, 'from=1000&to=5000')).status).toBe(200);
    expect((await t.call('get', audit, ['r'], undefined, 'from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z')).status).toBe(200);
    expect(t.audits).toEqual([
      { fromMs: 1000, toMs: 5000 },
      { fromMs: Date.parse('2024-01-01T00:00:00Z'), toMs: Date.parse('2024-01-02T00:00:00Z') },
    ]);
  });
});

describe('moderation api - limits', () => {
  it('moderation api - a ban or time-out of a new user in a full room answers 409 LIMIT_REACHED and publishes nothing', async () => {
    const full = emptyModeration('full');
    applyControl(full, v1.Event.create({ seq: 1, tsMs: Date.now(), ban: { userId: 'a' } }));
    applyControl(full, v1.Event.create({ seq: 2, tsMs: Date.now(), mute: { userId: 'b', seconds: 600 } }));
    const t = setup({ full });
    const moderate = (body: unknown) => t.call('post', '/api/v1/rooms/:room/moderate', ['full'], body);
    const res = await moderate({ action: 'ban', user_id: 'c', seconds: 60 });
    expect(res.status).toBe(409);
    expect(res.json.error).toMatchObject({ code: 'ERROR_CODE_LIMIT_REACHED', message: expect.stringMatching(/the most it may \(2\)/) });
    expect((await moderate({ action: 'timeout', user_id: 'c', seconds: 60 })).status).toBe(409);
    await t.bus.flush();
    expect(t.published).toEqual([]);
    expect((await moderate({ action: 'ban', user_id: 'a', seconds: 60 })).status).toBe(202); // already banned: a new length, no new entry
    expect((await moderate({ action: 'unban', user_id: 'a' })).status).toBe(202);
  });

  it('moderation api - filter limits: too many terms or patterns, and patterns RE2 refuses or finds too large, answer 400 with the reason', async () => {
    const t = setup();
    const put = (body: unknown) => t.call('put', '/api/v1/rooms/:room/filter', ['f'], body);
    const cases: Array<[unknown, RegExp]> = [
      [{ terms: ['a', 'b', 'c', 'd', 'e', 'f'] }, /at most 5 terms \(BARRAGE_FILTER_MAX_TERMS\), got 6/],
      [{ patterns: ['a', 'b', 'c'] }, /at most 2 patterns \(BARRAGE_FILTER_MAX_PATTERNS\), got 3/],
      [{ patterns: ['foo(?=bar)'] }, /not an RE2 pattern: .*\(\?=/],
      [{ patterns: ['(a)\\1'] }, /not an RE2 pattern: .*invalid escape/],
      [{ patterns: ['('] }, /not an RE2 pattern: .*missing closing \)/],
      [{ patterns: ['[a-z]{1,900}'] }, /compiles to \d+ instructions, more than 500/],
      [{ terms: ['x'.repeat(101)] }, /1 to 100 characters/],
    ];
    for (const [body, reason] of cases) {
      const res = await put(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('BAD_FILTER');
      expect(res.json.error.message).toMatch(reason);
    }
    expect(await t.store.getFilter('f')).toBeUndefined();
    expect((await put({ terms: ['a', 'b'], patterns: ['(a+)+$', 'k+i+l+l'] })).status).toBe(200);
  });
});
