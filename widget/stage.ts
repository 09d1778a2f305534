/**
 * The danmaku renderer: places each danmaku in a lane so none overlaps
 * another of its lane. Scroll danmaku do not move one by one: each lane is a
 * "belt", one element moved by one long Web Animation on `transform` that the
 * compositor runs, and a danmaku is put on the belt at the spot that is at the
 * right edge now. So the screen has one animated layer per lane (about 40 at
 * 1080p), not one per danmaku (1,000): with a layer per danmaku Chromium spent
 * 25 ms per style recalc and most of each frame compositing them. The main
 * thread works only when a danmaku arrives (measure with canvas, create one
 * text node) and in a sweep four times a second that removes finished ones.
 *
 * Scroll danmaku all move at the same pixel speed, so a danmaku that entered
 * a lane after the previous one's tail can never catch it up: a lane is free
 * once the previous tail plus a gap has entered. Top and bottom danmaku hold
 * their lane for a fixed time. They are separate tracks: a top danmaku may
 * pass over a scroll one, as on every danmaku player, but never over another
 * top one.
 */
import { cssColor } from './text.js';
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
  /** Held still under the pointer or the keyboard (`hold`). */
  held: boolean;
}

/** A danmaku held still, as the actions toolbar needs it. */
export interface HeldDanmaku {
  danmaku: Danmaku;
  el: HTMLElement;
}

interface Belt {
  el: HTMLElement;
  anim: Animation;
  /** When its offset was 0 (performance.now() time). */
  start: number;
  /** px/ms. */
  v: number;
  count: number;
  retired: boolean;
}

interface Item {
  id: string;
  d: Danmaku;
  /** Top within its lane (px). */
  offset: number;
  /** Held still: its left (px) for a scroll danmaku, the time it had left for a fixed one; -1 when moving. */
  heldX: number;
  heldLeft: number;
  /** The sender's user id ('' when none), for a block made while it flies. */
  user: string;
  text: string;
  mode: number;
  lane: number;
  width: number;
  startAt: number;
  endAt: number;
  /** Scroll speed in px/ms (0 for fixed modes). */
  v: number;
  el: HTMLElement;
  belt: Belt | undefined;
}

interface Pending {
  d: Danmaku;
  at: number;
  /** Placed as if it had entered this many ms before it is placed (replay after a seek). */
  age: number;
}

