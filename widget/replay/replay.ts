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

/** Drives an overlay from a media element and the replay API. */
export class ReplayDriver {
  private segmentMs = 360_000;
  private segments = 1;
  private readonly cache = new Map<number, Promise<ReplayItem[] | undefined>>();
  /** Video time (ms) up to which danmaku were emitted. */
  private emittedTo = -1;
  private raf = 0;
  private stopped = false;
  private readonly fillMs: number;
  private readonly prefetchMs: number;
  private readonly origin: string;
  /** Resolves once the video's length and segments are known. */
  readonly ready: Promise<void>;

  constructor(private readonly options: ReplayOptions) {
    this.fillMs = options.fillMs ?? 10_000;
    this.prefetchMs = options.prefetchMs ?? 30_000;
    this.origin = new URL(options.server.replace(/^ws/, 'http'), location.href).origin;
    const { media } = options;
    media.addEventListener('play', this.onPlay);
    media.addEventListener('pause', this.onPause);
    media.addEventListener('seeked', this.onSeeked);
    media.addEventListener('ratechange', this.onRate);
    this.ready = this.loadInfo().then(() => {
      if (this.stopped) return;
      options.target.rate(media.playbackRate || 1);
      this.fill();
      if (!media.paused) this.onPlay();
    });
  }

  /** Stops following the player. */
  stop(): void {
    this.stopped = true;
    cancelAnimationFrame(this.raf);
    const { media } = this.options;
    media.removeEventListener('play', this.onPlay);
    media.removeEventListener('pause', this.onPause);
    media.removeEventListener('seeked', this.onSeeked);
    media.removeEventListener('ratechange', this.onRate);
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
  private readonly loaded = new Map<number, ReplayItem[]>();
  private itemsOf(n: number): ReplayItem[] | undefined {
    const have = this.loaded.get(n);
    if (have) return have;
    void this.segment(n).then((items) => {
      if (items) this.loaded.set(n, items);
    });
    return undefined;
  }

  private now(): number {
    return this.options.media.currentTime * 1000;
  }

  /** Emits the danmaku with video time in (from, to], each placed by how long ago (wall time) the playhead passed it. */
  private emitRange(from: number, to: number): boolean {
    const rate = this.options.media.playbackRate || 1;
    const first = Math.max(0, Math.floor(Math.max(0, from) / this.segmentMs));
    const last = Math.floor(Math.max(0, to) / this.segmentMs);
    for (let n = first; n <= last; n++) {
      const items = this.itemsOf(n);
      if (!items) return false; // not here yet: try again next frame, from the same point
      for (const it of items) {
        if (it.offsetMs <= from || it.offsetMs > to) continue;
        this.options.target.emit(it.danmaku, (to - it.offsetMs) / rate);
      }
    }
    return true;
  }

  /** After a seek (or at start): what would be on screen at the playhead now. */
  private fill(): void {
    const t = this.now();
    this.options.target.clear();
    this.emittedTo = Math.max(-1, t - this.fillMs);
    this.tick();
  }

  private readonly tick = (): void => {
    this.raf = 0;
    if (this.stopped) return;
    const t = this.now();
    if (t < this.emittedTo || t - this.emittedTo > this.fillMs + jumpMs) {
      // The playhead jumped without a `seeked` (some players): start over from it.
      this.options.target.clear();
      this.emittedTo = Math.max(-1, t - this.fillMs);
    }
    if (this.emitRange(this.emittedTo, t)) this.emittedTo = t;
    // Prefetch the next segment ahead of the playhead.
    const next = Math.floor((t + this.prefetchMs) / this.segmentMs);
    if (next < this.segments) this.itemsOf(next);
    if (!this.options.media.paused) this.raf = requestAnimationFrame(this.tick);
  };

  private readonly onPlay = (): void => {
    this.options.target.resume();
    if (this.raf === 0) this.raf = requestAnimationFrame(this.tick);
  };

  private readonly onPause = (): void => {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.options.target.pause();
  };

  private readonly onSeeked = (): void => {
    const paused = this.options.media.paused;
    if (paused) this.options.target.resume(); // a paused stage takes nothing: fill it, then freeze it again
    this.fill();
    if (paused) {
      // Placed at the next frame; freeze after it so the new screen shows, still.
      requestAnimationFrame(() => requestAnimationFrame(() => this.options.media.paused && this.options.target.pause()));
    }
  };

  private readonly onRate = (): void => {
    this.options.target.rate(this.options.media.playbackRate || 1);
  };
}
