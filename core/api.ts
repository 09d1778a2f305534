/**
 * What every `/api/v1` route for site backends shares: the API key check
 * (`Authorization: Bearer <BARRAGE_API_KEY>`, compared in constant time) and
 * JSON answers, errors as `{ error: { code, message } }`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RouteRequest, RouteResponse } from '../edge/http.js';

/** The API key from `BARRAGE_API_KEY`, or a development key derived from the token secret. */
export function apiKeyFromEnv(env: Record<string, string | undefined>, secret: Uint8Array): { key: string; derived: boolean } {
  const key = env['BARRAGE_API_KEY'];
  return key ? { key, derived: false } : { key: devApiKey(secret), derived: true };
}

/** A development API key: stable for a given token secret, useless without it. */
export function devApiKey(secret: Uint8Array): string {
  return createHmac('sha256', secret).update('barrage analytics api key').digest('base64url').slice(0, 32);
}

/** Returns a checker that is true when a request carries `Authorization: Bearer <key>`. */
export function bearerAuth(key: string): (req: Pick<RouteRequest, 'headers'>) => boolean {
  const expected = Buffer.from(key);
  return (req) => {
    const header = req.headers['authorization'] ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

/** A JSON response. */
export const json = (status: number, body: unknown): RouteResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** A JSON error response with a stable code. */
export const problem = (status: number, code: string, message: string): RouteResponse => json(status, { error: { code, message } });

/** The 401 every API route answers without the key. */
export const unauthorized = (): RouteResponse => problem(401, 'UNAUTHORIZED', 'send Authorization: Bearer <BARRAGE_API_KEY>');
