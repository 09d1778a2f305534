/**
 * A client for every /api/v1 route of Barrage (the table is generated from
 * the routes: sdk/operations.ts), with typed errors (sdk/errors.ts) and
 * retries. `call(operationId, ...)` reaches any route; named methods cover
 * messages, gifts, moderation, filters, analytics, webhooks and catalogues
 * (plays, sessions and reports are reached with `call`).
 *
 * Retry rules, the same for every call:
 * - Retried: no answer (refused, reset, timed out) and 429/502/503/504, up to
 *   `retries` more times, after `min(maxDelayMs, minDelayMs * 2^attempt)`
 *   with full jitter, or after `Retry-After` when the server sent one.
 * - A route that takes an Idempotency-Key always gets one (the caller's, or a
 *   random UUID) and every retry sends the same key: the server records the
 *   request once whatever happened to earlier attempts.
 * - GET and PUT are safe to repeat. A POST or DELETE without an
 *   Idempotency-Key (moderation actions, hold decisions, ...) is retried only
 *   when it surely did not reach the server (connection refused) or the
 *   server refused it before running it (503 with Retry-After, 429).
 */
import { randomUUID } from 'node:crypto';
import { BarrageApiError, BarrageNetworkError } from './errors.js';
import { operations } from './operations.js';
import type { OperationId } from './operations.js';

/** Options of `BarrageClient`. */
export interface ClientOptions {
  /** The edge (or load balancer) URL, e.g. `https://chat.example.com`. */
  baseUrl: string;
  /** `BARRAGE_API_KEY`. */
  apiKey: string;
  /** Extra attempts after the first (default 3). */
  retries?: number;
  /** Per attempt (default 10,000 ms). */
  timeoutMs?: number;
  /** First back-off (default 200 ms) and the longest (default 5,000 ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A fetch implementation (default the global one). */
  fetch?: typeof fetch;
}

/** What one call sends. */
export interface CallOptions {
  /** Values of the path's `{name}` parameters. */
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  /** JSON body. */
  body?: unknown;
  /** For routes that take one; generated when absent, reused on every retry. */
  idempotencyKey?: string;
  /** Overrides `ClientOptions.retries` for this call. */
  retries?: number;
}

/** An answer: status, headers and the JSON body. */
export interface ApiResult<T> {
  status: number;
  /** True when the server answered a retry of an Idempotency-Key with the first result. */
  replayed: boolean;
  /** The Idempotency-Key sent, when the route takes one. */
  idempotencyKey: string | undefined;
  body: T;
}

