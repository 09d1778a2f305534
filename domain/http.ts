/**
 * HTTP routes as both processes write them (the edge mounts them on
 * uWebSockets.js, see edge/http.ts), and what every `/api/v1` route for site
 * backends shares: the API key check
 * (`Authorization: Bearer <BARRAGE_API_KEY>`, compared in constant time) and
 * JSON answers, errors as `{ error: { code, message } }`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a route handler sees of a request. */
export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  params: string[];
  body: Buffer;
  /**
   * The peer is this machine (127.0.0.0/8 or ::1) and no `Forwarded` or
   * `X-Forwarded-For` header says it relays someone else: what the
   * development conveniences (the dashboard's key) are limited to.
   */
  loopback?: boolean;
}

/** What a route handler returns. */
export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** One route: a uWS pattern (`/api/v1/rooms/:room/gifts`) and its handler. */
export interface Route {
  method: 'get' | 'post' | 'put' | 'del' | 'any';
  pattern: string;
  handler: (req: RouteRequest) => RouteResponse | Promise<RouteResponse>;
  /** Largest body accepted; larger bodies get 413. Default 64 KiB. */
  maxBody?: number;
  /**
   * Checked on the headers before the body is read: false answers
   * `unauthorized()` (or a plain 401) at once, so an anonymous client cannot
   * make the server buffer bodies for routes it may not call.
   */
  authorize?: (headers: Readonly<Record<string, string>>) => boolean;
  /** The 401 answer of `authorize`; a plain-text 401 without it. */
  unauthorized?: () => RouteResponse;
  /** Served without the `protect` check of `MountOptions` although under its prefix. */
  public?: boolean;
  /**
   * What docs/openapi.json (and `GET /api/v1/openapi.json`) says of this
   * route. Every mounted route has one; test/unit/openapi.test.ts names each
   * route without it and what to write.
   */
  doc?: RouteDoc;
}

/** A JSON Schema (2020-12, as OpenAPI 3.1 takes it); `domain/openapi-schema.ts` has helpers to write them. */
export type JsonSchema = { [key: string]: unknown };

/** One answer of a route in its description. */
export interface ResponseDoc {
  description: string;
  /** JSON body; absent for an answer without a body. */
  schema?: JsonSchema;
  /** Content type of the body; `application/json` with a schema. */
  contentType?: string;
}

/**
 * The description of a route, written beside its handler. The security
 * requirement is not written here: a route under `/api/v1` that is not
 * `public` needs the API key, and the 401, 413 (routes with a body) and 500
 * answers every such route may give are added by the generator.
 */
export interface RouteDoc {
  /** Group in the document (`messages`, `gifts`, `moderation`, `analytics`, `pages`, `operations`, ...). */
  tag: string;
  /** One line. */
  summary: string;
  /** Paragraphs (CommonMark), optional. */
  description?: string;
  /** One description per `:name` of the pattern, by name. */
  params?: Record<string, string>;
  /** Query parameters by name. */
  query?: Record<string, { description: string; schema?: JsonSchema; required?: boolean }>;
  /** Request headers by name (e.g. `Idempotency-Key`). */
  headers?: Record<string, { description: string; required?: boolean }>;
  /** The request body (JSON unless `contentType` says otherwise). */
  body?: { schema: JsonSchema; description?: string; contentType?: string };
  /** Answers by status. */
  responses: Record<number, ResponseDoc>;
}

/** A development API key, used when `BARRAGE_API_KEY` is unset: stable for a given token secret, useless without it. */
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
