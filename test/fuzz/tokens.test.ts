/**
 * Token fuzzing at the WebSocket upgrade (`/ws?room=..&token=..`) of a real
 * single-process server: random strings, and real tokens with their header,
 * claims, signature or spelling changed (alg none or another alg, claims of
 * every wrong type, huge claims, exp and nbf at and past their limits,
 * non-canonical base64url, tokens for other rooms), sent percent-encoded or
 * as raw query text.
 *
 * Oracle: `verifyToken` (jose) on exactly the token and room the server
 * parses from the query. The upgrade is accepted only when the oracle
 * accepts (or no token was sent, as every room admits guests here), and then
 * the Welcome names the token's user and role; otherwise it is refused with
 * 400, 401 or 403 (or 429/503, which these tests never provoke) and a short
 * readable reason. Never a 500; the process stays up.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { verifyToken } from '../../domain/auth.js';
import type { Identity } from '../../domain/auth.js';
import { CoreErrorCode, TokenError } from '../../domain/errors.js';
import { isValidRoomId } from '../../domain/subjects.js';
import { roleToWire } from '../../edge/connection.js';
import { startTestServer, testSecret } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { HealthPoller, b64url, checkProperty, internalErrors, signJwt, upgradeExchange, watchProcess } from './support.js';
import type { ProcessWatch } from './support.js';

const secret = new TextEncoder().encode(testSecret);
const wrongSecret = 'another-secret-another-secret-another-0001';
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// ---------------------------------------------------------------- generators

/** A claim value: absolute, or seconds relative to now (`{ in: n }`), filled in when the token is made. */
type Value = { in: number } | { is: unknown } | { drop: true };

const rel = (...seconds: number[]): fc.Arbitrary<Value> => fc.constantFrom(...seconds).map((n) => ({ in: n }));
const abs = (...values: unknown[]): fc.Arbitrary<Value> => fc.constantFrom(...values).map((v) => ({ is: v }));
const drop: fc.Arbitrary<Value> = fc.constant({ drop: true });

/** Each claim with right values, edge values and wrong types. */
const claimValues: Record<string, fc.Arbitrary<Value>> = {
  sub: fc.oneof(
    abs('', 'x'.repeat(128), 'x'.repeat(129), 5, null, [], {}, '😀', ' ', 'a\u0000b'),
    fc.string({ maxLength: 8 }).map((is) => ({ is })),
    drop,
  ),
  exp: fc.oneof(
    rel(-3_600, -10, -6, -4, 0, 1, 60, 86_400 * 365 * 100),
    abs(0, -1, 1e300, 2 ** 53, '9999999999', null, true, 1.5, [1]),
    drop,
  ),
  nbf: fc.oneof(rel(-1_000, 0, 4, 10, 3_600), abs('x', null, 1e300, -1e300)),
  iat: fc.oneof(rel(-60, 1_000_000), abs('x', null, -1, {})),
  room: fc.oneof(abs('@room', '@other', '*', '', 5, null, ['@room']), drop),
  role: fc.oneof(abs('guest', 'viewer', 'moderator', 'host', 'admin', 'ADMIN', 'root', '', 5, null), drop),
  name: fc.oneof(
    abs('', '   ', 'n'.repeat(300), 'n'.repeat(3_000), 5, null, '\u202e'),
    fc.string({ unit: 'grapheme', maxLength: 10 }).map((is) => ({ is })),
  ),
  aud: fc.oneof(abs('barrage', 'barrage:receipt', ['barrage', 'barrage:receipt'], ['x'], 'other', 5, null, []), drop),
  member: abs('true', 1, true, false, null),
  jti: abs('x', 5),
  ['__proto__']: abs({ role: 'admin' }, null),
  constructor: abs('x', {}),
};
const headerValues: Record<string, fc.Arbitrary<Value>> = {
  alg: fc.oneof(abs('HS256', 'none', 'None', 'HS512', 'HS384', 'RS256', 'ES256', 'hs256', '', null, 5), drop),
  typ: fc.oneof(abs('JWT', 'jwt', 'at+jwt', 5, null), drop),
  crit: abs(['exp'], [], 'x', ['b64']),
  b64: abs(false, true, 'x'),
  kid: abs('k', 'k'.repeat(500), 5),
  jwk: abs({ kty: 'oct', k: 'AAAA' }, 'x'),
};

/** How the signature is made. */
type Signing = 'right' | 'wrong' | 'empty' | 'truncated' | 'flipped' | 'other';
/** How one part is re-spelled: padding, the +/ alphabet, non-zero trailing bits, white space, a stray character. */
type Respell = { part: number; how: 'pad' | 'plus' | 'bits' | 'space' | 'stray'; at: number };