type Json = Record<string, unknown>;
type User = { id: string; name?: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A typed client of the site API; `call` reaches every operation, the named methods the common ones. */
export class BarrageClient {
  private readonly o: Required<Omit<ClientOptions, 'fetch'>> & { fetch: typeof fetch };

  constructor(options: ClientOptions) {
    this.o = {
      retries: 3,
      timeoutMs: 10_000,
      minDelayMs: 200,
      maxDelayMs: 5_000,
      fetch: options.fetch ?? globalThis.fetch,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
  }

  /** Calls one operation by its id (docs/openapi.json `operationId`). */
  async call<T = Json>(id: OperationId, options: CallOptions = {}): Promise<ApiResult<T>> {
    const op = operations[id];
    let path: string = op.path;
    for (const [name, value] of Object.entries(options.params ?? {})) path = path.replace(`{${name}}`, encodeURIComponent(value));
    const missing = /\{([^}]+)\}/.exec(path);
    if (missing) throw new TypeError(`${id} needs params.${missing[1]}`);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const url = `${this.o.baseUrl}${path}${query.size ? `?${query}` : ''}`;
    const idempotencyKey = op.idempotency === 'none' ? undefined : (options.idempotencyKey ?? randomUUID());
    const repeatable = op.method === 'GET' || op.method === 'PUT' || idempotencyKey !== undefined;
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.apiKey}`, accept: 'application/json' };
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const retries = options.retries ?? this.o.retries;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.o.fetch(url, {
          method: op.method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
      } catch (err) {
        const notSent = isRefused(err);
        const error = new BarrageNetworkError(`${op.method} ${path}: no answer (${describe(err)})`, { cause: err, notSent });
        if (attempt >= retries || !(repeatable || notSent)) throw error;
        await sleep(this.delay(attempt));
        continue;
      }
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (a plain-text 413 or 500): kept as text.
      }
      if (res.ok)
        return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', idempotencyKey, body: body as T };
      const problem = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      const error = new BarrageApiError(
        res.status,
        problem?.code ?? `HTTP_${res.status}`,
        problem?.message ?? String(text).slice(0, 200),
        body,
      );
      const retryAfter = Number(res.headers.get('retry-after'));
      // Refused before it ran: 429, or 503 with Retry-After (busy, or core did not confirm: retry with the same key).
      const refusedBeforeRun = res.status === 429 || (res.status === 503 && res.headers.has('retry-after'));
      if (attempt >= retries || !error.retryable || !(repeatable || refusedBeforeRun)) throw error;
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, this.o.maxDelayMs) : this.delay(attempt));
    }
  }

  /** Full jitter: a random wait up to the exponential bound. */
  private delay(attempt: number): number {
    return Math.random() * Math.min(this.o.maxDelayMs, this.o.minDelayMs * 2 ** attempt);
  }

  // ------------------------------------------------------------------ messages

  /** A danmaku as a bot or the site, a system line, or a private line (`to_user`). */
  postMessage(
    room: string,
    message: {
      text: string;
      type?: 'danmaku' | 'system';
      bot?: { id: string; name: string };
      to_user?: string;
      mode?: 0 | 1 | 2;
      color?: number;
      level?: 'info' | 'warn';
    },
    options: { idempotencyKey?: string } = {},
  ) {
    return this.call<{ room: string; seq: number; id: string; duplicate: boolean }>('postRoomsRoomMessages', {
      params: { room },
      body: message,
      ...options,
    });
  }

  /** A notice to listed rooms, or to every room (`'*'`). */
  broadcast(notice: { text: string; rooms: string[] | '*'; level?: 'info' | 'warn' }, options: { idempotencyKey?: string } = {}) {
    return this.call<{ results?: Array<{ room: string; seq: number }>; every_room?: boolean }>('postBroadcast', {
      body: notice,
      ...options,
    });
  }

  // ------------------------------------------------------------------ gifts

  /** A gift (catalogue id and count) or a super chat; pass the order id as the key so a retry never charges twice. */
  sendGift(
    room: string,
    gift: { user: User; gift: string; count?: number } | { user: User; super_chat: { text: string; price_cents: number } },
    options: { idempotencyKey?: string } = {},
  ) {
    return this.call<Json & { seq: number; duplicate: boolean }>('postRoomsRoomGifts', { params: { room }, body: gift, ...options });
  }

  /** Unpins a super chat early. */
  removeSuperChat(room: string, id: string) {
    return this.call('deleteRoomsRoomSuperChatsId', { params: { room, id } });
  }

  // ------------------------------------------------------------------ moderation

  /** One moderation action (`{ action: 'timeout', user_id, seconds, reason }`, ...; docs/api.md). */
  moderate(room: string, action: Json & { action: string }) {
    return this.call<{ accepted: boolean }>('postRoomsRoomModerate', { params: { room }, body: action });
  }

  /** The room's moderation state. */
  moderation(room: string) {
    return this.call('getRoomsRoomModeration', { params: { room } });
  }

  /** Danmaku waiting for a moderator. */
  held(room: string) {
    return this.call<{ room: string; held: Array<{ hold_id: string; user: User; text: string; matched: string; ts_ms: number }> }>(
      'getRoomsRoomHeld',
      { params: { room } },
    );
  }

  /** Approves or rejects a held danmaku. */
  decideHeld(room: string, holdId: string, decision: { approve: boolean; reason?: string }) {
    return this.call('postRoomsRoomHeldId', { params: { room, id: holdId }, body: decision });
  }

  /** A room's word filter, or the global one without a room. */
  filter(room?: string) {
    return room === undefined ? this.call('getFilter') : this.call('getRoomsRoomFilter', { params: { room } });
  }

  /** Replaces a room's word filter, or the global one with `room` undefined. */
  putFilter(room: string | undefined, rules: { terms?: string[]; patterns?: string[]; action?: 'block' | 'replace' | 'hold' }) {
    return room === undefined
      ? this.call('putFilter', { body: rules })
      : this.call('putRoomsRoomFilter', { params: { room }, body: rules });
  }

  /** The moderation audit log. */
  audit(room: string, range: { from?: number | string; to?: number | string; limit?: number } = {}) {
    return this.call('getRoomsRoomAudit', { params: { room }, query: range });
  }

  // ------------------------------------------------------------------ analytics

  /** Totals of a room over a range (default the last hour). */
  stats(room: string, range: { from?: number | string; to?: number | string } = {}) {
    return this.call('getRoomsRoomStats', { params: { room }, query: range });
  }

  /** Per-minute series of a room. */
  timeline(room: string, range: { from?: number | string; to?: number | string } = {}) {
    return this.call('getRoomsRoomTimeline', { params: { room }, query: range });
  }

  /** Viewers who spent most. */
  topGifters(room: string, range: { from?: number | string; to?: number | string; limit?: number } = {}) {
    return this.call('getRoomsRoomTopGifters', { params: { room }, query: range });
  }

  /** Most used words. */
  topWords(room: string, range: { from?: number | string; to?: number | string; limit?: number } = {}) {
    return this.call('getRoomsRoomTopWords', { params: { room }, query: range });
  }

  /** The analytics engine and sink counters. */
  analyticsStatus() {
    return this.call('getAnalyticsStatus');
  }

  // ------------------------------------------------------------------ webhooks

  /** Webhook deliveries that gave up (the dead-letter store; docs/webhooks.md). */
  deadWebhooks(query: Record<string, string | number | undefined> = {}) {
    return this.call('getWebhooksDead', { query });
  }

  /** Sends a dead delivery again. */
  replayWebhook(id: string) {
    return this.call('postWebhooksDeadIdReplay', { params: { id } });
  }

  // ------------------------------------------------------------------ catalogues

  /** The gift catalogue. */
  gifts() {
    return this.call('getGifts');
  }

  /** The emote catalogue. */
  emotes() {
    return this.call('getEmotes');
  }

  /** The API description this server serves. */
  openapi() {
    return this.call<{ openapi: string; paths: Json }>('getOpenapiJson');
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? (err as Error).name ?? 'error';
}

/** A connection that was refused never carried the request. */
function isRefused(err: unknown): boolean {
  return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
}
