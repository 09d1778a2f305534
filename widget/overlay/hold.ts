/**
 * Which danmaku the viewer is holding still, and how they chose it: the
 * mouse over it, a tap (touch, pen), or the keyboard (the stage is one tab
 * stop; arrows move between danmaku, Enter goes to the toolbar, Escape lets
 * go). The stage element stays `pointer-events: none` so the video keeps its
 * clicks; only danmaku take the pointer. The browser hit-tests them on
 * pointer events only: nothing here runs per frame (bench/widget measures it).
 */
import type { DanmakuStage, HeldDanmaku } from '../stage.js';

/** The danmaku held now. */
export interface Held extends HeldDanmaku {
  id: string;
  /** Chosen with the keyboard: let go when focus leaves the overlay, not when the pointer does. */
  keyboard: boolean;
}

/** A mouse leaving the danmaku has this long to reach the toolbar. */
const leaveMs = 300;

/** Tracks the held danmaku of one overlay. */
export class HoldController {
  held: Held | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly stageEl: HTMLElement,
    private readonly stage: () => DanmakuStage | undefined,
    /** Called when the held danmaku changes (render the toolbar). */
    private readonly changed: () => void,
    /** The toolbar element, when shown (so a tap on it does not let go). */
    private readonly toolbar: () => Element | null,
  ) {
    stageEl.addEventListener('pointerover', this.onOver);
    stageEl.addEventListener('pointerout', this.onOut);
    stageEl.addEventListener('pointerdown', this.onDown);
    stageEl.addEventListener('keydown', this.onKey);
    stageEl.addEventListener('focus', this.onFocus);
  }

  /** Holds the danmaku `id` (undefined: none), letting go of the one held before. */
  select(id: string | undefined, keyboard = false): void {
    clearTimeout(this.timer);
    if (id === this.held?.id) return;
    const stage = this.stage();
    if (this.held) stage?.release(this.held.id);
    this.held = undefined;
    const h = id ? stage?.hold(id) : undefined;
    if (id && h) this.held = { id, keyboard, ...h };
    if (this.held) document.addEventListener('pointerdown', this.onDocDown, true);
    else document.removeEventListener('pointerdown', this.onDocDown, true);
    this.changed();
  }

  /** Lets go after a moment (the mouse left; it may be on its way to the toolbar). */
  leave(): void {
    clearTimeout(this.timer);
    if (this.held && !this.held.keyboard) this.timer = setTimeout(() => this.select(undefined), leaveMs);
  }

  /** The mouse came back (to the danmaku or the toolbar). */
  stay(): void {
    clearTimeout(this.timer);
  }

  /** Focus left the overlay (or went elsewhere in it than the stage and toolbar). */
  focusLeft(): void {
    if (this.held?.keyboard) this.select(undefined);
  }

  /**
   * Handles an event that arrived before this controller existed (the one
   * that loaded its chunk), as read when it happened: after dispatch an event
   * from a shadow root no longer names its target.
   */
  handle(type: string, target: Element | null, pointerType: string): void {
    const id = this.stage()?.idOf(target);
    if (type === 'focus') {
      if (this.stageEl.matches(':focus')) this.onFocus();
    } else if (id && (pointerType === 'mouse' ? type === 'pointerover' : true)) this.select(id); // a touch's pointerover is its tap
  }

  destroy(): void {
    clearTimeout(this.timer);
    document.removeEventListener('pointerdown', this.onDocDown, true);
  }

  private readonly onOver = (e: PointerEvent): void => {
    const id = this.stage()?.idOf(e.target as Element);
    if (!id) return;
    this.stay();
    if (e.pointerType === 'mouse') this.select(id);
  };

  private readonly onOut = (e: PointerEvent): void => {
    if (e.pointerType === 'mouse') this.leave();
  };

  private readonly onDown = (e: PointerEvent): void => {
    const id = this.stage()?.idOf(e.target as Element);
    if (id && e.pointerType !== 'mouse') this.select(id);
  };

  /** A tap anywhere but the held danmaku and its toolbar lets go (touch has no "leave"). */
  private readonly onDocDown = (e: PointerEvent): void => {
    const path = e.composedPath();
    const bar = this.toolbar();
    if (this.held && !path.includes(this.held.el) && !(bar && path.includes(bar))) this.select(undefined);
  };

  /** Danmaku on screen in reading order: left to right, then top to bottom. */
  private order(): string[] {
    return (this.stage()?.state() ?? []).sort((a, b) => a.x - b.x || a.lane - b.lane).map((s) => s.id);
  }

  private readonly onFocus = (): void => {
    if (!this.held) this.select(this.order()[0], true);
  };

  private readonly onKey = (e: KeyboardEvent): void => {
    const step = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? -1 : 0;
    if (step !== 0) {
      // The held one is taken out of the order by its fixed place; find it by id.
      const ids = this.order();
      const at = this.held ? ids.indexOf(this.held.id) : -1;
      const next = ids[(at + step + ids.length) % Math.max(1, ids.length)];
      this.select(next, true);
      e.preventDefault();
    } else if (e.key === 'Escape') {
      this.select(undefined);
    } else if (e.key === 'Enter' || e.key === ' ') {
      const button = this.toolbar()?.shadowRoot?.querySelector<HTMLElement>('button:not([disabled])');
      if (button) {
        button.focus();
        e.preventDefault();
      }
    }
  };
}