/** A token to send: random text, random parts, or a made token with changes. */
type TokenSpec =
  | { text: string }
  | { parts: string[] }
  | {
      header: Array<[string, Value]>;
      claims: Array<[string, Value]>;
      signing: Signing;
      respell: Respell | undefined;
      extraPart: boolean;
    };

const mostly = <T>(usual: T, ...others: T[]): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: fc.constant(usual), weight: 4 }, { arbitrary: fc.constantFrom(...others), weight: 1 });

const changes = (values: Record<string, fc.Arbitrary<Value>>, max: number): fc.Arbitrary<Array<[string, Value]>> =>
  fc.uniqueArray(
    fc.constantFrom(...Object.keys(values)).chain((name) => (values[name] as fc.Arbitrary<Value>).map((v): [string, Value] => [name, v])),
    { selector: ([name]) => name, maxLength: max },
  );

const tokenSpecArb: fc.Arbitrary<TokenSpec> = fc.oneof(
  // Valid tokens of every role (an admin's for every room), so acceptance is checked as often as refusal.
  {
    arbitrary: fc
      .tuple(fc.constantFrom('guest', 'viewer', 'moderator', 'host', 'admin'), fc.boolean())
      .map(([role, anyRoom]): TokenSpec => ({
        header: [],
        claims: [['role', { is: role }], ...(anyRoom ? [['room', { is: '*' }] as [string, Value]] : [])],
        signing: 'right',
        respell: undefined,
        extraPart: false,
      })),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      text: fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.constantFrom('', '.', '..', '...', 'a.b.c', 'null', 'Bearer x'),
      ),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      parts: fc.array(
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), fc.constant(b64url({ alg: 'HS256' })), fc.constant(b64url({ alg: 'none' }))),
        {
          minLength: 1,
          maxLength: 5,
        },
      ),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      header: fc.oneof(
        { arbitrary: fc.constant<Array<[string, Value]>>([]), weight: 2 },
        { arbitrary: changes(headerValues, 2), weight: 1 },
      ),
      claims: fc.oneof(
        { arbitrary: fc.constant<Array<[string, Value]>>([]), weight: 1 },
        { arbitrary: changes(claimValues, 3), weight: 3 },
      ),
      signing: mostly<Signing>('right', 'wrong', 'empty', 'truncated', 'flipped', 'other'),
      respell: fc.option(
        fc.record({ part: fc.nat(2), how: fc.constantFrom<Respell['how']>('pad', 'plus', 'bits', 'space', 'stray'), at: fc.nat() }),
        { freq: 5, nil: undefined },
      ),
      extraPart: mostly(false, true),
    }),
    weight: 6,
  },
);

/** Where the token and room go in the query. */
const requestArb = fc.record({
  token: tokenSpecArb,
  room: fc.oneof(
    { arbitrary: fc.constant('@room'), weight: 12 },
    { arbitrary: fc.constant('@other'), weight: 2 },
    { arbitrary: fc.constantFrom('', 'a b', 'x'.repeat(65), '😀', '*', 'r/1', '../r'), weight: 1 },
  ),
  since: fc.option(fc.oneof(fc.constantFrom('-1', '0', '-2', '1.5', 'x', '', '9007199254740993'), fc.nat().map(String)), {
    freq: 12,
    nil: undefined,
  }),
  raw: mostly(false, true),
  tokenParam: mostly('token', 'TOKEN', 'token[]'),
});
type RequestSpec = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------- making tokens

function valueOf(v: Value, now: number, rooms: { room: string; other: string }): unknown {
  if ('in' in v) return now + v.in;
  if ('drop' in v) return undefined;
  if (v.is === '@room') return rooms.room;
  if (v.is === '@other') return rooms.other;
  if (Array.isArray(v.is)) return v.is.map((x) => (x === '@room' ? rooms.room : x));
  return v.is;
}

function respell(part: string, r: Respell): string {
  const at = r.at % (part.length + 1);
  switch (r.how) {
    case 'pad':
      return part + '='.repeat(1 + (r.at % 2));
    case 'plus':
      return part.replace(/-/g, '+').replace(/_/g, '/') + (part.includes('-') || part.includes('_') ? '' : '+');
    case 'bits': {
      // Another last character for the same bytes when unused bits are ignored (or one more character).
      if (part.length % 4 < 2) return part + 'A';
      const last = alphabet.indexOf(part.at(-1) ?? 'A');
      const mask = part.length % 4 === 2 ? 15 : 3;
      return part.slice(0, -1) + alphabet[(last & ~mask) | (1 + (r.at % mask))];
    }
    case 'space':
      return part.slice(0, at) + ' ' + part.slice(at);
    case 'stray':
      return part.slice(0, at) + '!' + part.slice(at);
  }
}

