/**
 * What every create-once API route reads first: the `Idempotency-Key`
 * header (1-200 visible ASCII characters) and a JSON object body, or the 400
 * that says which is wrong. Used by the gifts and plays APIs.
 */
import type { RouteRequest, RouteResponse } from '../../domain/http.js';
import { problem } from '../../domain/http.js';
import { maxIdempotencyKeyLength } from '../gifts/gifts.js';

const keyPattern = new RegExp(`^[\\x21-\\x7e]{1,${maxIdempotencyKeyLength}}$`);

/** The request's Idempotency-Key and JSON object body, or the 400 answer. `optional`: a missing key is '' (a malformed one is still refused). */
export function idempotentBody(
  req: RouteRequest,
  { optional = false }: { optional?: boolean } = {},
): { key: string; body: Record<string, unknown> } | { error: RouteResponse } {
  const key = req.headers['idempotency-key'] ?? '';
  if (!keyPattern.test(key) && !(optional && key === '')) {
    return {
      error: problem(
        400,
        'IDEMPOTENCY_KEY_REQUIRED',
        `send an Idempotency-Key header (1-${maxIdempotencyKeyLength} visible ASCII characters)`,
      ),
    };
  }
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return { key, body: parsed as Record<string, unknown> };
  } catch {
    return { error: problem(400, 'INVALID_JSON', 'the body must be a JSON object') };
  }
}
