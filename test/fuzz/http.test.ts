/**
 * HTTP fuzzing against a real single-process server with analytics on (chDB,
 * as `npm start` runs): every route the edge mounts, with random and
 * malformed path parameters and queries, methods, headers and bodies, with
 * and without the API key; then malformed requests on raw sockets (request
 * lines, header lines, Content-Length lies, chunked bodies, pipelining).
 *
 * Properties: no answer is a 500; without the API key no site API route
 * answers 2xx; the process stays up (no uncaught exception or unhandled
 * rejection); `/healthz` keeps answering 200; no internal error is counted.
 *
 * The routes are read from core/http/moderation-api.ts, core/http/gifts-api.ts,
 * core/http/analytics-api.ts, edge/pages.ts and edge/server.ts; the ones the
 * design brief names that are not built yet are sent too (they must 404).
 */
import { request } from 'node:http';
import { Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { HealthPoller, checkProperty, internalErrors, rawExchange, watchProcess } from './support.js';
import type { ProcessWatch } from './support.js';
import openapi from '../../docs/openapi.json' with { type: 'json' };

// ---------------------------------------------------------------- routes

type BodyKind = 'moderate' | 'held' | 'filter' | 'gift' | 'plays' | 'none';

interface RouteDef {
  method: string;
  pattern: string;
  body: BodyKind;
  /** Under the API key (every `/api/` route built today). */
  protected: boolean;
}

const api = (method: string, pattern: string, body: BodyKind = 'none'): RouteDef => ({ method, pattern, body, protected: true });
const page = (pattern: string): RouteDef => ({ method: 'GET', pattern, body: 'none', protected: false });

/** Every route the single-process server mounts. */
const routes: RouteDef[] = [
  page('/healthz'),
  page('/readyz'),
  page('/metrics'),
  page('/widget.js'),
  page('/'),
  page('/favicon.ico'),
  page('/overlay'),
  page('/dashboard'),
  page('/dashboard.js'),
  page('/dashboard.css'),
  page('/ws'),
  api('POST', '/api/v1/rooms/:room/moderate', 'moderate'),
  api('GET', '/api/v1/rooms/:room/moderation'),
  api('GET', '/api/v1/rooms/:room/held'),
  api('POST', '/api/v1/rooms/:room/held/:id', 'held'),
  api('GET', '/api/v1/rooms/:room/filter'),
  api('PUT', '/api/v1/rooms/:room/filter', 'filter'),
  api('GET', '/api/v1/filter'),
  api('PUT', '/api/v1/filter', 'filter'),
  api('GET', '/api/v1/rooms/:room/audit'),
  api('GET', '/api/v1/rooms/:room/stats'),
  api('GET', '/api/v1/rooms/:room/timeline'),
  api('GET', '/api/v1/rooms/:room/top-gifters'),
  api('GET', '/api/v1/rooms/:room/top-words'),
  api('GET', '/api/v1/analytics/status'),
  api('POST', '/api/v1/rooms/:room/gifts', 'gift'),
  api('DELETE', '/api/v1/rooms/:room/super-chats/:id'),
];

/**
 * Every other route the server describes (docs/openapi.json, generated from the route table and
 * checked against it by test/unit/openapi.test.ts), so a route added later is fuzzed without an
 * edit here: JSON bodies where it takes one, the key where its description asks for it.
 */
const describedRoutes: RouteDef[] = Object.entries(
  (openapi as { paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>> }).paths,
).flatMap(([path, operations]) =>
  Object.entries(operations).map(([method, op]) => ({
    method: method.toUpperCase(),
    pattern: path.replace(/\{(\w+)\}/g, ':$1'),
    body: op.requestBody ? ('plays' as const) : ('none' as const),
    protected: (op.security?.length ?? 0) > 0,
  })),
);
const describedOnly = describedRoutes.filter((d) => !routes.some((r) => r.method === d.method && r.pattern === d.pattern));

const allRoutes = [...routes, ...describedOnly];

// ---------------------------------------------------------------- paths and queries

/** Percent-encodes every byte of the UTF-8 of `s` (always a valid escape, whatever `s` holds). */
const encodeAll = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
/** Keeps URL-safe characters as they are and escapes the rest byte by byte. */
const encodeLoose = (s: string): string => s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%]/gu, (c) => encodeAll(c));