/** The token text of a spec for `rooms`. */
function makeToken(spec: TokenSpec, rooms: { room: string; other: string }): string {
  if ('text' in spec) return spec.text;
  if ('parts' in spec) return spec.parts.join('.');
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' };
  const claims: Record<string, unknown> = {
    name: 'Fuzz',
    room: rooms.room,
    role: 'viewer',
    member: false,
    aud: 'barrage',
    sub: 'fz-user',
    iat: now,
    exp: now + 3_600,
  };
  for (const [k, v] of spec.header) header[k] = valueOf(v, now, rooms);
  for (const [k, v] of spec.claims) {
    const value = valueOf(v, now, rooms);
    // Own properties even for `__proto__` (as JSON.parse makes them), so the name reaches the wire.
    if (value === undefined) delete claims[k];
    else Object.defineProperty(claims, k, { value, enumerable: true, configurable: true, writable: true });
  }
  const signed = signJwt(spec.signing === 'wrong' ? wrongSecret : secret, header, claims);
  const [h = '', p = ''] = signed.split('.');
  let s = signed.split('.')[2] ?? '';
  switch (spec.signing) {
    case 'empty':
      s = '';
      break;
    case 'truncated':
      s = s.slice(0, -1);
      break;
    case 'flipped':
      s = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
      break;
    case 'other':
      s = signJwt(secret, header, { ...claims, sub: 'someone-else' }).split('.')[2] ?? '';
      break;
    default:
      break;
  }
  const parts = [h, p, s];
  if (spec.respell) parts[spec.respell.part] = respell(parts[spec.respell.part] ?? '', spec.respell);
  if (spec.extraPart) parts.push('x');
  return parts.join('.');
}

/** The query string of a request; raw tokens go in as they are when the request line can carry them. */
function queryOf(r: RequestSpec, token: string, room: string): string {
  const pairs: string[] = [`room=${encodeURIComponent(room)}`];
  const rawOk = /^[\x21-\x7e]*$/.test(token) && !token.includes('#');
  if (token !== '' || r.tokenParam !== 'token') pairs.push(`${r.tokenParam}=${r.raw && rawOk ? token : encodeURIComponent(token)}`);
  if (r.since !== undefined) pairs.push(`since=${encodeURIComponent(r.since)}`);
  return pairs.join('&');
}

// ---------------------------------------------------------------- the oracle

type Expected = { accept: Identity | 'guest' } | { refuse: number };

/** What the upgrade must answer, from the query as the server parses it and jose's verdict on its token. */
async function expected(query: string): Promise<Expected> {
  const q = new URLSearchParams(query);
  const room = q.get('room') ?? '';
  const token = q.get('token') ?? '';
  const sinceRaw = q.get('since');
  if (!isValidRoomId(room)) return { refuse: 400 };
  const since = sinceRaw === null ? -1 : Number(sinceRaw);
  if (!Number.isSafeInteger(since) || since < -1) return { refuse: 400 };
  if (token === '') return { accept: 'guest' };
  try {
    return { accept: await verifyToken(secret, token, room) };
  } catch (err) {
    if (err instanceof TokenError && err.code === CoreErrorCode.TokenRoom) return { refuse: 403 };
    if (err instanceof TokenError) return { refuse: 401 };
    return { refuse: -1 }; // the oracle itself threw something else: reported as a failure
  }
}

const same = (a: Expected, b: Expected): boolean =>
  'accept' in a && 'accept' in b
    ? (a.accept === 'guest') === (b.accept === 'guest')
    : 'refuse' in a && 'refuse' in b && a.refuse === b.refuse;

