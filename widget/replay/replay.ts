/**
 * Replay mode of `<barrage-overlay video="..." for="player-id">`, loaded
 * lazily (only pages that set `video` download it). It follows an
 * HTMLMediaElement: fetches the video's 6-minute danmaku segments from the
 * replay API (JSON; cached by the browser and any CDN by ETag) ahead of the
 * playhead, emits each danmaku when the playhead reaches its video time,
 * pauses with the player, follows its playbackRate, and after a seek clears
 * the screen and fills it with what would be on it at the new time (each
 * danmaku placed as if it had entered when it was sent, not a burst).
 *
 * Timing: each danmaku is emitted in the frame whose media time is closest
 * to its video time (half a frame ahead at most, so within ± one frame), read
 * from the media clock: `requestVideoFrameCallback`'s `mediaTime` when the
 * element shows video frames, else `currentTime` in an animation frame (an
 * audio-only or not yet decoded player never presents a video frame).
 *
 * The video's socket (`video=`, opened by the overlay like a live room's)
 * brings VOD danmaku others post now: `add` files each at its video time, so
 * it shows when the playhead reaches it (at once if the playhead passed it in
 * the last `lateMs`: the viewer's own, even while paused, or one posted at
 * the moment watched).
 * The connection's `videoTime` is set to the player's, so what the viewer
 * posts carries `video_ms` = `currentTime`.
 *
 * Blocking, settings and reduced motion stay the overlay's: every danmaku
 * goes through its `emit`.
 */
import type { Danmaku } from '../wire.js';
// `<barrage-heatmap>` comes with replay mode: pages that show one replay too.
import '../heatmap/heatmap-element.js';

/** A danmaku of a segment, with its video time. */
export interface ReplayItem {
  offsetMs: number;
  danmaku: Danmaku;
}

/** What the driver drives (the overlay). */
export interface ReplayTarget {
  /** Shows a danmaku that entered `ageMs` (wall time) ago. */
  emit(d: Danmaku, ageMs: number): void;
  clear(): void;
  pause(): void;
  resume(): void;
  /** The player's playback rate changed: danmaku move that much faster. */
  rate(rate: number): void;
  /** Places what `emit` queued now, in this frame. */
  flush(): void;
}

/** Options of the driver. */
export interface ReplayOptions {
  /** The server's WebSocket URL (`wss://host/ws`, as the overlay's `server`) or HTTP origin. */
  server: string;
  video: string;
  media: HTMLMediaElement;
  target: ReplayTarget;
  /** How much video time before the playhead a seek fills the screen with (default 10 s). */
  fillMs?: number;
  /** Fetch the next segment this long before the playhead reaches it (default 30 s). */
  prefetchMs?: number;
  /** The video's connection: its `videoTime` becomes the player's (what the viewer posts is stamped with it). */
  connection?: { videoTime: (() => number) | undefined } | undefined;
  /** VOD danmaku that came over the socket before the driver existed. */
  early?: Danmaku[];
  /** A danmaku from the socket whose time the playhead passed less than this ago shows at once (default 3 s). */
  lateMs?: number;
}

interface SegmentJson {
  danmaku: Array<{
    id: string;
    offset_ms: number;
    text: string;
    mode: number;
    color: number;
    size: number;
    merged: number;
    user: { id: string; name: string; role: number };
  }>;
}

/** A jump of the playhead larger than this between two frames is a seek (also told by `seeked`). */
const jumpMs = 1_500;

/** Inserts `item` in time order unless a danmaku with its id is there; false when it was. */
function insert(items: ReplayItem[], item: ReplayItem): boolean {
  if (items.some((i) => i.danmaku.id === item.danmaku.id)) return false;
  let i = items.length;
  while (i > 0 && (items[i - 1] as ReplayItem).offsetMs > item.offsetMs) i--;
  items.splice(i, 0, item);
  return true;
}

/** Drives an overlay from a media element and the replay API. */
export class ReplayDriver {
  private segmentMs = 360_000;
  private segments = 1;
  private readonly cache = new Map<number, Promise<ReplayItem[] | undefined>>();
  /** Fetched segments' items in time order (with what the socket added). */
  private readonly loaded = new Map<number, ReplayItem[]>();
  /** Socket danmaku of segments not fetched yet: merged in when they are. */
  private readonly added = new Map<number, ReplayItem[]>();
  /** Video time (ms) up to which danmaku were emitted. */
  private emittedTo = -1;
  /** The pending frame callback (animation frame, or video frame when `videoFrames`), 0 for none. */
  private raf = 0;
  private videoFrames = false;
  /** Wall time of the last frame and the frame duration seen (ms, smoothed). */
  private lastFrame = 0;
  private frameMs = 1000 / 60;
  private stopped = false;
  /** The video's segments are known (frames may run). */
  private started = false;
  private readonly fillMs: number;
  private readonly prefetchMs: number;
  private readonly lateMs: number;
  private readonly origin: string;
  private readonly videoTime = (): number => this.options.media.currentTime * 1000;
  /** Resolves once the video's length and segments are known. */
  readonly ready: Promise<void>;

