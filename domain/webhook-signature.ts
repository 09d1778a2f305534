/**
 * Webhook signatures, the Stripe convention: a delivery carries
 * `Barrage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * Core signs with `signWebhook`; a site's receiver checks with
 * `verifyWebhook` (the server SDK re-exports it), which compares in constant
 * time and refuses a timestamp outside the tolerance so a captured delivery
 * cannot be replayed later.
 *
 * The header may carry several `v1=` entries (one per secret while a secret
 * is being rotated); one match is enough. Unknown schemes (`v0=`, `v2=`) are
 * ignored, so a later scheme can be added beside `v1` without breaking
 * receivers. Lives in domain/ so core and the SDK share one implementation.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header names of a webhook delivery. */
export const WebhookHeader = {
  signature: 'Barrage-Signature',
  delivery: 'Barrage-Delivery',
} as const;

/** Default tolerance between the signature's timestamp and the receiver's clock. */
export const defaultWebhookToleranceSeconds = 300;

/** Why a delivery did not verify. */
export const WebhookVerifyFailure = {
  /** The header is missing, too long, or has no `t=` or no `v1=`. */
  Malformed: 'malformed',
  /** `t` is further from now than the tolerance (a replay, or a clock far off). */
  Timestamp: 'timestamp',
  /** No `v1` matches the body and secret (forged, altered, or another secret). */
  Signature: 'signature',
} as const;
export type WebhookVerifyFailure = (typeof WebhookVerifyFailure)[keyof typeof WebhookVerifyFailure];

/** The answer of `verifyWebhook`. */
export type WebhookVerification = { ok: true; timestamp: number } | { ok: false; reason: WebhookVerifyFailure };

/** A secret as a string (UTF-8) or bytes. */
export type WebhookSecret = string | Uint8Array;

type Body = string | Uint8Array;

const maxHeaderLength = 4096;
const digestBytes = 32;
const hexDigest = /^[0-9a-f]{64}$/;
const unixSeconds = /^[0-9]{1,12}$/;

function mac(secret: WebhookSecret, timestamp: number, body: Body): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * The `Barrage-Signature` value for `body` at `nowMs`, with one `v1` per
 * secret (several while rotating). The body must be the exact bytes sent.
 */
export function signWebhook(body: Body, secrets: WebhookSecret | readonly WebhookSecret[], nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  const list = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets;
  let header = `t=${t}`;
  for (const secret of list) header += `,v1=${mac(secret, t, body).toString('hex')}`;
  return header;
}

/**
 * Checks a delivery: `body` exactly as received (the raw bytes or string,
 * before any JSON parse), `header` the `Barrage-Signature` value. Constant
 * time in the comparison of each signature. `now` is the receiver's clock in
 * milliseconds (Date.now() by default); `toleranceSeconds` 300 by default.
 */
export function verifyWebhook(
  body: Body,
  header: string | null | undefined,
  secret: WebhookSecret,
  options: { toleranceSeconds?: number; now?: number } = {},
): WebhookVerification {
  if (typeof header !== 'string' || header.length === 0 || header.length > maxHeaderLength) {
    return { ok: false, reason: WebhookVerifyFailure.Malformed };
  }
  let timestamp: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: WebhookVerifyFailure.Malformed };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !unixSeconds.test(value)) return { ok: false, reason: WebhookVerifyFailure.Malformed };
      timestamp = Number(value);
    } else if (key === 'v1') {
      // A wrong-length or non-hex entry can never match; it is skipped, not compared.
      if (hexDigest.test(value)) candidates.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || candidates.length === 0) return { ok: false, reason: WebhookVerifyFailure.Malformed };
  const tolerance = options.toleranceSeconds ?? defaultWebhookToleranceSeconds;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: WebhookVerifyFailure.Timestamp };
  const expected = mac(secret, timestamp, body);
  let match = false;
  // Every candidate is compared (no early exit), so the time does not tell which entry matched.
  for (const candidate of candidates) {
    if (candidate.length === digestBytes && timingSafeEqual(candidate, expected)) match = true;
  }
  return match ? { ok: true, timestamp } : { ok: false, reason: WebhookVerifyFailure.Signature };
}