describe('fuzz tokens - the upgrade accepts exactly the tokens jose accepts for the room', () => {
  let server: TestServer;
  let watch: ProcessWatch;
  let health: HealthPoller;
  const outcomes = new Map<string, number>();
  const count = (label: string): void => void outcomes.set(label, (outcomes.get(label) ?? 0) + 1);

  beforeAll(async () => {
    watch = watchProcess();
    server = await startTestServer();
    health = new HealthPoller(server.url);
  });
  afterAll(async () => {
    await health?.stop();
    await server?.stop();
    watch?.stop();
  });

  const critToken = (room: string): string => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(
      secret,
      { alg: 'HS256', typ: 'JWT', b64: true, crit: ['b64'] },
      { sub: 'crit-user', name: 'Crit', room, role: 'viewer', aud: 'barrage', iat: now, exp: now + 600 },
    );
  };

  it('fuzz tokens - a signed token with b64: true in crit is refused by the reference and at the upgrade alike', async () => {
    await expect(verifyToken(secret, critToken('fzt-crit'), 'fzt-crit')).rejects.toThrow(/crit headers are not supported/);
    const answer = await upgradeExchange(server.port, `/ws?room=fzt-crit&token=${critToken('fzt-crit')}`);
    expect(answer.status, answer.body).toBe(401);
    expect(answer.body).toMatch(/crit headers are not supported/);
  });

  it('fuzz tokens - random and mutated tokens: accepted iff valid for the room, else a clear 4xx', { timeout: 150_000 }, async () => {
    let run = 0;
    let skipped = 0;
    await checkProperty(
      'tokens at the upgrade',
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 8 }), async (requests) => {
        const n = ++run;
        const rooms = { room: `fzt-${n}`, other: `fzt-other-${n}` };
        const before = await internalErrors(server.url);
        const failures: string[] = [];
        await Promise.all(
          requests.map(async (r) => {
            const room = r.room === '@room' ? rooms.room : r.room === '@other' ? rooms.other : r.room;
            const token = makeToken(r.token, rooms);
            const query = queryOf(r, token, room);
            const path = `/ws?${query}`;
            const first = await expected(query);
            const answer = await upgradeExchange(server.port, path);
            const second = await expected(query);
            const what = `${path.slice(0, 300)} -> ${answer.status} ${answer.body.slice(0, 120)}`;
            if (answer.status === 431 && path.length > 3_500) return count('431 (URL over the header limit)');
            if (!same(first, second)) {
              // The token crossed exp or nbf between the two checks: no single right answer.
              skipped++;
              return;
            }
            if (answer.status === 429 || answer.status === 503) return count(`${answer.status} (budget)`);
            if ('refuse' in first) {
              count(`refused ${answer.status}`);
              if (answer.status !== first.refuse) failures.push(`expected ${first.refuse}: ${what}`);
              if (!/^[\x20-\x7e]{1,300}$/.test(answer.body) || !answer.contentType.startsWith('text/plain')) {
                failures.push(`refusal without a short readable reason: ${what} (${answer.contentType})`);
              }
              return;
            }
            count(first.accept === 'guest' ? 'accepted as guest' : `accepted as ${first.accept.role}`);
            if (answer.status !== 101) return failures.push(`expected 101: ${what}`);
            let welcome: v1.IWelcome | null | undefined;
            try {
              welcome = answer.firstMessage ? v1.ServerFrame.decode(answer.firstMessage).welcome : undefined;
            } catch {
              welcome = undefined;
            }
            if (!welcome) return failures.push(`no Welcome after the upgrade: ${what}`);
            if (welcome.room !== room) failures.push(`welcomed to ${welcome.room}, not ${room}`);
            // Guests (anonymous, or a token with role guest) are welcomed under a per-session guest id.
            if (first.accept === 'guest' || first.accept.role === 'guest') {
              if (!welcome.userId?.startsWith('guest-')) failures.push(`a guest welcomed as ${welcome.userId}`);
            } else if (welcome.userId !== first.accept.userId || welcome.role !== roleToWire[first.accept.role]) {
              failures.push(
                `welcomed as ${welcome.userId}/${welcome.role}, token says ${first.accept.userId}/${first.accept.role}: ${what}`,
              );
            }
          }),
        );
        const after = await internalErrors(server.url);
        if (after !== before) failures.push(`barrage_internal_errors_total went from ${before} to ${after}`);
        expect(failures).toEqual([]);
      }),
      1_500,
    );
    const summary = await health.stop();
    console.info(
      `[fuzz] tokens: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}; ${skipped} at an exp/nbf boundary skipped; ` +
        `/healthz ${summary.polls} polls, max ${summary.maxMs} ms, p99 ${summary.p99Ms} ms`,
    );
    // The generators must reach every answer: valid tokens of several roles, guests, and each refusal.
    for (const label of ['accepted as viewer', 'accepted as guest', 'refused 400', 'refused 401', 'refused 403']) {
      expect(outcomes.get(label) ?? 0, label).toBeGreaterThan(0);
    }
    expect(summary.failures).toEqual([]);
    expect(summary.maxMs).toBeLessThan(2_000);
    expect(watch.problems).toEqual([]);
    expect(await internalErrors(server.url)).toBe(0);
  });
});