const malformedEscapes = [
  '%',
  '%Z',
  '%ZZ',
  '%E4%BD',
  '%C0%AF',
  '%ED%A0%80',
  '%FF',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '.',
  '%25',
  '%u0041',
  '%%',
];

const paramArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), weight: 10 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeAll), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(encodeLoose), weight: 1 },
  { arbitrary: fc.array(fc.constantFrom(...malformedEscapes, 'a', 'b'), { minLength: 1, maxLength: 4 }).map((a) => a.join('')), weight: 2 },
  { arbitrary: fc.integer({ min: 65, max: 2_000 }).map((n) => 'r'.repeat(n)), weight: 1 },
  { arbitrary: fc.constant(''), weight: 1 },
);

const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.nat().map(String),
  fc.date({ noInvalidDate: true }).map((d) => encodeAll(d.toISOString())),
  fc.constantFrom('-1', '0', '1e400', 'NaN', 'Infinity', '9'.repeat(30), '', '%', '%E4', '1.5', '0x10', '2026-13-45', 'now'),
  fc.string({ maxLength: 10 }).map(encodeLoose),
);
const queryArb: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom('from', 'to', 'limit', 'segment', 'room', 'since', 'token', 'x'), queryValueArb), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&')));

/** The routes listed by hand (with their body generators) most; the others from the description too. */
const routeArb = fc.oneof(
  // Routes that take a body three times as often: they have the most to get wrong.
  ...routes.map((route) => ({ arbitrary: fc.constant(route), weight: route.body === 'none' ? 3 : 9 })),
  ...describedOnly.map((route) => ({ arbitrary: fc.constant(route), weight: 3 })),
);

/** A path: a route with filled parameters, or something made up (traversal, doubled slashes, long, unicode). */
const pathArb: fc.Arbitrary<{ route: RouteDef | undefined; path: string }> = fc.oneof(
  {
    arbitrary: fc.tuple(routeArb, fc.array(paramArb, { minLength: 3, maxLength: 3 }), queryArb).map(([route, params, query]) => {
      let i = 0;
      return { route, path: route.pattern.replace(/:[a-z]+/g, () => params[i++] ?? 'x') + query };
    }),
    weight: 8,
  },
  {
    arbitrary: fc
      .tuple(
        fc.array(fc.oneof(fc.constantFrom('..', '.', '', 'api', 'v1', 'rooms', 'ws', '%2e%2e', 'etc', 'passwd'), paramArb), {
          maxLength: 8,
        }),
        queryArb,
      )
      .map(([segments, query]) => ({ route: undefined, path: '/' + segments.join('/') + query })),
    weight: 2,
  },
  { arbitrary: fc.integer({ min: 1_000, max: 9_000 }).map((n) => ({ route: undefined, path: '/' + 'a/'.repeat(n / 2) })), weight: 1 },
);

// ---------------------------------------------------------------- headers and bodies

type AuthSpec = 'none' | 'exact' | 'padded' | 'wrong' | 'lowercase' | 'prefix' | 'longer' | 'basic' | 'huge';
const authArb = fc.oneof(
  { arbitrary: fc.constant<AuthSpec>('exact'), weight: 12 },
  { arbitrary: fc.constantFrom<AuthSpec>('none', 'padded', 'wrong', 'lowercase', 'prefix', 'longer', 'basic'), weight: 6 },
  { arbitrary: fc.constant<AuthSpec>('huge'), weight: 1 },
);
/** Auth specs `bearerAuth` accepts (it trims what follows `Bearer `). */
const authorized = (a: AuthSpec): boolean => a === 'exact' || a === 'padded';

function authHeader(a: AuthSpec, key: string): string | undefined {
  switch (a) {
    case 'none':
      return undefined;
    case 'exact':
      return `Bearer ${key}`;
    case 'padded':
      return `Bearer  ${key} `;
    case 'wrong':
      return 'Bearer not-the-key';
    case 'lowercase':
      return `bearer ${key}`;
    case 'prefix':
      return `Bearer ${key.slice(0, -1)}`;
    case 'longer':
      return `Bearer ${key}x`;
    case 'basic':
      return `Basic ${Buffer.from(`u:${key}`).toString('base64')}`;
    case 'huge':
      return `Bearer ${'k'.repeat(6_000)}`;
  }
}

