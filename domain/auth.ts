/**
 * Viewer tokens: HS256 JWTs the site signs with the shared secret. Claims:
 * `sub` (user id, 1-128 characters), `name`, `room` (a room id, or `*` for
 * admins), `role`, `exp`, optionally `aud` (`barrage`; never
 * `barrage:receipt`, which marks a gift receipt signed with the same secret),
 * `member`, and the identity shown beside the name: `badges` (site-defined
 * badge ids) and `medal` (`{ name, level }`, a fan medal). Those two are
 * bounded here (see `maxBadges`, `badgeIdPattern`, `maxMedalNameLength`,
 * `maxMedalLevel`): a token outside the bounds is refused with the reason, as
 * a bad role is, so a site's mistake shows at once rather than as a missing
 * badge.
 *
 * Two verifiers that must agree on every token: `verifyToken` (jose, the
 * reference) and `verifyTokenSync` (for the WebSocket upgrade). Both first
 * require each of the three parts to be canonical base64url, so a token has
 * exactly one spelling whichever decoder runs underneath.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import type { JWTPayload } from 'jose';
import { CoreErrorCode, TokenError } from './errors.js';

/** Roles in increasing power. A guest can only read. */
export const Roles = ['guest', 'viewer', 'moderator', 'host', 'admin'] as const;
export type RoleName = (typeof Roles)[number];

/** Who a connection is, as its token (or the guest policy) says. */
export interface Identity {
  userId: string;
  name: string;
  room: string;
  role: RoleName;
  /** Seconds since the epoch when the token expires; 0 for guests. */
  exp: number;
  /** Members-only rooms admit tokens with `member: true`. */
  member: boolean;
  /**
   * Badge ids drawn beside the name: the built-in ones of the role and
   * membership first (`builtInBadges`), then the token's `badges` claim.
   * Absent when there are none (most viewers).
   */
  badges?: readonly string[];
  /** The token's `medal` claim. */
  medal?: Medal;
}

/** A site-defined fan medal (`medal` claim): a name and a level. */
export interface Medal {
  readonly name: string;
  readonly level: number;
}

/** Options for `mintToken`. */
export interface MintOptions {
  room: string;
  user: string;
  name: string;
  role: RoleName;
  /** Lifetime in seconds; defaults to one day. */
  ttlSeconds?: number;
  member?: boolean;
  /** Site-defined badge ids (`badges` claim). */
  badges?: readonly string[];
  /** A fan medal (`medal` claim). */
  medal?: Medal;
}

/**
 * The JWT `aud` values Barrage gives meaning to. A site may sign viewer
 * tokens and gift receipts with one secret; the audience keeps a receipt
 * from being used as a token (and a token from being used as a receipt).
 */
export const Audience = {
  /** Optional on viewer tokens (`mintToken` sets it); tokens without `aud` stay valid. */
  viewer: 'barrage',
  /** Required on gift receipts, refused on viewer tokens. */
  receipt: 'barrage:receipt',
} as const;
export type Audience = (typeof Audience)[keyof typeof Audience];

/**
 * Longest user id (`sub`) a token may carry, in UTF-16 units: moderation
 * refuses to ban or mute ids outside 1..128, so a token with a longer (or
 * empty) one would make a viewer nobody can moderate.
 */
export const maxUserIdLength = 128;

/** Most badge ids a token's `badges` claim may list. */
export const maxBadges = 8;
/** A badge id: lower-case ASCII letters, digits, `_` and `-`, 1 to 32 of them (a CSS-safe name the widget maps to an image or style). */
export const badgeIdPattern = /^[a-z0-9_-]{1,32}$/;
/** Longest medal name, in code points (Bilibili's are up to 4 CJK characters; room for other scripts). */
export const maxMedalNameLength = 16;
/** Highest medal level. */
export const maxMedalLevel = 999;

/**
 * Badges the server gives from the role and membership; a `badges` claim
 * naming one of them is ignored (only the role or `member` grants it).
 */
export const builtInBadges = ['host', 'moderator', 'member'] as const;

const builtIn: ReadonlySet<string> = new Set(builtInBadges);

const algorithm = 'HS256';
const clockToleranceSeconds = 5;
const maxNameLength = 64;
const base64urlAlphabet = /^[A-Za-z0-9_-]*$/;
// The last character of a 2- or 3-character final group carries 4 or 2 unused bits, which must be 0.
const lastOf2 = 'AQgw';
const lastOf3 = 'AEIMQUYcgkosw048';

