/**
 * `<barrage-overlay>`: danmaku over a video (or alone, transparent, in OBS),
 * with gift alerts and combos, pinned super chats, the like and online
 * counters, the session's top gifters (`top-gifters="N"`), "+N more" when the server thinned chat, viewer settings and a
 * screen-reader mirror. Danmaku are drawn by `DanmakuStage` outside Lit's
 * render (one text node each, moved by the compositor).
 */
import { css, html, nothing } from 'lit';
import { WireReader, WireWriter } from '../../proto/wire.js';
import type { PropertyValues, TemplateResult } from 'lit';
import { RoomElement } from '../room-element.js';
import { defaultServerUrl } from '../connection.js';
import { DanmakuStage } from '../stage.js';
import type { ExclusionArea, StageItemState } from '../stage.js';
import { loadSettings, normalizeSettings, saveSettings } from '../settings.js';
import type { Settings } from '../settings.js';
import { BlockList } from '../block.js';
import type { HoldController } from './hold.js';
import { EmoteSet, emoteImage, loadEmotes } from '../emotes.js';
import { identityNodes } from '../identity.js';
import { Role } from '../wire.js';
import { cssColor, displayText, emit } from '../text.js';
import type { Danmaku, Gift, Leaderboard, SuperChat, Welcome, WireEvent } from '../wire.js';
import { overlayStyles } from './overlay.styles.js';
import type { PlayCards } from '../plays/play-cards.js';
import type { ReplayDriver } from '../replay/replay.js';

interface GiftAlert {
  key: string;
  gift: Gift;
  combo: number;
  until: number;
  bump: number;
}
interface PinnedChat {
  chat: SuperChat;
  until: number;
  ms: number;
}

const giftAlertMs = 4_000;
const maxGiftAlerts = 4;
const maxSuperChats = 3;
const skippedShownMs = 3_000;
const logSize = 30;
const reducedListSize = 6;
/** History older than this is not flown across the video on a resume. */
const flyHistoryMs = 10_000;

/** The danmaku overlay element. */
export class BarrageOverlay extends RoomElement {
  static override styles = overlayStyles;
  static override properties = {
    ...RoomElement.properties,
    storage: { type: String },
    controls: { type: Boolean, reflect: true },
    reducedMotion: { type: String, attribute: 'reduced-motion' },
    topGifters: { type: Number, attribute: 'top-gifters' },
    settings: { attribute: false },
    exclusions: { attribute: false },
    playerFor: { type: String, attribute: 'for' },
    player: { attribute: false },
  };

  /** `local` remembers settings in localStorage; `none` uses `settings` only (the OBS page). */
  storage: 'local' | 'none' = 'local';
  /** Shows the settings button. */
  controls = false;
  /** `auto` follows the viewer's `prefers-reduced-motion`; `reduce` or `no-preference` force it. */
  reducedMotion: 'auto' | 'reduce' | 'no-preference' = 'auto';
  /** Viewer settings (set it to replace them; changes are saved when `storage` is `local`). */
  settings: Settings = loadSettings();
  /** Areas danmaku keep clear of, as fractions of the overlay. */
  exclusions: ExclusionArea[] = [];
  /** How many of the live session's top gifters to show in a corner; 0 shows none. */
  topGifters = 0;
  /** The id of the `<video>` (or `<audio>`) element replay follows (`for` attribute). */
  playerFor = '';
  /** The media element replay follows (instead of `for`). */
  player: HTMLMediaElement | undefined;
  private replay: ReplayDriver | undefined;
  /** Replay mode: VOD danmaku that came over the socket before the replay chunk loaded. */
  private early: Danmaku[] = [];
  private replayRate = 1;