const tokenName = fc
  .stringMatching(/^[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,20}$/)
  .filter(
    (n) =>
      ![
        'host',
        'content-length',
        'transfer-encoding',
        'connection',
        'upgrade',
        'expect',
        'authorization',
        'keep-alive',
        'te',
        'trailer',
      ].includes(n.toLowerCase()),
  );
const headerValue = fc.oneof(
  { arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim()), weight: 30 },
  { arbitrary: fc.integer({ min: 1_000, max: 9_000 }).map((n) => 'v'.repeat(n)), weight: 1 },
);

const headersArb = fc.record({
  auth: authArb,
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'text/plain',
    'application/json; charset=utf-16',
    'multipart/form-data; boundary=x',
    '*/*',
  ),
  idempotencyKey: fc.option(fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'k'.repeat(201), 'a b', '\t')), { nil: undefined }),
  accept: fc.constantFrom(undefined, 'application/json', 'application/x-protobuf', '*/*', 'text/html'),
  extra: fc.array(fc.tuple(tokenName, headerValue), { maxLength: 4 }),
});

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, -1e308, 1.5, 2 ** 53 + 1, '', 'x'.repeat(300), [], {}, [[[]]], '\u0000', '😀'),
);

const actions = [
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
  'nope',
];
/** Patterns a word filter must compile quickly or refuse: nested repetition, huge counts, look-arounds, back-references, broken syntax. */
const patterns = [
  '(a+)+$',
  '(a|a)*b',
  '(.*a){20}',
  'a{1000}',
  '(a{1,100}){1,100}',
  '((a{1,100}){1,100}){1,100}',
  '\\p{L}+',
  '(?<=a)b',
  '(a)\\1',
  '[',
  '(',
  '\\',
  '.*.*.*.*.*=.*',
  '[\\s\\S]{0,65535}',
  '(?i)spam',
  '^$',
  'x{2,1}',
  '😀+',
];

/** Right-typed values of the fields each API body has (wrong types come from `anyValue`). */
const fieldValues: Record<string, fc.Arbitrary<unknown>> = {
  action: fc.oneof(fc.constantFrom(...actions), fc.constantFrom('block', 'replace', 'hold')),
  user_id: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('u'.repeat(129))),
  seconds: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.constantFrom(14 * 86_400 + 1, 3_601, 86_401, 1.5)),
  danmaku_id: fc.string({ maxLength: 40 }),
  text: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('t'.repeat(600))),
  reason: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('r'.repeat(201))),
  danmaku_off: fc.boolean(),
  members_only: fc.boolean(),
  emote_only: fc.boolean(),
  actor: fc.record({ id: fc.string({ maxLength: 200 }), name: fc.string({ maxLength: 100 }) }, { requiredKeys: [] }),
  approve: fc.boolean(),
  terms: fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant('')), { maxLength: 20 }),
  patterns: fc.array(fc.oneof(fc.constantFrom(...patterns), fc.string({ maxLength: 10 })), { maxLength: 6 }),
  user: fc.record(
    { id: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('u'.repeat(129))), name: fc.string({ maxLength: 80 }) },
    { requiredKeys: [] },
  ),
  gift: fc.constantFrom('rocket', 'heart', 'castle', 'no-such-gift', ''),
  count: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.constantFrom(1e9, 2 ** 31, 1.5)),
  super_chat: fc.record(
    { text: fc.string({ maxLength: 30 }), price_cents: fc.oneof(fc.nat(100_000), fc.constantFrom(-1, 1.5, 1e18)) },
    { requiredKeys: [] },
  ),
  total_cents: fc.integer(),
  mode: fc.constantFrom('random', 'equal', 'x'),
  poll_id: fc.string({ maxLength: 10 }),
  option: fc.integer(),
  options: fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
};

const fieldsOf: Record<BodyKind, string[]> = {
  moderate: ['action', 'user_id', 'seconds', 'danmaku_id', 'text', 'reason', 'danmaku_off', 'members_only', 'emote_only', 'actor'],
  held: ['approve', 'reason', 'actor'],
  filter: ['terms', 'patterns', 'action'],
  gift: ['user', 'gift', 'count', 'super_chat'],
  plays: ['total_cents', 'count', 'mode', 'text', 'poll_id', 'option', 'options', 'user'],
  none: ['action', 'text', 'user'],
};