  constructor(private readonly options: ReplayOptions) {
    this.fillMs = options.fillMs ?? 10_000;
    this.prefetchMs = options.prefetchMs ?? 30_000;
    this.lateMs = options.lateMs ?? 3_000;
    this.origin = new URL(options.server.replace(/^ws/, 'http'), location.href).origin;
    const { media } = options;
    if (options.connection) options.connection.videoTime = this.videoTime;
    media.addEventListener('play', this.onPlay);
    media.addEventListener('pause', this.onPause);
    media.addEventListener('seeked', this.onSeeked);
    media.addEventListener('ratechange', this.onRate);
    this.ready = this.loadInfo().then(() => {
      if (this.stopped) return;
      this.started = true;
      for (const d of options.early ?? []) this.add(d);
      options.target.rate(media.playbackRate || 1);
      this.fill();
      if (!media.paused) this.onPlay();
    });
  }

  /** Stops following the player. */
  stop(): void {
    this.stopped = true;
    this.cancelFrame();
    const { media, connection } = this.options;
    if (connection?.videoTime === this.videoTime) connection.videoTime = undefined;
    media.removeEventListener('play', this.onPlay);
    media.removeEventListener('pause', this.onPause);
    media.removeEventListener('seeked', this.onSeeked);
    media.removeEventListener('ratechange', this.onRate);
  }

  /**
   * A VOD danmaku from the video's socket: shown when the playhead reaches its
   * time, or now if it passed it less than `lateMs` ago; a later one waits for
   * the next time the viewer plays past it.
   */
  add(d: Danmaku): void {
    const item = { offsetMs: d.offsetMs ?? 0, danmaku: d };
    const n = Math.floor(item.offsetMs / this.segmentMs);
    const items = this.loaded.get(n) ?? this.added.get(n) ?? [];
    if (!this.loaded.has(n)) this.added.set(n, items);
    if (!insert(items, item)) return;
    const late = this.emittedTo - item.offsetMs;
    if (late < 0 || late >= this.lateMs) return;
    // Paused (the viewer paused to write it): shown all the same, on the frozen screen.
    const paused = this.options.media.paused;
    if (paused) this.options.target.resume();
    this.options.target.emit(d, late / (this.options.media.playbackRate || 1));
    this.options.target.flush();
    if (paused) this.freezeSoon();
  }

  /** Freezes the stage again after the next frame has shown what was just placed (if the player is still paused). */
  private freezeSoon(): void {
    requestAnimationFrame(() => requestAnimationFrame(() => this.options.media.paused && this.options.target.pause()));
  }

  /** A retracted danmaku: never replayed again (the screen is the overlay's). */
  retract(id: string): void {
    for (const map of [this.loaded, this.added]) {
      for (const items of map.values()) {
        const i = items.findIndex((it) => it.danmaku.id === id);
        if (i >= 0) items.splice(i, 1);
      }
    }
  }

  private url(path: string): string {
    return `${this.origin}/api/v1/videos/${encodeURIComponent(this.options.video)}${path}`;
  }

  private async loadInfo(): Promise<void> {
    const res = await fetch(this.url(''));
    if (!res.ok) throw new Error(`video ${this.options.video}: ${res.status}`);
    const info = (await res.json()) as { segment_ms: number; segments: number };
    this.segmentMs = info.segment_ms;
    this.segments = info.segments;
  }

  /** A segment's danmaku in video-time order, fetched once; undefined when the fetch failed (asked again 2 s later). */
  private segment(n: number): Promise<ReplayItem[] | undefined> {
    if (n < 0 || n >= this.segments) return Promise.resolve([]);
    let p = this.cache.get(n);
    if (!p) {
      p = fetch(this.url(`/danmaku?segment=${n}`), { headers: { accept: 'application/json' } })
        .then(async (res) => {
          if (!res.ok) throw new Error(String(res.status));
          const body = (await res.json()) as SegmentJson;
          return body.danmaku.map((d) => ({
            offsetMs: d.offset_ms,
            danmaku: {
              id: d.id,
              user: { ...d.user, badges: [], medal: undefined },
              text: d.text,
              mode: d.mode,
              color: d.color,
              size: d.size,
              clientMsgId: '',
              merged: d.merged,
            },
          }));
        })
        .catch(() => {
          setTimeout(() => this.cache.delete(n), 2_000);
          return undefined;
        });
      this.cache.set(n, p);
    }
    return p;
  }

