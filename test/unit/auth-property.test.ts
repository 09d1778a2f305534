/**
 * Property tests: the synchronous token check (used at the WebSocket upgrade)
 * must agree with jose's `jwtVerify` (the reference) on every token, not only
 * on the ones we thought of. Tokens are mutated as an attacker would: characters
 * appended, inserted, replaced or deleted, `=` padding, the `+`/`/` alphabet,
 * non-canonical trailing bits, and header or claim changes signed again with
 * the right secret (what a careless site backend might produce).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalBase64url, mintToken, verifyToken, verifyTokenSync } from '../../domain/auth.js';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');
const room = 'r1';

type Outcome = { ok: unknown } | { code: string };

const outcomeOf = (fn: () => unknown): Outcome => {
  try {
    return { ok: fn() };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? `threw ${(err as Error).name}` };
  }
};

async function bothOutcomes(token: string): Promise<{ reference: Outcome; sync: Outcome }> {
  let reference: Outcome;
  try {
    reference = { ok: await verifyToken(secret, token, room) };
  } catch (err) {
    reference = { code: (err as { code?: string }).code ?? `threw ${(err as Error).name}` };
  }
  return { reference, sync: outcomeOf(() => verifyTokenSync(secret, token, room)) };
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sign = (header: string, payload: string): string =>
  `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const oddChar = fc.constantFrom(...'AQgw09-_=+/. \t\n\r%!é😀\u200b\u0000'.split(''), '😀');
const anyChar = fc.oneof(oddChar, fc.constantFrom(...alphabet.split('')));

/** Spellings of one base64url part that decoders may forgive. */
const respell = (part: string, how: number, at: number): string => {
  switch (how) {
    case 0:
      return part + '='.repeat(1 + (at % 3));
    case 1:
      return part.replace(/-/g, '+').replace(/_/g, '/');
    case 2: {
      // Another last character that decodes to the same bytes when the unused bits are ignored.
      if (part.length % 4 < 2) return part + 'A';
      const last = alphabet.indexOf(part.at(-1) ?? 'A');
      const mask = part.length % 4 === 2 ? 15 : 3;
      return part.slice(0, -1) + alphabet[(last & ~mask) | (1 + (at % mask))];
    }
    case 3:
      return part.slice(0, at % (part.length + 1)) + ' ' + part.slice(at % (part.length + 1));
    default:
      return part + '\n';
  }
};

/** Text mutations of a whole token (the signature no longer matches unless decoders forgive the change). */
const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), ch: anyChar }),
  fc.record({ kind: fc.constant('insert' as const), ch: anyChar, at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), ch: anyChar, at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('respell' as const), part: fc.integer({ min: 0, max: 2 }), how: fc.nat(4), at: fc.nat() }),
);
type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function applyText(token: string, m: TextMutation): string {
  const at = 'at' in m ? m.at % (token.length + 1) : 0;
  switch (m.kind) {
    case 'append':
      return token + m.ch;
    case 'insert':
      return token.slice(0, at) + m.ch + token.slice(at);
    case 'replace':
      return token.slice(0, at) + m.ch + token.slice(at + 1);
    case 'delete':
      return token.slice(0, at) + token.slice(at + 1);
    case 'respell': {
      const parts = token.split('.');
      parts[m.part] = respell(parts[m.part] ?? '', m.how, m.at);
      return parts.join('.');
    }
  }
}

const now = () => Math.floor(Date.now() / 1000);
const claimValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, Infinity, '', 'x', [], {}, 'barrage', 'barrage:receipt', ['a', 'barrage:receipt']),
  fc.integer({ min: -100_000, max: 100_000 }).map((d) => now() + d),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: 0, max: 200 }).map((n) => 'u'.repeat(n)),
);
const claimName = fc.constantFrom('sub', 'exp', 'nbf', 'iat', 'aud', 'room', 'role', 'name', 'member');
const headerValue = fc.constantFrom<unknown>('HS256', 'HS512', 'none', 'hs256', '', null, [], ['b64'], ['x'], false, 'JWT');
const headerName = fc.constantFrom('alg', 'crit', 'b64', 'typ', 'kid');

