/**
 * Viewer tokens: HS256 JWTs the site signs with the shared secret. Claims:
 * `sub` (user id), `name`, `room` (a room id, or `*` for admins), `role`, `exp`.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
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
}

const algorithm = 'HS256';
const clockToleranceSeconds = 5;
const maxNameLength = 64;

/** Signs a token; what a site's backend does, and what `barrage token` prints. */
export async function mintToken(secret: Uint8Array, options: MintOptions): Promise<string> {
  const ttl = options.ttlSeconds ?? 86_400;
  return new SignJWT({ name: options.name, room: options.room, role: options.role, member: options.member ?? false })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setSubject(options.user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(secret);
}

function isRole(value: unknown): value is RoleName {
  return typeof value === 'string' && (Roles as readonly string[]).includes(value);
}

/**
 * Verifies a token for `room`. Throws `TokenError` with `TOKEN_EXPIRED`,
 * `TOKEN_ROOM` (valid, but for another room) or `TOKEN` (anything else).
 */
export async function verifyToken(secret: Uint8Array, token: string, room: string): Promise<Identity> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: [algorithm],
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new TokenError(CoreErrorCode.TokenExpired, 'token expired', { cause: err });
    throw new TokenError(CoreErrorCode.Token, 'token invalid: ' + (err as Error).message, { cause: err });
  }
  const role = payload['role'] ?? 'viewer';
  if (!isRole(role)) throw new TokenError(CoreErrorCode.Token, `token role must be one of ${Roles.join('|')}`);
  const tokenRoom = payload['room'];
  if (typeof tokenRoom !== 'string') throw new TokenError(CoreErrorCode.Token, 'token has no room claim');
  if (tokenRoom !== room && !(tokenRoom === '*' && role === 'admin')) {
    throw new TokenError(CoreErrorCode.TokenRoom, 'token is for another room');
  }
  const sub = payload.sub as string;
  const rawName = typeof payload['name'] === 'string' ? payload['name'] : sub;
  return {
    userId: sub,
    name: [...rawName].slice(0, maxNameLength).join(''),
    room,
    role,
    exp: payload.exp as number,
    member: payload['member'] === true,
  };
}