  /** The segment's items if fetched already, else undefined (and the fetch is started). */
  private itemsOf(n: number): ReplayItem[] | undefined {
    const have = this.loaded.get(n);
    if (have) return have;
    void this.segment(n).then((items) => {
      if (!items || this.loaded.has(n)) return;
      // What the socket brought meanwhile (the segment may predate it: CDN caches, the analytics sink's delay).
      for (const it of this.added.get(n) ?? []) insert(items, it);
      this.added.delete(n);
      this.loaded.set(n, items);
    });
    return undefined;
  }

  /** Emits the danmaku with video time in (from, to], each placed by how long ago (wall time) the playhead `at` passed it. */
  private emitRange(from: number, to: number, at: number): boolean {
    const rate = this.options.media.playbackRate || 1;
    const first = Math.max(0, Math.floor(Math.max(0, from) / this.segmentMs));
    const last = Math.floor(Math.max(0, to) / this.segmentMs);
    for (let n = first; n <= last; n++) {
      const items = this.itemsOf(n);
      if (!items) return false; // not here yet: try again next frame, from the same point
      for (const it of items) {
        if (it.offsetMs <= from || it.offsetMs > to) continue;
        this.options.target.emit(it.danmaku, (at - it.offsetMs) / rate);
      }
    }
    return true;
  }

  /** After a seek (or at start): what would be on screen at the playhead now. */
  private fill(): void {
    const t = this.videoTime();
    this.options.target.clear();
    this.emittedTo = Math.max(-1, t - this.fillMs);
    this.frame(t);
  }

  /**
   * One frame at media time `t` (ms): emits what is due by the middle of the
   * next frame (so each danmaku lands in the frame nearest its time) and
   * places it in this frame.
   */
  private frame(t: number): void {
    if (this.stopped) return;
    const to = t + (this.frameMs / 2) * (this.options.media.playbackRate || 1);
    if (to + jumpMs < this.emittedTo || to - this.emittedTo > this.fillMs + jumpMs) {
      // The playhead jumped without a `seeked` (some players): start over from it.
      this.options.target.clear();
      this.emittedTo = Math.max(-1, t - this.fillMs);
    }
    if (this.emitRange(this.emittedTo, to, t)) this.emittedTo = to;
    this.options.target.flush();
    // Prefetch the next segment ahead of the playhead.
    const next = Math.floor((t + this.prefetchMs) / this.segmentMs);
    if (next < this.segments) this.itemsOf(next);
    if (!this.options.media.paused) this.nextFrame();
  }

  /** Asks for the next frame: a video frame when the player presents them (its media time is exact), else an animation frame. */
  private nextFrame(): void {
    if (this.raf !== 0) return;
    const v = this.options.media as HTMLVideoElement;
    this.videoFrames = typeof v.requestVideoFrameCallback === 'function' && v.videoWidth > 0;
    this.raf = this.videoFrames ? v.requestVideoFrameCallback(this.onVideoFrame) : requestAnimationFrame(this.onAnimationFrame);
  }

  private cancelFrame(): void {
    if (this.raf === 0) return;
    if (this.videoFrames) (this.options.media as HTMLVideoElement).cancelVideoFrameCallback(this.raf);
    else cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  /** Measures the frame duration from consecutive frame callbacks (a gap of 100 ms or more is a stall, not a frame). */
  private measure(now: number): void {
    const gap = now - this.lastFrame;
    this.lastFrame = now;
    if (gap > 0 && gap < 100) this.frameMs += (gap - this.frameMs) / 8;
  }

  private readonly onAnimationFrame = (now: number): void => {
    this.raf = 0;
    this.measure(now);
    this.frame(this.videoTime());
  };

  private readonly onVideoFrame = (now: number, meta: VideoFrameCallbackMetadata): void => {
    this.raf = 0;
    this.measure(now);
    this.frame(meta.mediaTime * 1000);
  };

  private readonly onPlay = (): void => {
    this.options.target.resume();
    this.nextFrame();
  };

  private readonly onPause = (): void => {
    this.cancelFrame();
    // Catch up to where the playhead stopped (it moved since the last frame), so what is posted now at this time counts as passed.
    if (this.started) this.frame(this.videoTime());
    this.options.target.pause();
  };

  private readonly onSeeked = (): void => {
    const paused = this.options.media.paused;
    if (paused) this.options.target.resume(); // a paused stage takes nothing: fill it, then freeze it again
    this.cancelFrame();
    this.fill();
    if (paused) this.freezeSoon();
  };

  private readonly onRate = (): void => {
    this.options.target.rate(this.options.media.playbackRate || 1);
  };
}