const fixedMs = 4_000;
/** A danmaku waits at most this long for a lane, then is dropped (counted in `dropped`). */
const maxWaitMs = 3_000;
const sweepMs = 250;
const sizeFactor = [1, 0.8, 1.25];
/** A belt runs for an hour (864,000 px at 240 px/s, far inside layout's range)... */
const beltMs = 3_600_000;
/** ...and takes new danmaku for 50 minutes; then a fresh belt starts in its lane. */
const beltFillMs = 3_000_000;

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
  private belts: Array<Belt | undefined> = [];
  private lastV = 0;
  private readonly allBelts = new Set<Belt>();
  /**
   * Draws a danmaku that is more than text (image emotes, badges), set by the
   * overlay: its nodes and width in px; undefined draws the text as one text
   * node, as nearly all are. Text parts are measured with `measure`.
   */
  content:
    ((d: Danmaku, text: string, px: number, measure: (s: string) => number) => { nodes: Node[]; width: number } | undefined) | undefined;
  /** Danmaku element to id, for pointer events (hit-testing is the browser's, on events only). */
  private readonly byEl = new WeakMap<Element, string>();

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
    // A new speed (new width or setting) could let a new danmaku catch an old one in
    // its lane: keep each lane closed until what is on it has left.
    const v = this.speed();
    if (v !== this.lastV) {
      for (const item of this.items.values()) {
        if (item.mode === 0) this.scrollFree[item.lane] = Math.max(this.scrollFree[item.lane] ?? 0, item.endAt);
      }
      this.lastV = v;
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

  /**
   * Queues a danmaku; it appears at the next frame if a lane is free. With
   * `ageMs` it is placed where it would be had it entered that long ago (a
   * replay filling the screen after a seek: lanes as they would be, not a
   * burst at the right edge); one that would be gone by then is not shown.
   */
  push(d: Danmaku, ageMs = 0): void {
    if (this.pausedAt >= 0) return; // hidden: nobody sees it, and a burst on return would flood
    this.pending.push({ d, at: performance.now(), age: Math.max(0, ageMs) });
    if (this.raf === 0) this.raf = requestAnimationFrame(this.flush);
  }

  /** Places what is queued now, in this frame (replay emits from its own frame callback). */
  flushNow(): void {
    cancelAnimationFrame(this.raf);
    this.flush();
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
    for (const p of this.pending) {
      const mode = p.d.mode <= 2 ? p.d.mode : 0;
      if (now - p.at > maxWaitMs) {
        this.dropped++;
        continue;
      }
      if (full[mode] || this.items.size >= this.config.density) {
        full[mode] = true;
        rest.push(p);
        continue;
      }
      // A danmaku that waited for a lane entered that much later than it was meant to.
      const item = this.place(p.d, mode, now, Math.max(0, p.age - (now - p.at)));
      if (item === null) continue; // it would have left the screen by now
      if (!item) {
        full[mode] = true;
        rest.push(p);
        continue;
      }
      this.items.set(item.id, item);
    }
    this.pending = rest;
    if (this.items.size > 0 && this.sweepTimer === undefined) this.sweepTimer = setInterval(this.sweep, sweepMs);
    if (this.pending.length > 0) this.raf = requestAnimationFrame(this.flush);
  };

  private measure(text: string, px: number): number {
    if (!this.ctx) return text.length * px * 0.6;
    const font = `600 ${px}px ${this.config.fontFamily}`;
    if (font !== this.ctxFont) this.ctx.font = this.ctxFont = font;
    return Math.ceil(this.ctx.measureText(text).width) + 2;
  }

  /** The placed item; undefined when no lane is free; null when, entered `age` ms ago, it would be gone already. */
  private place(d: Danmaku, mode: number, placedAt: number, age = 0): Item | undefined | null {
    // `now` is when it entered: `age` ms before it is placed.
    const now = placedAt - age;
    const id = d.id || 'anon-' + ++this.localId;
    const px = Math.round(this.base * (sizeFactor[d.size] ?? 1));
    const text = d.merged > 1 ? `${d.text} ×${d.merged}` : d.text;
    const rich = this.content?.(d, text, px, (s) => this.measure(s, px));
    const width = rich ? rich.width : this.measure(text, px);
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
    if ((mode === 0 ? now + (this.width + width) / v : now + fixedMs) <= placedAt) return null;
    const el = document.createElement('span');
    el.className = (mode === 0 ? 'd' : 'd f') + (isDark(d.color) ? ' dark' : '');
    el.setAttribute('part', 'danmaku');
    if (rich) el.append(...rich.nodes);
    else el.textContent = text;
    const offset = (this.laneH - px * 1.2) >> 1;
    const color = `color:${cssColor(d.color)}`;
    let belt: Belt | undefined;
    if (mode === 0) {
      belt = this.belt(lane, v, now);
      // The spot on the belt that is at the right edge now.
      el.style.cssText = `top:${offset}px;left:${this.width + v * (now - belt.start)}px;font-size:${px}px;${color}`;
      belt.el.appendChild(el);
      belt.count++;
    } else {
      const left = Math.max(0, (this.width - width) / 2);
      el.style.cssText = `top:${lane * this.laneH + offset}px;left:${left}px;font-size:${px}px;${color}`;
      this.root.appendChild(el);
    }
    const endAt = mode === 0 ? now + (this.width + width) / v : now + fixedMs;
    this.byEl.set(el, id);
    return { id, d, offset, heldX: -1, heldLeft: 0, user: d.user?.id ?? '', text, mode, lane, width, startAt: now, endAt, v, el, belt };
  }

  /** The lane's belt moving at `v`, started when needed. */
  private belt(lane: number, v: number, now: number): Belt {
    const current = this.belts[lane];
    if (current && current.v === v && now - current.start < beltFillMs) return current;
    if (current) this.retire(current);
    const el = document.createElement('div');
    el.className = 'belt';
    el.style.top = `${lane * this.laneH}px`;
    this.root.appendChild(el);
    const anim = el.animate([{ transform: 'translateX(0)' }, { transform: `translateX(${-v * beltMs}px)` }], {
      duration: beltMs,
      easing: 'linear',
    });
    // Pinned to the time the lane maths use; left alone, an animation starts when its
    // frame is committed, later under load, and danmaku would run behind schedule.
    anim.startTime = now;
    const belt: Belt = { el, anim, start: now, v, count: 0, retired: false };
    if (this.pausedAt >= 0) anim.pause();
    this.belts[lane] = belt;
    this.allBelts.add(belt);
    return belt;
  }

  private retire(belt: Belt): void {
    belt.retired = true;
    if (belt.count === 0) this.dropBelt(belt);
  }

  private dropBelt(belt: Belt): void {
    belt.anim.cancel();
    belt.el.remove();
    this.allBelts.delete(belt);
    const i = this.belts.indexOf(belt);
    if (i >= 0) this.belts[i] = undefined;
  }

  private readonly sweep = (): void => {
    if (this.pausedAt >= 0) return;
    const now = performance.now();
    for (const item of this.items.values()) if (item.endAt <= now && item.heldX < 0) this.remove(item);
    if (this.items.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  };

  private remove(item: Item): void {
    item.el.remove();
    this.items.delete(item.id);
    this.offBelt(item);
  }

  private offBelt(item: Item): void {
    const belt = item.belt;
    item.belt = undefined;
    if (belt && --belt.count === 0 && (belt.retired || this.pending.length === 0)) this.dropBelt(belt);
  }

  /** The id of the danmaku `el` is (or is inside), if it is on this stage. */
  idOf(el: Element | null): string | undefined {
    const d = el?.closest('.d');
    return d ? this.byEl.get(d) : undefined;
  }

  /**
   * Holds one danmaku still where it is now; the rest keep moving. A scroll
   * danmaku leaves its lane's belt for a fixed place (so only it stops); a
   * top or bottom one stops counting down and keeps its lane.
   */
  hold(id: string): HeldDanmaku | undefined {
    const item = this.items.get(id);
    if (!item) return undefined;
    if (item.heldX < 0) {
      const now = this.pausedAt >= 0 ? this.pausedAt : performance.now();
      if (item.mode === 0) {
        item.heldX = this.width - item.v * (now - item.startAt);
        this.offBelt(item);
        item.el.style.left = `${item.heldX}px`;
        item.el.style.top = `${item.lane * this.laneH + item.offset}px`;
        this.root.appendChild(item.el);
      } else {
        item.heldX = Math.max(0, (this.width - item.width) / 2);
        item.heldLeft = Math.max(0, item.endAt - now);
        this.fixedFree[item.lane] = Infinity;
      }
      item.el.classList.add('held');
    }
    return { danmaku: item.d, el: item.el };
  }

  /** Lets a held danmaku go on from where it was held (a scroll one re-enters its lane's belt there). */
  release(id: string): void {
    const item = this.items.get(id);
    if (!item || item.heldX < 0) return;
    const now = performance.now();
    item.el.classList.remove('held');
    if (item.mode === 0) {
      item.startAt = now - (this.width - item.heldX) / item.v;
      item.endAt = item.startAt + (this.width + item.width) / item.v;
      const belt = this.belt(item.lane, item.v, now);
      item.el.style.left = `${item.heldX + belt.v * (now - belt.start)}px`;
      item.el.style.top = `${item.offset}px`;
      belt.el.appendChild(item.el);
      belt.count++;
      item.belt = belt;
    } else {
      // At least a second more, so a danmaku read to its end does not vanish on release.
      item.endAt = now + Math.max(1_000, item.heldLeft);
      this.fixedFree[item.lane] = item.endAt;
    }
    item.heldX = -1;
    if (this.sweepTimer === undefined) this.sweepTimer = setInterval(this.sweep, sweepMs);
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

  /** Removes shown and waiting danmaku for which `hide` holds (a keyword or sender just blocked). */
  removeWhere(hide: (text: string, mode: number, userId: string) => boolean): void {
    for (const item of this.items.values()) if (hide(item.text, item.mode, item.user)) this.remove(item);
    this.pending = this.pending.filter((p) => !hide(p.d.text, p.d.mode, p.d.user?.id ?? ''));
  }

  /** Freezes every danmaku where it is (the page or the OBS source is hidden). */
  pause(): void {
    if (this.pausedAt >= 0) return;
    this.pausedAt = performance.now();
    for (const belt of this.allBelts) belt.anim.pause();
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
    }
    for (const belt of this.allBelts) {
      belt.start += shift;
      belt.anim.play();
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
    this.pending = [];
    for (const item of this.items.values()) this.remove(item);
    for (const belt of [...this.allBelts]) this.dropBelt(belt);
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
      const held = i.heldX >= 0;
      const x = held ? i.heldX : i.mode === 0 ? this.width - i.v * (now - i.startAt) : Math.max(0, (this.width - i.width) / 2);
      out.push({ id: i.id, text: i.text, mode: i.mode, lane: i.lane, width: i.width, x, held });
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
