/**
 * A danmaku a site's backend posts on a viewer's behalf
 * (`POST /api/v1/videos/:video/danmaku`) gets the checks the viewer's own
 * socket danmaku gets at the edge, by the same code:
 * - the per-viewer rate limit (`BARRAGE_DANMAKU_RATE` / `_BURST`, the one
 *   token bucket of edge/rate-limit.ts), per viewer and video here since a
 *   site's requests have no socket to hang it on;
 * - the danmaku policies of the edge's extensions (the wiring passes the
 *   moderation extension): bans, time-outs, room modes and slow mode of the
 *   video's room, then the word filter (global, then the room's): block,
 *   replace with `*`, or hold for a moderator, whose decision is audited as
 *   a live one is (migration 4's audit log).
 * The caller has checked the text, the style and the video time already.
 *
 * Memory: one bucket per viewer and video that posted; past `maxViewers`
 * the buckets that refilled (the viewer stopped) are dropped, then the
 * oldest, so a site posting for millions of viewers cannot grow it without
 * bound (a dropped bucket starts full, as a new socket's does).
 */
import { ErrorCode } from '../proto/index.js';
import type { Identity } from '../domain/auth.js';
import type { SiteDanmaku, SiteVerdict } from '../domain/video-store.js';
import { newConn } from './connection.js';
import type { EdgeExtension } from './extensions.js';
import { fullBucket, refill, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import type { ValidDanmaku } from './validate.js';

/** Options of the screen. */
export interface SiteDanmakuOptions {
  /** Extensions whose `danmakuPolicy` applies, in order (the moderation extension). */
  policies: readonly EdgeExtension[];
  danmakuPerSecond: number;
  danmakuBurst: number;
  /** Most viewers with a bucket (default 100,000). */
  maxViewers?: number;
  /** Counts a refusal for the rate (the edge's `barrage_rate_limited_total{limit="danmaku"}`). */
  onRateLimited?: () => void;
  now?: () => number;
}

/** The live checks, for danmaku posted by a site. */
export class SiteDanmakuScreen {
  private readonly buckets = new Map<string, BucketState>();
  private readonly maxViewers: number;
  private readonly now: () => number;

  constructor(private readonly options: SiteDanmakuOptions) {
    this.maxViewers = options.maxViewers ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Viewers with a bucket now (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Checks `d` for the video room `room`; takes a token from the viewer's bucket. */
  readonly check = (room: string, d: SiteDanmaku): SiteVerdict => {
    const { danmakuPerSecond: rate, danmakuBurst: burst } = this.options;
    const now = this.now();
    const key = `${room}\n${d.user.id}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxViewers) this.sweep(now);
      this.buckets.set(key, (bucket = fullBucket(burst, now)));
    }
    const wait = take(bucket, rate, burst, now);
    if (wait > 0) {
      this.options.onRateLimited?.();
      return { ok: false, code: ErrorCode.ERROR_CODE_RATE_LIMITED, message: 'this viewer is sending too fast', retryAfterMs: wait };
    }
    const identity: Identity = { userId: d.user.id, name: d.user.name, room, role: 'viewer', exp: 0, member: false };
    const conn = newConn(
      { room, identity, session: 0, since: -1, sinceEpoch: '', ip: undefined },
      { framesBurst: 1, danmakuBurst: 1 },
      now,
    );
    const valid: ValidDanmaku = { text: d.text, mode: d.mode, color: d.color, size: d.size, clientMsgId: '', videoMs: d.videoMs };
    for (const ext of this.options.policies) {
      const verdict = ext.danmakuPolicy?.(conn, valid, now);
      if (!verdict) continue;
      if (!verdict.ok) return { ok: false, code: verdict.code, message: verdict.message, retryAfterMs: verdict.retryAfterMs ?? 0 };
      if (verdict.text !== undefined) valid.text = verdict.text;
    }
    return { ok: true, text: valid.text };
  };

  /** Drops the buckets that are full again, then (still too many) the oldest half. */
  private sweep(now: number): void {
    const { danmakuPerSecond: rate, danmakuBurst: burst } = this.options;
    for (const [key, b] of this.buckets) {
      refill(b, rate, burst, now);
      if (b.tokens >= burst) this.buckets.delete(key);
    }
    if (this.buckets.size < this.maxViewers) return;
    let drop = Math.ceil(this.buckets.size / 2);
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