/** Claim and header changes, signed again with the right secret, optionally spelled non-canonically. */
const signedTweak = fc.record({
  claims: fc.array(fc.tuple(claimName, fc.option(claimValue, { nil: undefined })), { maxLength: 3 }),
  header: fc.array(fc.tuple(headerName, fc.option(headerValue, { nil: undefined })), { maxLength: 2 }),
  respellPart: fc.option(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.nat(4), fc.nat()), { nil: undefined }),
});
type SignedTweak = typeof signedTweak extends fc.Arbitrary<infer T> ? T : never;

function applySigned(token: string, t: SignedTweak): string {
  const [h = '', p = ''] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  for (const [k, v] of t.header)
    if (v === undefined) delete header[k];
    else header[k] = v;
  for (const [k, v] of t.claims)
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  // JSON.stringify writes Infinity as null; write 1e400, a literal a site could send that parses as Infinity.
  const json = JSON.stringify(claims, (_k, v: unknown) => (v === Infinity ? '\u0000inf' : v)).replace(/"\\u0000inf"/g, '1e400');
  const parts = [b64(header), b64(json)];
  if (t.respellPart) {
    const [which, how, at] = t.respellPart;
    parts[which] = respell(parts[which] ?? '', how, at);
  }
  return sign(parts[0] ?? '', parts[1] ?? '');
}

const baseToken = fc
  .record({
    user: fc.constantFrom('u', 'user-42', 'u'.repeat(128), 'ユーザー'),
    name: fc.constantFrom('Alice', '', '  ', '名'.repeat(70)),
    role: fc.constantFrom('viewer', 'moderator', 'admin', 'guest'),
    tokenRoom: fc.constantFrom(room, 'r2', '*'),
  })
  .map(async (o) => mintToken(secret, { room: o.tokenRoom, user: o.user, name: o.name, role: o.role as 'viewer' }));

describe('auth - the synchronous verifier agrees with jose', () => {
  it('auth - mutated tokens: both accept with the same identity, or both refuse with the same code', async () => {
    await fc.assert(
      fc.asyncProperty(baseToken, fc.array(textMutation, { minLength: 1, maxLength: 3 }), async (minting, mutations) => {
        const token = mutations.reduce(applyText, await minting);
        const { reference, sync } = await bothOutcomes(token);
        expect(sync).toEqual(reference);
      }),
      { numRuns: 600 },
    );
  });

  it('auth - re-signed header and claim changes: both accept with the same identity, or both refuse with the same code', async () => {
    await fc.assert(
      fc.asyncProperty(baseToken, signedTweak, async (minting, tweak) => {
        const token = applySigned(await minting, tweak);
        const { reference, sync } = await bothOutcomes(token);
        expect(sync).toEqual(reference);
      }),
      { numRuns: 600 },
    );
  });

  it('auth - every non-canonical spelling of a valid token is refused by both', async () => {
    const good = await mintToken(secret, { room, user: 'u', name: 'U', role: 'viewer' });
    expect((await bothOutcomes(good)).reference).toHaveProperty('ok');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.nat(4), fc.nat(), async (part, how, at) => {
        const parts = good.split('.');
        parts[part] = respell(parts[part] ?? '', how, at);
        const token = parts.join('.');
        fc.pre(token !== good);
        const { reference, sync } = await bothOutcomes(token);
        expect(reference).toEqual({ code: 'TOKEN' });
        expect(sync).toEqual({ code: 'TOKEN' });
      }),
      { numRuns: 200 },
    );
  });

  it('auth - canonical base64url means what decoding and encoding again gives back', () => {
    const char = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...alphabet.split('')) }, { weight: 1, arbitrary: oddChar });
    fc.assert(
      fc.property(fc.array(char, { maxLength: 12 }), (chars) => {
        const part = chars.join('');
        expect(isCanonicalBase64url(part), JSON.stringify(part)).toBe(Buffer.from(part, 'base64url').toString('base64url') === part);
      }),
      { numRuns: 20_000 },
    );
  });
});