/**
 * True when `part` is base64url exactly as RFC 7515 writes it: only
 * `A-Z a-z 0-9 - _`, no `=` padding, no whitespace, unused trailing bits zero.
 * Node's and `atob`'s decoders forgive each of these, so without this check
 * one signature has many spellings (and jose and Node forgive different ones).
 */
export function isCanonicalBase64url(part: string): boolean {
  // Same answer as decoding and encoding again, at a third of the cost (it runs three times per join).
  if (!base64urlAlphabet.test(part)) return false;
  switch (part.length % 4) {
    case 1:
      return false;
    case 2:
      return lastOf2.includes(part.charAt(part.length - 1));
    case 3:
      return lastOf3.includes(part.charAt(part.length - 1));
    default:
      return true;
  }
}

/** True when a JWT `aud` claim (a string or an array of them) names `audience`. */
export function hasAudience(aud: unknown, audience: Audience): boolean {
  return aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

/** Splits a compact JWS into its three parts, or throws `TokenError` unless each is canonical base64url. */
function compactParts(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError(CoreErrorCode.Token, 'token invalid: not a JWS compact token');
  if (!parts.every(isCanonicalBase64url)) throw new TokenError(CoreErrorCode.Token, 'token invalid: not canonical base64url');
  return parts as [string, string, string];
}

/** Signs a token; what a site's backend does, and what `barrage token` prints. */
export async function mintToken(secret: Uint8Array, options: MintOptions): Promise<string> {
  const ttl = options.ttlSeconds ?? 86_400;
  const claims: JWTPayload = { name: options.name, room: options.room, role: options.role, member: options.member ?? false };
  if (options.badges !== undefined) claims['badges'] = [...options.badges];
  if (options.medal !== undefined) claims['medal'] = { name: options.medal.name, level: options.medal.level };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setAudience(Audience.viewer)
    .setSubject(options.user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(secret);
}

function isRole(value: unknown): value is RoleName {
  return typeof value === 'string' && (Roles as readonly string[]).includes(value);
}

/**
 * The badges of an identity: the built-in one of the role (host, moderator)
 * and of membership, then the claimed ones in the token's order without
 * repeats or built-in ids. Throws `TokenError` for a claim out of bounds.
 */
function badgesOf(claim: unknown, role: RoleName, member: boolean): string[] {
  const badges: string[] = [];
  if (role === 'host' || role === 'moderator') badges.push(role);
  if (member) badges.push('member');
  if (claim === undefined || claim === null) return badges;
  if (!Array.isArray(claim) || claim.length > maxBadges) {
    throw new TokenError(CoreErrorCode.Token, `token badges must be a list of at most ${maxBadges} badge ids`);
  }
  for (const id of claim as unknown[]) {
    if (typeof id !== 'string' || !badgeIdPattern.test(id)) {
      throw new TokenError(CoreErrorCode.Token, 'token badges: each id must be 1 to 32 of a-z 0-9 _ -');
    }
    if (!builtIn.has(id) && !badges.includes(id)) badges.push(id);
  }
  return badges;
}

/** The `medal` claim, checked; undefined when absent. Throws `TokenError` for one out of bounds. */
function medalOf(claim: unknown): Medal | undefined {
  if (claim === undefined || claim === null) return undefined;
  const o = typeof claim === 'object' && !Array.isArray(claim) ? (claim as Record<string, unknown>) : undefined;
  const name = typeof o?.['name'] === 'string' ? o['name'].trim() : '';
  const length = [...name].length;
  if (length === 0 || length > maxMedalNameLength || /[\p{Cc}\p{Cf}]/u.test(name)) {
    throw new TokenError(CoreErrorCode.Token, `token medal: name must be 1 to ${maxMedalNameLength} printable characters`);
  }
  const level = o?.['level'];
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > maxMedalLevel) {
    throw new TokenError(CoreErrorCode.Token, `token medal: level must be an integer from 1 to ${maxMedalLevel}`);
  }
  return { name, level };
}

/** Turns verified claims into an identity for `room`, or throws `TokenError`. */
function identityFromClaims(payload: JWTPayload, room: string): Identity {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > maxUserIdLength) {
    throw new TokenError(CoreErrorCode.Token, `token invalid: sub (the user id) must be 1 to ${maxUserIdLength} characters`);
  }
  if (hasAudience(payload.aud, Audience.receipt)) {
    throw new TokenError(CoreErrorCode.Token, 'token invalid: this is a gift receipt (aud barrage:receipt), not a viewer token');
  }
  const role = payload['role'] ?? 'viewer';
  if (!isRole(role)) throw new TokenError(CoreErrorCode.Token, `token role must be one of ${Roles.join('|')}`);
  const tokenRoom = payload['room'];
  if (typeof tokenRoom !== 'string') throw new TokenError(CoreErrorCode.Token, 'token has no room claim');
  if (tokenRoom !== room && !(tokenRoom === '*' && role === 'admin')) {
    throw new TokenError(CoreErrorCode.TokenRoom, 'token is for another room');
  }
  // A name that is empty (or only spaces) would show a blank author: fall back to the user id.
  const rawName = typeof payload['name'] === 'string' ? payload['name'].trim() : '';
  const member = payload['member'] === true;
  const identity: Identity = {
    userId: sub,
    name: [...(rawName || sub)].slice(0, maxNameLength).join(''),
    room,
    role,
    exp: payload.exp as number,
    member,
  };
  // Left out when empty: most viewers have none, and every connection keeps its identity.
  const badges = badgesOf(payload['badges'], role, member);
  if (badges.length > 0) identity.badges = badges;
  const medal = medalOf(payload['medal']);
  if (medal) identity.medal = medal;
  return identity;
}