  /** Online connections in the room, -1 before the first count. */
  online = -1;
  /** Room like total, -1 before the first count. */
  likes = -1;
  /** The latest gift leaderboard of the live session (core pushes it as gifts arrive). */
  leaderboard: Leaderboard | undefined;
  private stage: DanmakuStage | undefined;
  private gifts: GiftAlert[] = [];
  private superChats: PinnedChat[] = [];
  private pinned: { text: string; until: number } | undefined;
  private notice: { text: string; until: number } | undefined;
  private skip = { count: 0, until: 0 };
  private reducedList: string[] = [];
  private settingsOpen = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private resizeObserver: ResizeObserver | undefined;
  private readonly motionQuery = matchMedia('(prefers-reduced-motion: reduce)');
  private logEl: HTMLElement | undefined;
  private hold: HoldController | undefined;
  private emotes = new EmoteSet([]);
  /** The actions toolbar's chunk has loaded. */
  private actionsReady = false;
  private blocks = new BlockList(this.settings);
  /** Danmaku the viewer's block list hid this session ("+N hidden"). */
  hiddenCount = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.onVisibility);
    this.motionQuery.addEventListener('change', this.onMotion);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.plays?.stop();
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.motionQuery.removeEventListener('change', this.onMotion);
    this.resizeObserver?.disconnect();
    this.hold?.destroy();
    this.hold = undefined;
    this.replay?.stop();
    this.replay = undefined;
    this.stage?.destroy();
    this.stage = undefined;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Whether danmaku are shown as a static list instead of moving. */
  get reduced(): boolean {
    return this.reducedMotion === 'reduce' || (this.reducedMotion === 'auto' && this.motionQuery.matches);
  }

  /** Whether the overlay is paused because the page (or OBS source) is hidden. */
  get paused(): boolean {
    return this.stage?.paused ?? false;
  }

  protected override firstUpdated(): void {
    const stageEl = this.renderRoot.querySelector('.stage') as HTMLElement;
    this.logEl = this.renderRoot.querySelector('[role=log]') as HTMLElement;
    this.stage = new DanmakuStage(stageEl, this.stageConfig());
    this.stage.content = this.danmakuContent;
    this.stage.resize(this.clientWidth, this.clientHeight);
    this.stage.configure(this.stageConfig());
    this.resizeObserver = new ResizeObserver(() => this.stage?.resize(this.clientWidth, this.clientHeight));
    this.resizeObserver.observe(this);
    // The hold controller and the toolbar are a lazy chunk, loaded on the first hover, tap or focus.
    for (const type of ['pointerover', 'pointerdown', 'focus']) stageEl.addEventListener(type, this.loadTools, { once: true });
    this.addEventListener('focusout', this.onFocusOut);
    this.onVisibility();
    this.bindReplay();
  }

  /** Replay mode: loads the replay driver (a lazy chunk) and binds it to the player. */
  private bindReplay(): void {
    this.replay?.stop();
    this.replay = undefined;
    const media = this.player ?? (this.playerFor ? document.getElementById(this.playerFor) : null);
    if (!this.video || !(media instanceof HTMLMediaElement) || !this.stage) return;
    const video = this.video;
    void import('../replay/replay.js').then(({ ReplayDriver }) => {
      if (this.video !== video || this.replay || !this.stage) return;
      this.replay = new ReplayDriver({
        server: this.server || defaultServerUrl(),
        video,
        media,
        connection: this.conn,
        early: this.early.splice(0),
        target: {
          flush: () => this.stage?.flushNow(),
          emit: (d, ageMs) => this.onDanmaku(d, true, ageMs),
          clear: () => this.stage?.clear(),
          pause: () => this.stage?.pause(),
          resume: () => this.stage?.resume(),
          rate: (rate) => {
            this.replayRate = rate;
            this.stage?.configure(this.stageConfig());
          },
        },
      });
    });
  }

  private readonly loadTools = (first: Event): void => {
    const stageEl = this.renderRoot.querySelector('.stage') as HTMLElement;
    for (const type of ['pointerover', 'pointerdown', 'focus']) stageEl.removeEventListener(type, this.loadTools);
    const target = first.target as Element | null;
    const pointerType = (first as PointerEvent).pointerType ?? '';
    import('../tools.js').then(
      ({ HoldController }) => {
        if (this.hold || !this.stage) return;
        this.hold = new HoldController(
          stageEl,
          () => this.stage,
          () => this.onHoldChange(),
          () => this.renderRoot.querySelector('barrage-danmaku-actions'),
        );
        this.actionsReady = true;
        // The event that asked for the chunk, handled now (a pointer still over a danmaku holds it).
        this.hold.handle(first.type, target, pointerType);
      },
      // Offline: try again on the next hover.
      () => {
        for (const type of ['pointerover', 'pointerdown', 'focus']) stageEl.addEventListener(type, this.loadTools, { once: true });
      },
    );
  };

  private onHoldChange(): void {
    this.renderRoot.querySelector('barrage-danmaku-actions')?.reset();
    this.requestUpdate();
  }

  private readonly onFocusOut = (e: FocusEvent): void => {
    const to = e.relatedTarget as Node | null;
    const bar = this.renderRoot.querySelector('barrage-danmaku-actions');
    const stageEl = this.renderRoot.querySelector('.stage');
    if (!to || !(to === stageEl || to === bar || bar?.shadowRoot?.contains(to))) this.hold?.focusLeft();
  };

  private readonly onBlockUser = (e: CustomEvent<{ id: string; name: string }>): void => {
    e.stopPropagation();
    this.applySettings({ blockedUsers: [...this.settings.blockedUsers, e.detail] });
    // Leave the answer ("Blocked X") up for a moment; the danmaku itself is gone already.
    setTimeout(() => this.hold?.select(undefined), 1_500);
  };

  /** Escape in the toolbar lets go and returns focus to the stage (focused first, so it does not hold another). */
  private readonly onToolbarKey = (e: KeyboardEvent): void => {
    if (e.key !== 'Escape') return;
    (this.renderRoot.querySelector('.stage') as HTMLElement | null)?.focus();
    this.hold?.select(undefined);
  };

  /** The toolbar of the held danmaku, placed under it (over it near the bottom). */
  private renderActions(): TemplateResult | typeof nothing {
    const held = this.hold?.held;
    if (!held || !this.actionsReady) return nothing;
    const box = this.getBoundingClientRect();
    const r = held.el.getBoundingClientRect();
    const below = r.bottom - box.top + 2;
    const top = below + 40 > box.height ? Math.max(0, r.top - box.top - 40) : below;
    const left = Math.max(0, Math.min(r.left - box.left, box.width - 320));
    const w = this.welcomed;
    return html`<barrage-danmaku-actions
      style="top:${top}px;left:${left}px"
      .danmaku=${held.danmaku}
      .connection=${this.conn}
      .tr=${this.tr}
      .canSend=${w !== undefined && w.role !== Role.Guest && this.conn?.state === 'open'}
      @pointerenter=${() => this.hold?.stay()}
      @pointerleave=${(e: PointerEvent) => e.pointerType === 'mouse' && this.hold?.leave()}
      @barrage-block-user=${this.onBlockUser}
      @keydown=${this.onToolbarKey}
    ></barrage-danmaku-actions>`;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (this.stage && (changed.has('video') || changed.has('playerFor') || changed.has('player'))) this.bindReplay();
    if (changed.has('settings') || changed.has('exclusions')) {
      this.settings = normalizeSettings(this.settings);
      this.blocks = new BlockList(this.settings);
      this.stage?.configure(this.stageConfig());
      this.stage?.removeWhere((text, mode, user) => this.isBlocked(text, mode, user));
      if (!this.settings.enabled) this.stage?.clear();
    }
  }

  private stageConfig() {
    const s = this.settings;
    const family = getComputedStyle(this).fontFamily || 'sans-serif';
    return { ...s, speed: s.speed * this.replayRate, exclusions: this.exclusions, fontFamily: family };
  }

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'hidden') this.stage?.pause();
    else this.stage?.resume();
  };

  private readonly onMotion = (): void => this.requestUpdate();

  override welcome(welcome: Welcome): void {
    super.welcome(welcome);
    const url = this.conn?.url;
    if (url && this.emotes.empty)
      void loadEmotes(url).then((set) => {
        this.emotes = set;
      });
  }

  /** Emotes as images and, when the viewer asked for them, badges in front: for the few danmaku that have either. */
  private readonly danmakuContent = (d: Danmaku, text: string, px: number, measure: (s: string) => number) => {
    const user = d.user;
    const badges = this.settings.danmakuBadges && user !== undefined && (user.badges.length > 0 || user.medal !== undefined);
    const parts = this.emotes.empty ? undefined : this.emotes.parts(text);
    if (!badges && (!parts || (parts.length === 1 && typeof parts[0] === 'string'))) return undefined;
    const nodes: Node[] = badges ? identityNodes(user, this.tr) : [];
    // Badges are labels at 0.55 em (overlay.styles.ts) with 0.5 em of padding and margin.
    let width = 0;
    for (const n of nodes) width += measure(n.textContent ?? '') * 0.55 + px * 0.5;
    for (const part of parts ?? [text]) {
      if (typeof part === 'string') {
        nodes.push(document.createTextNode(part));
        width += measure(part);
      } else {
        const img = emoteImage(part, Math.round(px * 1.2));
        nodes.push(img);
        width += img.width;
      }
    }
    return { nodes, width: Math.ceil(width) };
  };

  /** Whether settings hide a danmaku (turned off, its mode, or the block list). */
  private isBlocked(text: string, mode: number, userId = ''): boolean {
    const s = this.settings;
    if (!s.enabled || s.blockedModes.includes(mode)) return true;
    return !this.blocks.empty && this.blocks.hides(text, userId);
  }

  /** Changes settings as a viewer would (saved, announced with `barrage-settings-change`). */
  applySettings(settings: Partial<Settings>): void {
    this.settings = normalizeSettings({ ...this.settings, ...settings });
    if (this.storage === 'local') saveSettings(this.settings);
    emit(this, 'barrage-settings-change', { settings: this.settings });
  }

  /** Shows a danmaku locally (not sent): a hint, a preview. */
  showLocal(text: string, mode = 0, color = 0xffffff): void {
    if (!this.isBlocked(text, mode)) this.stage?.pushLocal(displayText(text), mode, color);
  }

  /** Danmaku on screen with their lanes and positions, from the renderer (for tests and tools). */
  stageState(): StageItemState[] {
    return this.stage?.state() ?? [];
  }

  /** Danmaku shown, waiting for a lane, and dropped for want of one. */
  stageStats(): { shown: number; waiting: number; dropped: number } {
    return { ...(this.stage?.size ?? { shown: 0, waiting: 0 }), dropped: this.stage?.dropped ?? 0 };
  }

  events(events: readonly WireEvent[], history: boolean): void {
    const now = Date.now();
    // Event times are server times; this page's clock is `clockOffsetMs` behind.
    const skew = this.clockOffsetMs;
    // Live danmaku fly; history only on a resume that recovered, and only if recent
    // (what was missed in a short reconnect), never the backlog shown on join.
    const flyHistory = history && this.welcomed?.recovered === true;
    let dirty = false;
    for (const e of events) {
      if (e.play && e.kind) {
        this.onPlay(e.kind, e.play);
        continue;
      }
      switch (e.kind) {
        case 'danmaku':
          // Replay mode: a VOD danmaku from the video's socket waits for the playhead to reach its time.
          if (this.video) {
            if (this.replay) this.replay.add(e.danmaku as Danmaku);
            else this.early.push(e.danmaku as Danmaku);
          } else this.onDanmaku(e.danmaku as Danmaku, !history || (flyHistory && now + skew - e.tsMs < flyHistoryMs));
          break;
        case 'retract':
          this.onRetract(e.retract?.danmakuId ?? '');
          break;
        case 'gift':
          if (!history) dirty = this.onGift(e.gift as Gift) || dirty;
          break;
        case 'superChat':
          this.onSuperChat(e.superChat as SuperChat, e.tsMs - skew);
          dirty = true;
          break;
        case 'superChatRemoved': {
          const id = e.superChatRemoved?.id ?? '';
          this.superChats = this.superChats.filter((s) => s.chat.id !== id);
          dirty = true;
          break;
        }
        case 'pin': {
          // From the pin's own time: a pin replayed after a gap ends when it ended for everyone.
          const pin = e.pin as { text: string; seconds: number };
          const until = e.tsMs - skew + pin.seconds * 1000;
          this.pinned = pin.seconds > 0 && until > now ? { text: displayText(pin.text), until } : undefined;
          dirty = true;
          break;
        }
        case 'notice':
          if (!history) this.showNotice(e.notice?.text ?? '');
          dirty = true;
          break;
        case 'roomClose':
          this.showNotice(
            e.roomClose?.reason ? this.tr.t('overlay.roomClosedReason', { reason: e.roomClose.reason }) : this.tr.t('overlay.roomClosed'),
          );
          dirty = true;
          break;
        case 'likes':
          this.likes = e.likes?.total ?? this.likes;
          dirty = true;
          break;
        case 'online':
          this.online = e.online?.count ?? this.online;
          dirty = true;
          break;
        case 'leaderboard':
          this.leaderboard = e.leaderboard;
          dirty = this.topGifters > 0 || dirty;
          break;
      }
    }
    if (dirty) this.requestUpdate();
  }

  /** Play cards (the plays chunk sets it when it loads, `attachCards`); events wait in `playQueue` meanwhile. */
  plays: PlayCards | undefined;
  playQueue: Array<[string, Uint8Array]> | undefined;

  private onPlay(kind: string, body: Uint8Array): void {
    if (this.plays) return this.plays.event(kind, body);
    if (this.playQueue) return void this.playQueue.push([kind, body]);
    this.playQueue = [[kind, body]];
    import('../plays/play-cards.js').then(
      (m) => m.attachCards(this, { html, css, nothing, WireReader, WireWriter }),
      () => (this.playQueue = undefined), // offline or blocked: the next play event tries again
    );
  }

  /** Server clock minus this page's clock (for the cards' countdowns). */
  get serverOffsetMs(): number {
    return this.clockOffsetMs;
  }

  /** Sends an encoded ClientFrame (the cards' grab, vote, join). */
  sendRaw(frame: Uint8Array): boolean {
    return this.conn?.send({ raw: frame }) ?? false;
  }

  /** The answer to this viewer's grab, vote or join. */
  playAnswer(bytes: Uint8Array): void {
    this.plays?.answer(bytes);
  }

  /**
   * Grabs red packet `id`: what a site calls after it canceled
   * `barrage-red-packet-grab` to sign the viewer in first. False when not connected.
   */
  grabRedPacket(id: string): boolean {
    return this.plays?.grab(id) ?? false;
  }

  skipped(count: number): void {
    const now = Date.now();
    this.skip = { count: (this.skip.until > now ? this.skip.count : 0) + count, until: now + skippedShownMs };
    this.startTicker();
    this.requestUpdate();
  }

  private onDanmaku(d: Danmaku, fly: boolean, ageMs = 0): void {
    const text = displayText(d.text);
    if (this.isBlocked(text, d.mode, d.user?.id)) {
      // Counted only for the block list (turning danmaku off or hiding a mode is not "hidden"
      // content), and only danmaku that would have flown (history on join never does).
      if (fly && this.settings.enabled && !this.settings.blockedModes.includes(d.mode)) {
        this.hiddenCount++;
        this.requestUpdate();
      }
      return;
    }
    emit(this, 'barrage-danmaku', d);
    if (this.reduced) {
      this.reducedList.push(text);
      if (this.reducedList.length > reducedListSize) this.reducedList.shift();
      this.requestUpdate();
    } else if (fly) {
      this.stage?.push(text === d.text ? d : { ...d, text }, ageMs);
    }
    this.mirror(d.id, (d.user?.name ? d.user.name + ': ' : '') + text);
  }

  /** The screen-reader log: the latest lines, as text nodes. */
  private mirror(id: string, line: string): void {
    const log = this.logEl;
    if (!log) return;
    const p = document.createElement('p');
    p.textContent = line;
    if (id) p.dataset['id'] = id;
    log.appendChild(p);
    if (log.childElementCount > logSize) log.firstElementChild?.remove();
  }

  private onRetract(id: string): void {
    if (!id) return;
    this.replay?.retract(id);
    this.stage?.retract(id);
    for (const p of this.logEl?.querySelectorAll('p') ?? []) if (p.dataset['id'] === id) p.remove();
    emit(this, 'barrage-retract', { danmakuId: id });
  }

  private onGift(gift: Gift): boolean {
    emit(this, 'barrage-gift', gift);
    const now = Date.now();
    const key = gift.comboId || `${gift.user?.id ?? ''}/${gift.giftId}`;
    const existing = this.gifts.find((g) => g.key === key);
    const combo = Math.max(1, gift.combo || (existing ? existing.combo + Math.max(1, gift.count) : Math.max(1, gift.count)));
    if (existing) {
      existing.gift = gift;
      existing.combo = combo;
      existing.until = now + giftAlertMs;
      existing.bump++;
    } else {
      this.gifts.push({ key, gift, combo, until: now + giftAlertMs, bump: 0 });
      if (this.gifts.length > maxGiftAlerts) this.gifts.shift();
    }
    const name = gift.user?.name || this.tr.t('overlay.someone');
    this.mirror('', this.tr.t('overlay.giftLog', { name, gift: gift.name || gift.giftId, count: combo }));
    this.startTicker();
    return true;
  }

  private onSuperChat(chat: SuperChat, localTs: number): void {
    const ms = (chat.pinSeconds || 30) * 1000;
    const until = localTs + ms;
    if (until <= Date.now()) return;
    this.superChats = [...this.superChats.filter((s) => s.chat.id !== chat.id), { chat, until, ms }]
      .sort((a, b) => b.chat.priceCents - a.chat.priceCents)
      .slice(0, maxSuperChats);
    const name = chat.user?.name || this.tr.t('overlay.someone');
    this.mirror('', this.tr.t('overlay.superChatLog', { name, text: displayText(chat.text) }));
    emit(this, 'barrage-super-chat', chat);
    this.startTicker();
  }

  private showNotice(text: string): void {
    this.notice = { text: displayText(text), until: Date.now() + 6_000 };
    this.startTicker();
  }

  /** One timer expires alerts, pins and notices; it runs only while something is shown. */
  private startTicker(): void {
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => {
      const now = Date.now();
      this.gifts = this.gifts.filter((g) => g.until > now);
      this.superChats = this.superChats.filter((s) => s.until > now);
      if (this.pinned && this.pinned.until <= now) this.pinned = undefined;
      if (this.notice && this.notice.until <= now) this.notice = undefined;
      const idle = this.gifts.length === 0 && this.superChats.length === 0 && !this.pinned && !this.notice && this.skip.until <= now;
      if (idle) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
      this.requestUpdate();
    }, 500);
  }

  private onSettingsChange = (e: CustomEvent<{ settings: Settings }>): void => {
    e.stopPropagation();
    this.applySettings(e.detail.settings);
  };

  /** The settings panel is in the lazy tools chunk: most viewers never open it. */
  private toggleSettings = (): void => {
    if (this.settingsOpen) {
      this.settingsOpen = false;
      return this.requestUpdate();
    }
    import('../tools.js').then(
      () => {
        this.settingsOpen = true;
        this.requestUpdate();
      },
      () => undefined, // offline: the button does nothing until the chunk can load
    );
  };

  private renderGift(g: GiftAlert): TemplateResult {
    const name = displayText(g.gift.user?.name || this.tr.t('overlay.someone'));
    const img = /^https:\/\//.test(g.gift.imageUrl) ? html`<img src=${g.gift.imageUrl} alt="" />` : nothing;
    return html`<div class="card gift ${g.bump % 2 ? 'bump-a' : g.bump ? 'bump-b' : ''}" part="gift">
      ${img}<span><b>${name}</b> ${this.tr.t('overlay.giftSent', { gift: displayText(g.gift.name || g.gift.giftId) })}</span>
      <span class="combo">x${Math.min(99, g.combo)}</span>
    </div>`;
  }

  private renderSuperChat(s: PinnedChat): TemplateResult {
    const color = cssColor(s.chat.color || 0x1e88e5);
    const left = Math.max(0, s.until - Date.now());
    const price = this.tr.money(s.chat.priceCents, this.currency);
    return html`<div class="card super-chat" part="super-chat" style="background:${color}">
      <header>${displayText(s.chat.user?.name ?? '')} · ${price}</header>
      <p>${displayText(s.chat.text)}</p>
      <div class="bar" style="animation-duration:${left}ms;transform:scaleX(${left / s.ms})"></div>
    </div>`;
  }

  private renderTopGifters(): TemplateResult | typeof nothing {
    const entries = this.leaderboard?.entries.slice(0, Math.max(0, Math.floor(this.topGifters))) ?? [];
    if (entries.length === 0) return nothing;
    return html`<ol class="card top-gifters" part="top-gifters" aria-label=${this.tr.t('overlay.topGifters')}>
      ${entries.map(
        (e, i) =>
          html`<li>
            <span class="rank">${i + 1}</span>
            <span class="name">${displayText(e.user?.name || e.user?.id || '')}</span>
            <span class="amount">${this.tr.money(e.totalCents, this.currency)}</span>
          </li>`,
      )}
    </ol>`;
  }

  protected override render(): TemplateResult {
    const now = Date.now();
    const reduced = this.reduced;
    const tr = this.tr;
    return html`
      <div class="stage" part="stage" tabindex="0" aria-label=${tr.t('actions.label')} ?hidden=${reduced || !this.settings.enabled}></div>
      ${this.renderActions()}
      ${
        reduced && this.settings.enabled && this.reducedList.length > 0
          ? html`<ul class="list" part="list">
              ${this.reducedList.map((t) => html`<li>${t}</li>`)}
            </ul>`
          : nothing
      }
      <div class="counters" part="counters">
        ${this.online >= 0 ? html`<span class="card">${tr.t('overlay.watching', { n: tr.compact(this.online) })}</span>` : nothing}
        ${this.likes >= 0 ? html`<span class="card" title=${tr.t('overlay.likes')}>♥ ${tr.compact(this.likes)}</span>` : nothing}
        ${this.hiddenCount > 0 ? html`<span class="card hidden-count" part="hidden">${tr.t('overlay.hidden', { n: tr.compact(this.hiddenCount) })}</span>` : nothing}
      </div>
      <div class="super-chats" part="super-chats">${this.renderTopGifters()}${this.superChats.map((s) => this.renderSuperChat(s))}</div>
      ${this.pinned ? html`<div class="card pinned" part="pinned">📌 ${this.pinned.text}</div>` : nothing}
      ${this.notice ? html`<div class="card notice" part="notice" role="status">${this.notice.text}</div>` : nothing}
      <div class="gifts" part="gifts">${this.gifts.map((g) => this.renderGift(g))}</div>
      ${this.plays?.render() ?? nothing}
      ${
        this.skip.until > now
          ? html`<div class="card skipped" part="skipped">${tr.t('overlay.skipped', { n: tr.compact(this.skip.count) })}</div>`
          : nothing
      }
      ${
        this.controls
          ? html`<button
              class="settings-button"
              part="settings-button"
              aria-label=${tr.t('overlay.settingsButton')}
              @click=${this.toggleSettings}
            >
              ⚙
            </button>`
          : nothing
      }
      ${
        this.controls && this.settingsOpen
          ? html`<barrage-settings
              part="settings"
              lang=${tr.lang}
              .settings=${this.settings}
              @barrage-settings-change=${this.onSettingsChange}
            ></barrage-settings>`
          : nothing
      }
      <div class="sr-only" role="log" aria-live="polite" aria-label=${tr.t('overlay.log')}></div>
    `;
  }
}
