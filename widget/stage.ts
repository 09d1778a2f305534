/**
 * The danmaku renderer: places each danmaku in a lane so none overlaps
 * another of its lane, and moves it with a Web Animation on `transform`, which
 * the compositor runs without the main thread. The main thread only works
 * when a danmaku arrives (measure with canvas, create one text node, start an
 * animation) and in a sweep four times a second that removes finished ones.
 *
 * Scroll danmaku all move at the same pixel speed, so a danmaku that entered
 * a lane after the previous one's tail can never catch it up: a lane is free
 * once the previous tail plus a gap has entered. Top and bottom danmaku hold
 * their lane for a fixed time. They are separate tracks: a top danmaku may
 * pass over a scroll one, as on every danmaku player, but never over another
 * top one.
 */
import type { Danmaku } from './wire.js';

/** A rectangle the host keeps clear (face-cam, game HUD), as fractions 0..1 of the overlay. */
export interface ExclusionArea {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How the stage draws. */
export interface StageConfig {
  opacity: number;
  fontScale: number;
  speed: number;
  /** Share of the height scroll and top danmaku may use (bottom ones count from the bottom). */
  area: number;
  /** Most danmaku on screen. */
  density: number;
  exclusions: readonly ExclusionArea[];
  fontFamily: string;
}

/** A danmaku on screen, as tests and tools read it. */
export interface StageItemState {
  id: string;
  text: string;
  mode: number;
  lane: number;
  width: number;
  /** Where its left edge is now, in px from the overlay's left. */
  x: number;
}

interface Item {
  id: string;
  text: string;
  mode: number;
  lane: number;
  width: number;
  startAt: number;
  endAt: number;
  /** Scroll speed in px/ms (0 for fixed modes). */
  v: number;
  el: HTMLElement;
  anim: Animation;
}

interface Pending {
  d: Danmaku;
  at: number;
}

const fixedMs = 4_000;
/** A danmaku waits at most this long for a lane, then is dropped (counted in `dropped`). */
const maxWaitMs = 3_000;
const sweepMs = 250;
const sizeFactor = [1, 0.8, 1.25];

/** Places, animates, retracts and removes danmaku inside one container. */
export class DanmakuStage {
  /** Danmaku that found no lane in time (or came over the density cap). */
  dropped = 0;
  private width = 0;
  private height = 0;
  private config: StageConfig;
  private readonly items = new Map<string, Item>();
  private pending: Pending[] = [];
  private scrollFree: number[] = [];
  private scrollLast: string[] = [];
  private fixedFree: number[] = [];
  private usable: boolean[] = [];
  private laneH = 36;
  private base = 24;
  private raf = 0;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private pausedAt = -1;
  private readonly ctx: CanvasRenderingContext2D | null;
  private ctxFont = '';
  private localId = 0;

  constructor(
    private readonly root: HTMLElement,
    config: StageConfig,
  ) {
    this.config = config;
    this.ctx = document.createElement('canvas').getContext('2d');
  }

  /** Applies new settings; danmaku already moving keep their speed and lane. */
  configure(config: StageConfig): void {
    this.config = config;
    this.root.style.opacity = String(config.opacity);
    this.layout();
  }

  /** Sets the stage size in CSS pixels. */
  resize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    this.layout();
  }

  private layout(): void {
    const c = this.config;
    // The font follows the player height so it reads the same on a phone and at 1080p.
    this.base = Math.round(Math.min(32, Math.max(14, this.height / 27)) * c.fontScale);
    this.laneH = Math.ceil(this.base * 1.5);
    const lanes = Math.max(1, Math.floor(this.height / this.laneH));
    this.usable = [];
    for (let i = 0; i < lanes; i++) {
      const top = i * this.laneH;
      this.usable.push(!c.exclusions.some((a) => top < (a.y + a.height) * this.height && top + this.laneH > a.y * this.height));
    }
    while (this.scrollFree.length < lanes) {
      this.scrollFree.push(0);
      this.scrollLast.push('');
      this.fixedFree.push(0);
    }
  }

  /** Scroll speed in px/ms: the width crossed in about 8 s, never under 120 px/s. */
  private speed(): number {
    return (Math.max(120, this.width / 8) * this.config.speed) / 1000;
  }