/**
 * Verifies a token for `room` with jose (asynchronous). The reference
 * implementation: `verifyTokenSync` must agree with it on every token.
 * Throws `TokenError` with `TOKEN_EXPIRED`, `TOKEN_ROOM` (valid, but for
 * another room) or `TOKEN` (anything else).
 */
export async function verifyToken(secret: Uint8Array, token: string, room: string): Promise<Identity> {
  compactParts(token);
  let payload;
  try {
    // No extension is ever needed here; jose accepts `b64` in `crit`, the upgrade does not: refuse it in both.
    if (decodeProtectedHeader(token).crit !== undefined) {
      throw new TokenError(CoreErrorCode.Token, 'token invalid: crit headers are not supported');
    }
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: [algorithm],
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    }));
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new TokenError(CoreErrorCode.TokenExpired, 'token expired', { cause: err });
    throw new TokenError(CoreErrorCode.Token, 'token invalid: ' + (err as Error).message, { cause: err });
  }
  return identityFromClaims(payload, room);
}

/**
 * Verifies an HS256 token for `room` synchronously, for the WebSocket upgrade:
 * an upgrade completed from a promise continuation was measured to drop
 * sockets under load in uWebSockets.js (4 in 1,200 joins at load 20, none in
 * 1,200 synchronous ones), and a synchronous HMAC is also cheaper per join.
 * jose parses header and claims; the signature is an HMAC compared in
 * constant time. Same errors as `verifyToken`.
 */
export function verifyTokenSync(secret: Uint8Array, token: string, room: string): Identity {
  const parts = compactParts(token);
  let header;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch (err) {
    throw new TokenError(CoreErrorCode.Token, 'token invalid: ' + (err as Error).message, { cause: err });
  }
  if (header.crit !== undefined) throw new TokenError(CoreErrorCode.Token, 'token invalid: crit headers are not supported');
  if (header.alg !== algorithm) throw new TokenError(CoreErrorCode.Token, `token invalid: alg must be ${algorithm}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new TokenError(CoreErrorCode.Token, 'token invalid: signature verification failed');
  }
  // The checks jose's jwtVerify makes, in its order (so both give the same code when several fail).
  if (!Object.hasOwn(payload, 'exp')) throw new TokenError(CoreErrorCode.Token, 'token invalid: missing exp claim');
  if (!Object.hasOwn(payload, 'sub')) throw new TokenError(CoreErrorCode.Token, 'token invalid: missing sub claim');
  if (payload.iat !== undefined && typeof payload.iat !== 'number') {
    throw new TokenError(CoreErrorCode.Token, 'token invalid: iat must be a number');
  }
  const now = Math.floor(Date.now() / 1000);
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== 'number') throw new TokenError(CoreErrorCode.Token, 'token invalid: nbf must be a number');
    if (payload.nbf > now + clockToleranceSeconds) throw new TokenError(CoreErrorCode.Token, 'token invalid: not yet valid');
  }
  if (typeof payload.exp !== 'number') throw new TokenError(CoreErrorCode.Token, 'token invalid: exp must be a number');
  if (payload.exp <= now - clockToleranceSeconds) throw new TokenError(CoreErrorCode.TokenExpired, 'token expired');
  return identityFromClaims(payload, room);
}