/** A body: shaped for the route (right and wrong types), any JSON, not JSON, deeply nested, over the limit, or a large filter. */
type BodySpec =
  | { none: true }
  | { fields: Array<[string, unknown, boolean]> }
  | { json: unknown }
  | { text: string }
  | { bytes: Uint8Array }
  | { deep: number; open: string }
  | { huge: number }
  | { bigFilter: { terms: number; length: number; patterns: number } };

/** Bodies each route accepts, so requests also get past validation into the services. */
const validBodies: Record<BodyKind, fc.Arbitrary<unknown>> = {
  moderate: fc.oneof(
    fc.record({ action: fc.constant('notice'), text: fc.string({ minLength: 1, maxLength: 20 }).filter((t) => t.trim() !== '') }),
    fc.record({ action: fc.constantFrom('ban', 'unban', 'unmute', 'untimeout'), user_id: fc.string({ minLength: 1, maxLength: 20 }) }),
    fc.record({
      action: fc.constantFrom('mute', 'timeout'),
      user_id: fc.string({ minLength: 1, maxLength: 20 }),
      seconds: fc.integer({ min: 1, max: 600 }),
    }),
    fc.record({ action: fc.constant('slow_mode'), seconds: fc.integer({ min: 0, max: 3_600 }) }),
    fc.record({ action: fc.constant('pin'), text: fc.string({ minLength: 1, maxLength: 20 }), seconds: fc.integer({ min: 1, max: 600 }) }),
    fc.record({ action: fc.constantFrom('retract', 'delete'), danmaku_id: fc.string({ minLength: 1, maxLength: 32 }) }),
    fc.record({ action: fc.constantFrom('room_mode', 'unpin', 'close', 'reopen'), danmaku_off: fc.boolean() }),
  ),
  held: fc.record({ approve: fc.boolean(), reason: fc.string({ maxLength: 20 }) }),
  filter: fc.record({
    terms: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 10 }),
    patterns: fc.array(fc.constantFrom('spam+', '\\bad\\b', '[0-9]{11}'), { maxLength: 3 }),
    action: fc.constantFrom('block', 'replace', 'hold'),
  }),
  gift: fc.oneof(
    fc.record({
      user: fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), name: fc.string({ maxLength: 20 }) }),
      gift: fc.constantFrom('rocket', 'heart'),
      count: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({
      user: fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }) }),
      super_chat: fc.record({ text: fc.string({ maxLength: 20 }), price_cents: fc.integer({ min: 100, max: 60_000 }) }),
    }),
  ),
  plays: fc.record({
    total_cents: fc.integer({ min: 1, max: 10_000 }),
    count: fc.integer({ min: 1, max: 10 }),
    mode: fc.constant('random'),
  }),
  none: fc.constant({}),
};