  /** Queues a danmaku; it appears at the next frame if a lane is free. */
  push(d: Danmaku): void {
    if (this.pausedAt >= 0) return; // hidden: nobody sees it, and a burst on return would flood
    this.pending.push({ d, at: performance.now() });
    if (this.raf === 0) this.raf = requestAnimationFrame(this.flush);
  }

  /** Shows a danmaku that did not come from the server (a preview, a hint). */
  pushLocal(text: string, mode = 0, color = 0xffffff): void {
    const id = 'local-' + ++this.localId;
    this.push({ id, user: undefined, text, mode, color, size: 0, clientMsgId: '', merged: 0 });
  }

  private readonly flush = (): void => {
    this.raf = 0;
    const now = performance.now();
    const rest: Pending[] = [];
    const full = [false, false, false];
    const frag = document.createDocumentFragment();
    const placed: Item[] = [];
    for (const p of this.pending) {
      const mode = p.d.mode <= 2 ? p.d.mode : 0;
      if (now - p.at > maxWaitMs) {
        this.dropped++;
        continue;
      }
      if (full[mode] || this.items.size + placed.length >= this.config.density) {
        full[mode] = true;
        rest.push(p);
        continue;
      }
      const item = this.place(p.d, mode, now);
      if (!item) {
        full[mode] = true;
        rest.push(p);
        continue;
      }
      frag.appendChild(item.el);
      placed.push(item);
    }
    this.pending = rest;
    this.root.appendChild(frag);
    for (const item of placed) {
      item.anim = this.animate(item);
      this.items.set(item.id, item);
    }
    if (this.items.size > 0 && this.sweepTimer === undefined) this.sweepTimer = setInterval(this.sweep, sweepMs);
    if (this.pending.length > 0) this.raf = requestAnimationFrame(this.flush);
  };

  private measure(text: string, px: number): number {
    if (!this.ctx) return text.length * px * 0.6;
    const font = `600 ${px}px ${this.config.fontFamily}`;
    if (font !== this.ctxFont) this.ctx.font = this.ctxFont = font;
    return Math.ceil(this.ctx.measureText(text).width) + 2;
  }

  private place(d: Danmaku, mode: number, now: number): Item | undefined {
    const id = d.id || 'anon-' + ++this.localId;
    const px = Math.round(this.base * (sizeFactor[d.size] ?? 1));
    const text = d.merged > 1 ? `${d.text} ×${d.merged}` : d.text;
    const width = this.measure(text, px);
    const lanes = Math.max(1, Math.floor((this.height * this.config.area) / this.laneH));
    const total = this.usable.length;
    let lane = -1;
    let v = 0;
    if (mode === 0) {
      v = this.speed();
      for (let i = 0; i < lanes && i < total; i++) {
        if (this.usable[i] && (this.scrollFree[i] as number) <= now) {
          lane = i;
          break;
        }
      }
      if (lane < 0) return undefined;
      this.scrollFree[lane] = now + (width + this.base) / v;
      this.scrollLast[lane] = id;
    } else {
      for (let k = 0; k < lanes && k < total; k++) {
        const i = mode === 1 ? k : total - 1 - k;
        if (this.usable[i] && (this.fixedFree[i] as number) <= now) {
          lane = i;
          break;
        }
      }
      if (lane < 0) return undefined;
      this.fixedFree[lane] = now + fixedMs;
    }
    const el = document.createElement('span');
    el.className = isDark(d.color) ? 'd dark' : 'd';
    el.setAttribute('part', 'danmaku');
    el.textContent = text;
    const top = lane * this.laneH + ((this.laneH - px * 1.2) >> 1);
    const left = mode === 0 ? 0 : Math.max(0, (this.width - width) / 2);
    el.style.cssText = `top:${top}px;left:${left}px;font-size:${px}px;color:#${(d.color & 0xffffff).toString(16).padStart(6, '0')}`;
    if (mode === 0) el.style.transform = `translateX(${this.width}px)`;
    const endAt = mode === 0 ? now + (this.width + width) / v : now + fixedMs;
    return { id, text, mode, lane, width, startAt: now, endAt, v, el, anim: undefined as unknown as Animation };
  }

