/**
 * `<barrage-chat>`: the room's chat list with an input that sends danmaku
 * (mode and colour pickers), a like button (taps are summed and sent at most
 * every 500 ms) and a gift button that only fires `barrage-gift-request`: the
 * site runs its own payment flow and posts the gift from its backend.
 *
 * List rows are created once each with textContent, outside Lit's render, so
 * a busy room costs one node per message.
 */
import { css, html, nothing } from 'lit';
import { WireReader, WireWriter } from '../../proto/wire.js';
import type { TemplateResult } from 'lit';
import { RoomElement } from '../room-element.js';
import { Role } from '../wire.js';
import type { WireErrorFrame, WireEvent } from '../wire.js';
import { cssColor, displayText, emit } from '../text.js';
import { errorText } from '../i18n/i18n.js';
import type { Translator } from '../i18n/i18n.js';
import { BlockList } from '../block.js';
import { loadSettings, onSettingsSaved } from '../settings.js';
import { EmoteSet, emoteImage, loadEmotes } from '../emotes.js';
import { identityNodes } from '../identity.js';
import type { User, Welcome } from '../wire.js';
import { chatStyles } from './chat.styles.js';

const maxRows = 200;
const likeFlushMs = 500;
/** Colours offered as swatches (0xRRGGBB). */
export const chatColors = [0xffffff, 0xfe0302, 0xff7204, 0xffd302, 0x00cd00, 0x00a0ea, 0x89d5ff, 0xcc0273];

/** The chat element. */
export class BarrageChat extends RoomElement {
  static override styles = chatStyles;
  static override properties = {
    ...RoomElement.properties,
    placeholder: { type: String },
    noGift: { type: Boolean, attribute: 'no-gift' },
  };

  /** Input placeholder for viewers who can send; empty uses the language's own. */
  placeholder = '';
  /** Hides the gift button. */
  noGift = false;
  private mode = 0;
  private color = 0xffffff;
  private status = '';
  private pendingLikes = 0;
  private likeTimer: ReturnType<typeof setTimeout> | undefined;
  private listEl: HTMLOListElement | undefined;
  private pop = false;
  /** The viewer's block list (the overlay's settings, shared through localStorage). */
  private blocks = new BlockList(loadSettings());
  /** Chat lines the block list hid this session. */
  hiddenCount = 0;
  private offSettings: (() => void) | undefined;
  /** The server's image emotes (empty until fetched, and when it has none). */
  private emotes = new EmoteSet([]);
  /** The moderator console is open (and its chunk loaded). */
  private consoleOpen = false;