const bodyArb = (kind: BodyKind): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    { arbitrary: fc.constant({ none: true as const }), weight: 1 },
    { arbitrary: validBodies[kind].map((json) => ({ json })), weight: 8 },
    {
      arbitrary: fc
        .uniqueArray(
          fc
            .constantFrom(...fieldsOf[kind])
            .chain((name) => fc.tuple(fc.constant(name), fc.oneof(fieldValues[name] ?? anyValue, anyValue), fc.boolean())),
          { selector: ([name]) => name, maxLength: fieldsOf[kind].length },
        )
        .map((fields) => ({ fields })),
      weight: 8,
    },
    { arbitrary: fc.record({ json: fc.jsonValue({ maxDepth: 3 }) }), weight: 1 },
    {
      arbitrary: fc.record({
        text: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{', '{"action":', 'null', '[]', '"x"', '{"__proto__":{"x":1}}')),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 100 }) }), weight: 1 },
    { arbitrary: fc.record({ deep: fc.integer({ min: 1_000, max: 30_000 }), open: fc.constantFrom('[', '{"a":') }), weight: 1 },
    {
      arbitrary: fc.record({ huge: fc.oneof(fc.integer({ min: 60_000, max: 70_000 }), fc.integer({ min: 2_000_000, max: 2_200_000 })) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        bigFilter: fc.record({
          terms: fc.integer({ min: 0, max: 20_000 }),
          length: fc.integer({ min: 1, max: 100 }),
          patterns: fc.integer({ min: 0, max: 120 }),
        }),
      }),
      weight: kind === 'filter' ? 2 : 0,
    },
  );

function bodyBytes(spec: BodySpec): Buffer | undefined {
  if ('none' in spec) return undefined;
  if ('fields' in spec) return Buffer.from(JSON.stringify(Object.fromEntries(spec.fields.map(([k, v]) => [k, v]))));
  if ('json' in spec) return Buffer.from(JSON.stringify(spec.json) ?? 'null');
  if ('text' in spec) return Buffer.from(spec.text);
  if ('bytes' in spec) return Buffer.from(spec.bytes);
  if ('deep' in spec) return Buffer.from(spec.open.repeat(spec.deep) + (spec.open === '[' ? ']' : '}').repeat(spec.deep));
  if ('huge' in spec) return Buffer.alloc(spec.huge, 0x61);
  const { terms, length, patterns: n } = spec.bigFilter;
  return Buffer.from(
    JSON.stringify({
      terms: Array.from({ length: terms }, (_, i) => `${i}`.padEnd(length, 'w')),
      patterns: Array.from({ length: n }, (_, i) => patterns[i % patterns.length]),
      action: 'block',
    }),
  );
}

const methodArb = (route: RouteDef | undefined): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constant(route?.method ?? 'GET'), weight: 12 },
    { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), weight: 2 },
    { arbitrary: fc.constantFrom('get', 'PoSt', 'BREW', 'M-SEARCH', 'PROPFIND', 'X'.repeat(100), 'TRACE'), weight: 1 },
  );

const requestArb = pathArb.chain(({ route, path }) =>
  fc.record({
    path: fc.constant(path),
    route: fc.constant(route),
    method: methodArb(route),
    headers: headersArb,
    body: bodyArb(route?.body ?? 'none'),
  }),
);
type RequestSpec = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** Does `path` (without its query) match a route's pattern? */
const matches = (route: RouteDef, path: string): boolean =>
  new RegExp('^' + route.pattern.replace(/:[a-z]+/g, '[^/]*') + '$').test(path.split('?')[0] ?? '');

// ---------------------------------------------------------------- sending

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** Sends a well-formed request with node:http; the status and the start of the body, or the transport error. */
function send(port: number, spec: RequestSpec, key: string): Promise<{ status: number; body: string } | { error: string }> {
  const body = bodyBytes(spec.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of spec.headers.extra) headers[k] = v;
  const auth = authHeader(spec.headers.auth, key);
  if (auth !== undefined) headers['authorization'] = auth;
  if (spec.headers.contentType) headers['content-type'] = spec.headers.contentType;
  if (spec.headers.idempotencyKey !== undefined) headers['idempotency-key'] = spec.headers.idempotencyKey;
  if (spec.headers.accept) headers['accept'] = spec.headers.accept;
  if (body) headers['content-length'] = String(body.length);
  if (spec.method.toUpperCase() === 'HEAD') return sendHead(port, spec.path, headers, body);
  return new Promise((resolve) => {
    let req;
    try {
      req = request({ host: '127.0.0.1', port, method: spec.method, path: spec.path, headers, agent, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
        res.on('error', (err) => resolve({ error: `response: ${err.message}` }));
      });
    } catch (err) {
      // node:http refuses some generated requests itself (a method it cannot send): not the server's answer.
      return resolve({ error: `client refused: ${(err as Error).message}` });
    }
    req.on('timeout', () => req.destroy(new Error('no answer in 20 s')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

/**
 * HEAD goes on a raw connection of its own and its status is read from the bytes, so a HEAD answer with a
 * body (a bug this suite found; the HEAD test below pins the fix) cannot confuse the other requests.
 */
async function sendHead(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<{ status: number; body: string } | { error: string }> {
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.concat([Buffer.from(`HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${head}\r\n`), body ?? Buffer.alloc(0)]);
  const answer = await rawExchange(port, request, 5_000);
  const status = answer.statuses[0];
  return status === undefined ? { error: answer.timedOut ? 'no answer in 5 s' : 'closed without an answer' } : { status, body: '' };
}

/** Header sizes past which uWS refuses with 431 and closes (its default header buffer is 4 KiB). */
const bigHeaders = (spec: RequestSpec): boolean =>
  spec.path.length + spec.headers.extra.reduce((n, [k, v]) => n + k.length + v.length, 0) + (spec.headers.auth === 'huge' ? 6_000 : 0) >
  3_500;

describe('fuzz http - every route, any request: never a 500, never the API without its key', () => {
  let server: TestServer;
  let watch: ProcessWatch;
  let health: HealthPoller;
  let dir: string;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    watch = watchProcess();
    dir = mkdtempSync(join(tmpdir(), 'barrage-fuzz-http-'));
    // Analytics on, on a data directory of its own.
    server = await startTestServer({
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    await server.analytics?.ready;
    health = new HealthPoller(server.url);
  });
  afterAll(async () => {
    await health?.stop();
    await server?.stop();
    agent.destroy();
    watch?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fuzz http - well-formed requests with random paths, methods, headers and bodies', { timeout: 150_000 }, async () => {
    expect(server.analytics, 'analytics must run so its routes are fuzzed too').toBeDefined();
    let sent = 0;
    await checkProperty(
      'http requests',
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 6 }), async (specs) => {
        const before = await internalErrors(server.url);
        const answers = await Promise.all(specs.map((spec) => send(server.port, spec, server.config.auth.apiKey)));
        sent += specs.length;
        const failures: string[] = [];
        answers.forEach((answer, i) => {
          const spec = specs[i] as RequestSpec;
          const what = `${spec.method} ${spec.path.slice(0, 200)} (auth ${spec.headers.auth})`;
          if ('error' in answer) {
            // node:http would not send it, or uWS refused oversized headers by closing: neither is an answer of ours.
            if (answer.error.startsWith('client refused') || bigHeaders(spec)) return;
            failures.push(`${what}: no answer (${answer.error})`);
            return;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status >= 500 && answer.status !== 503) failures.push(`${what}: ${answer.status} ${answer.body}`);
          const path = spec.path.split('?')[0] ?? '';
          const guarded = allRoutes.some((r) => r.protected && matches(r, path));
          if (guarded && !authorized(spec.headers.auth) && answer.status >= 200 && answer.status < 300) {
            failures.push(`${what}: ${answer.status} without the API key: ${answer.body}`);
          }
        });
        const after = await internalErrors(server.url);
        if (after !== before) failures.push(`barrage_internal_errors_total went from ${before} to ${after}`);
        expect(failures).toEqual([]);
      }),
      1_000,
    );
    console.info(
      `[fuzz] http: ${sent} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    // The generators must reach past the key check and the parsers: accepted writes and reads, and refusals.
    for (const status of [200, 202, 400, 401, 404]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect(watch.problems).toEqual([]);
  });

  // Found by this suite: HEAD was answered 404 *with* the 9-byte body "not found", so a client or proxy that
  // keeps the connection read those bytes as the start of the next response.
  it('fuzz http - a HEAD answer has no body, so the next response on the connection reads cleanly', async () => {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (method: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, method, path: '/healthz', agent: one }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      await get('HEAD');
      expect(await get('GET')).toBe(200);
    } finally {
      one.destroy();
    }
  });

  it('fuzz http - malformed requests on raw sockets', { timeout: 150_000 }, async () => {
    const line = fc.oneof({ arbitrary: fc.constant('\r\n'), weight: 8 }, { arbitrary: fc.constantFrom('\n', '\r'), weight: 1 });
    // Mostly honest, so requests reach the routes; else a lie (larger, smaller, negative, not a number, huge).
    const contentLength = fc.oneof(
      { arbitrary: fc.constant<'exact' | undefined>(undefined), weight: 3 },
      { arbitrary: fc.constant('exact' as const), weight: 3 },
      { arbitrary: fc.constantFrom('0', '-1', 'abc', ' 5 ', '99999999999999999999', '1e3', '0x10', '70000', '3000000'), weight: 1 },
      { arbitrary: fc.nat(200).map(String), weight: 1 },
    );
    const rawArb = fc.record({
      method: fc.oneof(
        { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), weight: 6 },
        { arbitrary: fc.constantFrom('', 'get', 'G ET', 'POST\x00', 'X'.repeat(300), '\u00e9'), weight: 1 },
      ),
      path: fc.oneof(
        { arbitrary: pathArb.map((p) => p.path), weight: 6 },
        { arbitrary: fc.constantFrom('*', 'http://x/healthz', '//', '/%', '/ a', '/\u00ff', '', '/api/v1/filter#x'), weight: 1 },
      ),
      version: fc.oneof(
        { arbitrary: fc.constant('HTTP/1.1'), weight: 8 },
        { arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2', 'HTTP/1.1x', '', 'http/1.1'), weight: 1 },
      ),
      host: fc.oneof({ arbitrary: fc.constant(true), weight: 5 }, { arbitrary: fc.constant(false), weight: 1 }),
      auth: authArb,
      contentLength: fc.oneof(
        { arbitrary: fc.tuple(contentLength), weight: 6 },
        { arbitrary: fc.tuple(contentLength, contentLength), weight: 1 },
      ),
      chunked: fc.constantFrom<undefined | 'valid' | 'invalid' | 'gzip'>(undefined, undefined, 'valid', 'invalid', 'gzip'),
      headerLines: fc.array(
        fc.oneof(
          { arbitrary: fc.tuple(tokenName, headerValue).map(([k, v]) => `${k}: ${v}`), weight: 8 },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'no colon here',
              ' folded continuation',
              ': empty name',
              'bad name: x',
              'x-nul: a\x00b',
              'x-utf8: \u00e9\u00ff',
              'X-Forwarded-For: 1.2.3.4, ::1',
            ),
          },
        ),
        { maxLength: 4 },
      ),
      body: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('{"action":"notice","text":"hi"}', '{"terms":["a"]}', '')),
      pipelined: fc.boolean(),
      lineEnd: line,
    });
    type RawSpec = typeof rawArb extends fc.Arbitrary<infer T> ? T : never;
    const render = (r: RawSpec): string => {
      const nl = r.lineEnd;
      const lines = [`${r.method} ${r.path} ${r.version}`.replace(/ +$/, '')];
      if (r.host) lines.push(`Host: 127.0.0.1:${server.port}`);
      const auth = authHeader(r.auth, server.config.auth.apiKey);
      if (auth) lines.push(`Authorization: ${auth}`);
      let body = r.body;
      if (r.chunked) {
        lines.push(r.chunked === 'gzip' ? 'Transfer-Encoding: gzip, chunked' : 'Transfer-Encoding: chunked');
        body =
          r.chunked === 'invalid'
            ? `zz${nl}${body}${nl}0${nl}${nl}`
            : `${Buffer.byteLength(body).toString(16)}${nl}${body}${nl}0${nl}${nl}`;
      }
      for (const cl of r.contentLength as Array<string | undefined>)
        if (cl !== undefined) lines.push(`Content-Length: ${cl === 'exact' ? Buffer.byteLength(body) : cl}`);
      lines.push(...r.headerLines);
      const one = lines.join(nl) + nl + nl + body;
      return r.pipelined ? one + `GET /healthz HTTP/1.1${nl}Host: x${nl}${nl}` : one;
    };
    let sent = 0;
    let timedOut = 0;
    const rawStatuses = new Map<number, number>();
    await checkProperty(
      'raw http',
      fc.asyncProperty(fc.array(rawArb, { minLength: 1, maxLength: 8 }), async (specs) => {
        const before = await internalErrors(server.url);
        const texts = specs.map(render);
        const answers = await Promise.all(texts.map((t) => rawExchange(server.port, Buffer.from(t, 'utf8'), 800)));
        sent += specs.length;
        const failures: string[] = [];
        answers.forEach((a, i) => {
          if (a.timedOut) timedOut++;
          for (const s of a.statuses) rawStatuses.set(s, (rawStatuses.get(s) ?? 0) + 1);
          if (a.statuses.some((s) => s === 500))
            failures.push(`500 for ${JSON.stringify(texts[i]?.slice(0, 300))}: ${a.text.slice(0, 200)}`);
        });
        const after = await internalErrors(server.url);
        if (after !== before) failures.push(`barrage_internal_errors_total went from ${before} to ${after}`);
        expect(failures).toEqual([]);
      }),
      60,
    );
    const summary = await health.stop();
    console.info(
      `[fuzz] raw http: ${sent} requests, ${timedOut} left waiting (a body announced and never sent); statuses ${JSON.stringify(Object.fromEntries(rawStatuses))}; ` +
        `/healthz over both tests ${summary.polls} polls, max ${summary.maxMs} ms, p99 ${summary.p99Ms} ms`,
    );
    expect(summary.failures).toEqual([]);
    expect(summary.polls).toBeGreaterThan(0);
    expect(summary.maxMs).toBeLessThan(2_000);
    expect(watch.problems).toEqual([]);
    expect(await internalErrors(server.url)).toBe(0);
  });
});