  private animate(item: Item): Animation {
    const duration = item.endAt - item.startAt;
    const anim =
      item.mode !== 0
        ? item.el.animate([{ opacity: 1 }, { opacity: 1 }], { duration, fill: 'forwards' })
        : item.el.animate([{ transform: `translateX(${this.width}px)` }, { transform: `translateX(${-item.width}px)` }], {
            duration,
            easing: 'linear',
            fill: 'forwards',
          });
    // Pin the start to the time the lane maths used. Left alone, an animation starts
    // when its frame is committed, later under load, and a danmaku would run behind
    // its own schedule into the one placed after it.
    anim.startTime = item.startAt;
    return anim;
  }

  private readonly sweep = (): void => {
    if (this.pausedAt >= 0) return;
    const now = performance.now();
    for (const item of this.items.values()) if (item.endAt <= now) this.remove(item);
    if (this.items.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  };

  private remove(item: Item): void {
    item.anim.cancel();
    item.el.remove();
    this.items.delete(item.id);
  }

  /** Takes a danmaku down at once, wherever it is (moderator retraction). */
  retract(id: string): boolean {
    this.pending = this.pending.filter((p) => p.d.id !== id);
    const item = this.items.get(id);
    if (!item) return false;
    this.remove(item);
    // Its lane is free again if nothing entered behind it.
    if (item.mode === 0 && this.scrollLast[item.lane] === id) this.scrollFree[item.lane] = 0;
    if (item.mode !== 0) this.fixedFree[item.lane] = 0;
    return true;
  }

  /** Removes shown danmaku for which `hide` holds (a keyword just blocked). */
  removeWhere(hide: (text: string, mode: number) => boolean): void {
    for (const item of this.items.values()) if (hide(item.text, item.mode)) this.remove(item);
    this.pending = this.pending.filter((p) => !hide(p.d.text, p.d.mode));
  }

  /** Freezes every danmaku where it is (the page or the OBS source is hidden). */
  pause(): void {
    if (this.pausedAt >= 0) return;
    this.pausedAt = performance.now();
    for (const item of this.items.values()) item.anim.pause();
    this.pending = [];
  }

  /** Continues after `pause`, shifting lane times by the paused time. */
  resume(): void {
    if (this.pausedAt < 0) return;
    const shift = performance.now() - this.pausedAt;
    this.pausedAt = -1;
    for (const item of this.items.values()) {
      item.startAt += shift;
      item.endAt += shift;
      item.anim.play();
    }
    for (let i = 0; i < this.scrollFree.length; i++) {
      this.scrollFree[i] = (this.scrollFree[i] as number) + shift;
      this.fixedFree[i] = (this.fixedFree[i] as number) + shift;
    }
  }

  /** Whether the stage is paused. */
  get paused(): boolean {
    return this.pausedAt >= 0;
  }

  /** Removes everything. */
  clear(): void {
    for (const item of this.items.values()) this.remove(item);
    this.pending = [];
    this.scrollFree.fill(0);
    this.fixedFree.fill(0);
  }

  /** Stops timers (the element left the page). */
  destroy(): void {
    this.clear();
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Danmaku on screen and waiting. */
  get size(): { shown: number; waiting: number } {
    return { shown: this.items.size, waiting: this.pending.length };
  }

  /** Where every danmaku is now, computed from the renderer's own timing. */
  state(): StageItemState[] {
    const now = this.pausedAt >= 0 ? this.pausedAt : performance.now();
    const out: StageItemState[] = [];
    for (const i of this.items.values()) {
      const x = i.mode === 0 ? this.width - i.v * (now - i.startAt) : Math.max(0, (this.width - i.width) / 2);
      out.push({ id: i.id, text: i.text, mode: i.mode, lane: i.lane, width: i.width, x });
    }
    return out;
  }
}

/** Dark colours get a light outline, light ones a dark outline, so both read on any video. */
function isDark(color: number): boolean {
  const r = (color >> 16) & 255;
  const g = (color >> 8) & 255;
  const b = color & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b < 60;
}