  protected override firstUpdated(): void {
    this.listEl = this.renderRoot.querySelector('ol') as HTMLOListElement;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.blocks = new BlockList(loadSettings());
    this.offSettings = onSettingsSaved((settings) => {
      this.blocks = new BlockList(settings);
      // Lines already shown from a sender just blocked go too.
      for (const li of this.listEl?.querySelectorAll<HTMLElement>('li[data-user]') ?? [])
        if (this.blocks.hides(li.dataset['text'] ?? '', li.dataset['user'])) li.remove();
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.offSettings?.();
    this.offSettings = undefined;
    this.flushLikes();
  }

  private get canSend(): boolean {
    return this.welcomed !== undefined && this.welcomed.role !== Role.Guest && this.conn?.state === 'open';
  }

  events(events: readonly WireEvent[]): void {
    const list = this.listEl;
    if (!list) return;
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    const tr = this.tr;
    const hiddenBefore = this.hiddenCount;
    for (const e of events) {
      if (e.kind === 'danmaku' && e.danmaku) {
        const d = e.danmaku;
        const text = displayText(d.text);
        if (!this.blocks.empty && this.blocks.hides(text, d.user?.id)) {
          this.hiddenCount++;
          continue;
        }
        const li = this.row(d.id, d.user?.name ?? '', text, '', d.color, d.user);
        if (d.user?.id) {
          li.dataset['user'] = d.user.id;
          li.dataset['text'] = text;
        }
        frag.appendChild(li);
      } else if (e.kind === 'gift' && e.gift) {
        const g = e.gift;
        const line = tr.t('chat.giftLine', { gift: displayText(g.name || g.giftId), count: Math.max(1, g.count) });
        frag.appendChild(this.row('', g.user?.name ?? '', line, 'gift', undefined, g.user));
      } else if (e.kind === 'superChat' && e.superChat) {
        const s = e.superChat;
        frag.appendChild(this.row('', s.user?.name ?? '', `(${tr.money(s.priceCents, this.currency)}) ${displayText(s.text)}`, 'gift'));
      } else if (e.kind === 'notice' && e.notice) {
        frag.appendChild(this.row('', '', displayText(e.notice.text), 'system'));
      } else if (e.kind === 'retract' && e.retract) {
        list.querySelector(`li[data-id="${CSS.escape(e.retract.danmakuId)}"]`)?.remove();
      } else if (e.kind === 'pin' && e.pin && e.pin.seconds > 0) {
        frag.appendChild(this.row('', '', `📌 ${displayText(e.pin.text)}`, 'system'));
      } else if (e.kind === 'slowMode' && e.slowMode) {
        const n = e.slowMode.seconds;
        frag.appendChild(this.row('', '', n > 0 ? tr.t('chat.slowOn', { s: n }) : tr.t('chat.slowOff'), 'system'));
      } else if (e.kind === 'roomMode' && e.roomMode) {
        frag.appendChild(this.row('', '', roomModeText(tr, e.roomMode), 'system'));
      } else if (e.kind === 'joinNotice' && e.joinNotice && e.joinNotice.count > 0) {
        const j = e.joinNotice;
        const name = displayText(j.users[0]?.name || j.users[0]?.id || tr.t('overlay.someone'));
        const line = j.count > 1 ? tr.t('chat.joinedMany', { name, n: j.count - 1 }) : tr.t('chat.joined', { name });
        frag.appendChild(this.row('', '', line, 'system join'));
      } else if (e.play && e.kind) {
        this.playLine(e.kind, e.play);
      }
    }
    list.appendChild(frag);
    while (list.childElementCount > maxRows) list.firstElementChild?.remove();
    if (stick) list.scrollTop = list.scrollHeight;
    if (this.hiddenCount !== hiddenBefore) this.requestUpdate();
  }

  /** A play's chat line (red packet grabs aggregated per progress event), from the plays chunk, loaded on first need. */
  private playLine(kind: string, body: Uint8Array): void {
    import('../plays/play-cards.js').then(
      (m) => {
        const line = m.playChatLine({ html, css, nothing, WireReader, WireWriter }, this.tr, this.currency, kind, body);
        if (line) this.listEl?.appendChild(this.row('', '', line, 'system play'));
      },
      () => undefined, // offline or blocked: the line is left out
    );
  }

  skipped(count: number): void {
    this.listEl?.appendChild(this.row('', '', this.tr.t('chat.skipped', { n: count }), 'system'));
  }

  override error(error: WireErrorFrame): void {
    super.error(error);
    const message = errorText(this.tr, error.code, displayText(error.message));
    const s = Math.ceil(error.retryAfterMs / 1000);
    this.setStatus(s > 0 ? this.tr.t('chat.retryIn', { message, s }) : message);
  }

  override welcome(welcome: Welcome): void {
    super.welcome(welcome);
    const url = this.conn?.url;
    if (url && this.emotes.empty)
      void loadEmotes(url).then((set) => {
        this.emotes = set;
      });
  }

  private row(id: string, name: string, text: string, cls: string, color?: number, user?: User): HTMLLIElement {
    const li = document.createElement('li');
    if (id) li.dataset['id'] = id;
    if (cls) li.className = cls;
    if (user && (user.badges.length > 0 || user.medal)) li.append(...identityNodes(user, this.tr));
    if (name) {
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = displayText(name);
      li.appendChild(n);
    }
    const t = document.createElement('span');
    if (this.emotes.empty || cls) t.textContent = text;
    else for (const part of this.emotes.parts(text)) t.append(typeof part === 'string' ? part : emoteImage(part, 22));
    if (color !== undefined && color !== 0xffffff && color !== 0) t.style.color = cssColor(color);
    li.appendChild(t);
    return li;
  }

  private setStatus(text: string): void {
    this.status = text;
    this.requestUpdate();
  }

  private readonly onSubmit = (e: Event): void => {
    e.preventDefault();
    const input = this.renderRoot.querySelector('input[name=text]') as HTMLInputElement;
    const text = input.value.trim();
    if (!text || !this.conn) return;
    const detail = { text, mode: this.mode, color: this.color };
    if (!emit(this, 'barrage-send', detail, true)) return; // the page vetoed it
    const id = this.conn.sendDanmaku(text, { mode: this.mode, color: this.color });
    if (id) {
      input.value = '';
      this.setStatus('');
    } else this.setStatus(this.tr.t('chat.notConnected'));
  };

  private readonly onLike = (): void => {
    this.pendingLikes++;
    this.pop = !this.pop;
    emit(this, 'barrage-like', { count: 1 });
    this.likeTimer ??= setTimeout(() => this.flushLikes(), likeFlushMs);
    this.requestUpdate();
  };

  private flushLikes(): void {
    clearTimeout(this.likeTimer);
    this.likeTimer = undefined;
    if (this.pendingLikes > 0 && this.conn?.send({ like: { count: this.pendingLikes } })) this.pendingLikes = 0;
  }

  private get isModerator(): boolean {
    const role = this.welcomed?.role ?? Role.Guest;
    return role === Role.Moderator || role === Role.Host || role === Role.Admin;
  }

  private readonly toggleConsole = (): void => {
    if (this.consoleOpen) {
      this.consoleOpen = false;
      return this.requestUpdate();
    }
    import('../tools.js').then(
      () => {
        this.consoleOpen = true;
        this.requestUpdate();
      },
      () => this.setStatus(this.tr.t('error.unavailable')),
    );
  };

  private readonly onGift = (): void => {
    emit(this, 'barrage-gift-request', { room: this.room, userId: this.welcomed?.userId ?? '' });
  };

  protected override render(): TemplateResult {
    const can = this.canSend;
    const guest = this.welcomed?.role === Role.Guest;
    const max = this.welcomed?.limits?.maxTextLength || 100;
    const state = this.conn?.state;
    const tr = this.tr;
    const status = this.status || (state === 'waiting' ? tr.t('chat.reconnecting') : state === 'closed' ? tr.t('chat.disconnected') : '');
    const mod = this.isModerator;
    return html`${
        mod && this.consoleOpen
          ? html`<barrage-mod-console part="console" lang=${tr.lang} .connection=${this.conn}></barrage-mod-console>`
          : nothing
      }
      <ol part="list" aria-label=${tr.t('chat.list')}></ol>
      <form part="form" @submit=${this.onSubmit}>
        <input
          name="text"
          type="text"
          part="input"
          autocomplete="off"
          maxlength=${max}
          aria-label=${tr.t('chat.message')}
          placeholder=${guest ? tr.t('chat.signIn') : this.placeholder || tr.t('chat.placeholder')}
          ?disabled=${!can}
        />
        <button type="submit" part="send-button" ?disabled=${!can}>${tr.t('chat.send')}</button>
        <div class="row">
          <select
            part="mode"
            aria-label=${tr.t('chat.mode')}
            @change=${(e: Event) => (this.mode = Number((e.target as HTMLSelectElement).value))}
          >
            <option value="0">${tr.t('chat.modeScroll')}</option>
            <option value="1">${tr.t('chat.modeTop')}</option>
            <option value="2">${tr.t('chat.modeBottom')}</option>
          </select>
          <span class="colors" part="colors" role="group" aria-label=${tr.t('chat.colour')}>
            ${chatColors.map(
              (c) =>
                html`<button
                  type="button"
                  class="swatch"
                  style="background:${cssColor(c)}"
                  aria-label=${cssColor(c)}
                  aria-pressed=${this.color === c}
                  @click=${() => {
                    this.color = c;
                    this.requestUpdate();
                  }}
                ></button>`,
            )}
            <input
              type="color"
              aria-label=${tr.t('chat.customColour')}
              .value=${cssColor(this.color)}
              @input=${(e: Event) => {
                this.color = parseInt((e.target as HTMLInputElement).value.slice(1), 16);
                this.requestUpdate();
              }}
            />
          </span>
          <span class="status" part="status" role="status">${status}</span>
          ${this.hiddenCount > 0 ? html`<span class="hidden-count" part="hidden">${tr.t('chat.hidden', { n: tr.compact(this.hiddenCount) })}</span>` : nothing}
          <button
            type="button"
            class="like ${this.pop ? 'pop' : ''}"
            part="like-button"
            aria-label=${tr.t('chat.like')}
            @click=${this.onLike}
          >
            ♥
          </button>
          ${this.noGift ? nothing : html`<button type="button" part="gift-button" @click=${this.onGift}>${tr.t('chat.gift')}</button>`}
          ${
            mod
              ? html`<button type="button" part="moderate-button" aria-expanded=${this.consoleOpen} @click=${this.toggleConsole}>
                  ${tr.t('chat.moderate')}
                </button>`
              : nothing
          }
        </div>
      </form>`;
  }
}

/** What a room mode means for the viewer, in one line. */
function roomModeText(tr: Translator, m: { danmakuOff: boolean; membersOnly: boolean; emoteOnly: boolean }): string {
  if (m.danmakuOff) return tr.t('chat.off');
  if (m.membersOnly) return tr.t(m.emoteOnly ? 'chat.membersEmoteOnly' : 'chat.membersOnly');
  return tr.t(m.emoteOnly ? 'chat.emoteOnly' : 'chat.open');
}
