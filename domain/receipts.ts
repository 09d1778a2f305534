/**
 * Gift receipts: short-lived HS256 JWTs the site signs after taking payment,
 * which the viewer's widget sends in `send_gift`. Claims: `aud` (always
 * `barrage:receipt`), `sub` (user), `room`, `jti` (unique per payment), `exp`,
 * and either `gift` + `count` (a gift) or `text` + `price_cents` (a super
 * chat); `name` optionally.
 *
 * The audience matters because a site may sign receipts and viewer tokens
 * with one secret: the token check refuses `aud: barrage:receipt` and this
 * check requires it, so neither passes for the other.
 *
 * The edge verifies signature, lifetime, room and user synchronously (an HMAC
 * and a JSON parse, like tokens at upgrade); core makes sure each `jti` is
 * accepted once (see `GiftLedger`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import { Audience, hasAudience, isCanonicalBase64url } from './auth.js';
import { BarrageError } from './errors.js';

/** Why a receipt was refused: `RECEIPT_INVALID` is the only code (replays are core's to tell). */
export class ReceiptError extends BarrageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECEIPT_INVALID', message, options);
    this.name = 'ReceiptError';
  }
}

/** What a verified receipt says. */
export interface Receipt {
  jti: string;
  userId: string;
  name: string | undefined;
  room: string;
  exp: number;
  /** A gift, or undefined for a super chat. */
  giftId: string | undefined;
  count: number;
  text: string | undefined;
  priceCents: number;
  color: number;
}

/** What a site puts in a receipt (what `mintReceipt` signs). */
export interface ReceiptClaims {
  user: string;
  room: string;
  jti: string;
  name?: string;
  gift?: string;
  count?: number;
  text?: string;
  priceCents?: number;
  ttlSeconds?: number;
}

const clockToleranceSeconds = 5;
const maxJti = 128;

/** Signs a receipt, as a site's backend does after payment (tests and the docs' example use it). */
export function mintReceipt(secret: Uint8Array, claims: ReceiptClaims): Promise<string> {
  const body: Record<string, unknown> = { room: claims.room };
  if (claims.name !== undefined) body['name'] = claims.name;
  if (claims.gift !== undefined) body['gift'] = claims.gift;
  if (claims.count !== undefined) body['count'] = claims.count;
  if (claims.text !== undefined) body['text'] = claims.text;
  if (claims.priceCents !== undefined) body['price_cents'] = claims.priceCents;
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(Audience.receipt)
    .setSubject(claims.user)
    .setJti(claims.jti)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 300))
    .sign(secret);
}

function decodePart(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the refusal below.
  }
  throw new ReceiptError('receipt invalid: not a JWT');
}

/**
 * Verifies a receipt for `room` and `userId` now; throws `ReceiptError` with a
 * message a person can act on (forged, expired, too long-lived, wrong room or user).
 */
export function verifyReceipt(
  secret: Uint8Array,
  receipt: string,
  expect: { room: string; userId: string; maxTtlSeconds: number },
  nowMs = Date.now(),
): Receipt {
  const parts = receipt.split('.');
  if (parts.length !== 3 || receipt.length > 4096) throw new ReceiptError('receipt invalid: not a JWT');
  // One spelling per receipt: Node's decoder would also take padding, `+`/`/` and stray characters.
  if (!parts.every(isCanonicalBase64url)) throw new ReceiptError('receipt invalid: not a JWT (each part must be canonical base64url)');
  const header = decodePart(parts[0] as string);
  if (header['alg'] !== 'HS256') throw new ReceiptError('receipt invalid: alg must be HS256');
  const signature = Buffer.from(parts[2] as string, 'base64url');
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new ReceiptError('receipt invalid: signature does not match (forged, or signed with another secret)');
  }
  const c = decodePart(parts[1] as string);
  if (!hasAudience(c['aud'], Audience.receipt)) {
    throw new ReceiptError(`receipt invalid: aud must be "${Audience.receipt}" (a viewer token is not a receipt)`);
  }
  const now = Math.floor(nowMs / 1000);
  const exp = c['exp'];
  if (typeof exp !== 'number') throw new ReceiptError('receipt invalid: no exp');
  if (now - clockToleranceSeconds >= exp) throw new ReceiptError('receipt expired');
  if (exp - now > expect.maxTtlSeconds + clockToleranceSeconds) {
    throw new ReceiptError(`receipt invalid: valid for longer than ${expect.maxTtlSeconds} s`);
  }
  const jti = c['jti'];
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > maxJti) throw new ReceiptError('receipt invalid: jti missing');
  if (c['room'] !== expect.room) throw new ReceiptError('receipt invalid: for another room');
  if (c['sub'] !== expect.userId) throw new ReceiptError('receipt invalid: for another user');
  const gift = c['gift'];
  const text = c['text'];
  const count = c['count'] ?? 1;
  const price = c['price_cents'] ?? 0;
  if (gift !== undefined && typeof gift !== 'string') throw new ReceiptError('receipt invalid: gift must be a string');
  if (text !== undefined && typeof text !== 'string') throw new ReceiptError('receipt invalid: text must be a string');
  if ((gift === undefined) === (text === undefined)) throw new ReceiptError('receipt invalid: needs either gift or text');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new ReceiptError('receipt invalid: bad count');
  if (typeof price !== 'number' || !Number.isInteger(price) || price < 0) throw new ReceiptError('receipt invalid: bad price_cents');
  const name = typeof c['name'] === 'string' ? c['name'].slice(0, 64) : undefined;
  return { jti, userId: expect.userId, name, room: expect.room, exp, giftId: gift, count, text, priceCents: price, color: 0 };
}
