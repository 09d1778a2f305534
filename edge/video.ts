/**
 * Danmaku on a recording, the edge's part: a socket joined with `video=`
 * sits in the video's room, and what it sends carries a video time
 * (`SendDanmaku.video_ms`). This extension says whether the video exists,
 * is finished (a live session's recording does not take danmaku as a video
 * while the session runs: they belong in the live room), and holds the
 * time within the video: [0, duration).
 *
 * The upgrade and the danmaku path are synchronous, the store is not: the
 * edge keeps a small cache of records (refreshed after `ttlMs`, serving the
 * old answer while it refreshes). A video not yet in the cache is admitted
 * and looked up at once; a danmaku that arrives before the answer is refused
 * UNAVAILABLE with a short retry.
 */
import { ErrorCode } from '../proto/index.js';
import type { Identity } from '../domain/auth.js';
import { isFinished, isVideoRoom, videoDuration, videoRoomPrefix } from '../domain/video-store.js';
import type { VideoRecord, VideoStore } from '../domain/video-store.js';
import type { Conn } from './connection.js';
import type { AdmissionVerdict, DanmakuVerdict, EdgeExtension } from './extensions.js';
import type { ValidDanmaku } from './validate.js';

interface Cached {
  record: VideoRecord | undefined;
  at: number;
  loading: boolean;
}

/** Options of the video extension. */
export interface VideoAccessOptions {
  store: VideoStore;
  /** How long an answer is used before it is asked again (default 5 s). */
  ttlMs?: number;
  /** Most videos cached (default 10,000; the oldest are dropped). */
  maxEntries?: number;
  now?: () => number;
}

const ok = { ok: true } as const;

/** The video extension. */
export class VideoAccess implements EdgeExtension {
  readonly name = 'video';
  private readonly cache = new Map<string, Cached>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: VideoAccessOptions) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** The cached answer for `video` (refreshing it when old), or undefined while it is first looked up. */
  private lookup(video: string): Cached | undefined {
    const now = this.now();
    const c = this.cache.get(video);
    if (c && (c.loading || now - c.at < this.ttlMs)) return c.at === 0 ? undefined : c;
    const entry: Cached = c ?? { record: undefined, at: 0, loading: false };
    entry.loading = true;
    if (!c) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(video, entry);
    }
    this.options.store.get(video).then(
      (record) => {
        entry.record = record;
        entry.at = this.now();
        entry.loading = false;
      },
      () => {
        entry.loading = false; // asked again next time; an old answer stays in use
      },
    );
    return entry.at === 0 ? undefined : entry;
  }

  admit(_identity: Identity, room: string): AdmissionVerdict {
    if (!isVideoRoom(room)) return ok;
    const c = this.lookup(room.slice(videoRoomPrefix.length));
    if (c && !c.record) return { ok: false, status: '404 Not Found', reason: 'no_video', message: 'no such video' };
    return ok;
  }

  danmakuPolicy(conn: Conn, danmaku: ValidDanmaku): DanmakuVerdict {
    if (!isVideoRoom(conn.room)) return ok;
    const c = this.lookup(conn.room.slice(videoRoomPrefix.length));
    if (!c) return { ok: false, code: ErrorCode.ERROR_CODE_UNAVAILABLE, message: 'looking the video up; retry', retryAfterMs: 250 };
    if (!c.record) return { ok: false, code: ErrorCode.ERROR_CODE_NOT_FOUND, message: 'no such video' };
    if (!isFinished(c.record)) {
      return { ok: false, code: ErrorCode.ERROR_CODE_FORBIDDEN, message: 'the session is live: send to its room, not to its video' };
    }
    const duration = videoDuration(c.record);
    // [0, duration): the video's last moment is its duration's last millisecond, as the segments cut it.
    if (danmaku.videoMs < 0 || danmaku.videoMs >= duration) {
      return { ok: false, code: ErrorCode.ERROR_CODE_VIDEO_TIME_INVALID, message: `video_ms must be from 0 to ${duration - 1}` };
    }
    return ok;
  }
}
