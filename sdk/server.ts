/**
 * Barrage's server SDK, imported as `barrage/server` by a site's backend:
 * viewer tokens and payment receipts to sign, webhook and moderation
 * callback signatures to check, and a client for every /api/v1 route.
 * docs/integration.md walks through using it.
 *
 * sdk/ imports only proto/ and domain/ (ESLint enforces it), so the SDK
 * signs and verifies exactly as the server does.
 */
import { mintToken } from '../domain/auth.js';
import type { MintOptions } from '../domain/auth.js';
import { mintReceipt as signReceipt } from '../domain/receipts.js';
import type { ReceiptClaims } from '../domain/receipts.js';

export { BarrageClient } from './client.js';
export type { ApiResult, CallOptions, ClientOptions } from './client.js';
export { BarrageApiError, BarrageNetworkError } from './errors.js';
export { operations } from './operations.js';
export type { OperationId } from './operations.js';
export {
  verifyWebhook,
  signWebhook,
  WebhookHeader,
  WebhookVerifyFailure,
  defaultWebhookToleranceSeconds,
} from '../domain/webhook-signature.js';
export type { WebhookVerification, WebhookSecret } from '../domain/webhook-signature.js';
export type { MintOptions, ReceiptClaims };

const bytes = (secret: string | Uint8Array): Uint8Array => (typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);

/**
 * A viewer token (HS256 JWT, `aud: barrage:viewer`) for `/ws?room=&token=`,
 * signed with `BARRAGE_SECRET`. Mint it when your user opens the page, for
 * that room, with a short lifetime (`ttlSeconds`, default one day).
 */
export function mintViewerToken(secret: string | Uint8Array, options: MintOptions): Promise<string> {
  return mintToken(bytes(secret), options);
}

/**
 * A payment receipt (HS256 JWT, `aud: barrage:receipt`) the widget sends as
 * `send_gift`, signed with `BARRAGE_RECEIPT_SECRET` (or `BARRAGE_SECRET`);
 * `jti` unique per payment, accepted once.
 */
export function mintReceipt(secret: string | Uint8Array, claims: ReceiptClaims): Promise<string> {
  return signReceipt(bytes(secret), claims);
}
