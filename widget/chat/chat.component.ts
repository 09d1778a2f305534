/**
 * `<barrage-chat>`: the room's chat list with an input that sends danmaku
 * (mode and colour pickers), a like button (taps are summed and sent at most
 * every 500 ms) and a gift button that only fires `barrage-gift-request`: the
 * site runs its own payment flow and posts the gift from its backend.
 *
 * List rows are created once each with textContent, outside Lit's render, so
 * a busy room costs one node per message.
 */
import { html, nothing } from 'lit';
import type { TemplateResult } from 'lit';
import { RoomElement } from '../room-element.js';
import { Role } from '../wire.js';
import type { WireErrorFrame, WireEvent } from '../wire.js';
import { cssColor, displayText, emit, money } from '../text.js';
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

  /** Input placeholder for viewers who can send. */
  placeholder = 'Say something…';
  /** Hides the gift button. */
  noGift = false;
  private mode = 0;
  private color = 0xffffff;
  private status = '';
  private pendingLikes = 0;
  private likeTimer: ReturnType<typeof setTimeout> | undefined;
  private listEl: HTMLOListElement | undefined;
  private pop = false;

  protected override firstUpdated(): void {
    this.listEl = this.renderRoot.querySelector('ol') as HTMLOListElement;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
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
    for (const e of events) {
      if (e.kind === 'danmaku' && e.danmaku) {
        frag.appendChild(this.row(e.danmaku.id, e.danmaku.user?.name ?? '', displayText(e.danmaku.text), '', e.danmaku.color));
      } else if (e.kind === 'gift' && e.gift) {
        const g = e.gift;
        frag.appendChild(this.row('', g.user?.name ?? '', `sent ${displayText(g.name || g.giftId)} x${Math.max(1, g.count)}`, 'gift'));
      } else if (e.kind === 'superChat' && e.superChat) {
        const s = e.superChat;
        frag.appendChild(this.row('', s.user?.name ?? '', `(${money(s.priceCents)}) ${displayText(s.text)}`, 'gift'));
      } else if (e.kind === 'notice' && e.notice) {
        frag.appendChild(this.row('', '', displayText(e.notice.text), 'system'));
      } else if (e.kind === 'retract' && e.retract) {
        list.querySelector(`li[data-id="${CSS.escape(e.retract.danmakuId)}"]`)?.remove();
      } else if (e.kind === 'pin' && e.pin && e.pin.seconds > 0) {
        frag.appendChild(this.row('', '', `📌 ${displayText(e.pin.text)}`, 'system'));
      } else if (e.kind === 'slowMode' && e.slowMode) {
        const n = e.slowMode.seconds;
        frag.appendChild(this.row('', '', n > 0 ? `Slow mode: one message every ${n} s` : 'Slow mode is off', 'system'));
      } else if (e.kind === 'roomMode' && e.roomMode) {
        frag.appendChild(this.row('', '', roomModeText(e.roomMode), 'system'));
      }
    }
    list.appendChild(frag);
    while (list.childElementCount > maxRows) list.firstElementChild?.remove();
    if (stick) list.scrollTop = list.scrollHeight;
  }

  skipped(count: number): void {
    this.listEl?.appendChild(this.row('', '', `+${count} more messages not shown`, 'system'));
  }

  override error(error: WireErrorFrame): void {
    super.error(error);
    const wait = error.retryAfterMs > 0 ? ` (try again in ${Math.ceil(error.retryAfterMs / 1000)} s)` : '';
    this.setStatus(displayText(error.message) + wait);
  }

  private row(id: string, name: string, text: string, cls: string, color?: number): HTMLLIElement {
    const li = document.createElement('li');
    if (id) li.dataset['id'] = id;
    if (cls) li.className = cls;
    if (name) {
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = displayText(name);
      li.appendChild(n);
    }
    const t = document.createElement('span');
    t.textContent = text;
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
    } else this.setStatus('Not connected; try again in a moment');
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

  private readonly onGift = (): void => {
    emit(this, 'barrage-gift-request', { room: this.room, userId: this.welcomed?.userId ?? '' });
  };

  protected override render(): TemplateResult {
    const can = this.canSend;
    const guest = this.welcomed?.role === Role.Guest;
    const max = this.welcomed?.limits?.maxTextLength || 100;
    const state = this.conn?.state;
    const status = this.status || (state === 'waiting' ? 'Reconnecting…' : state === 'closed' ? 'Disconnected' : '');
    return html`<ol part="list" aria-label="Chat"></ol>
      <form part="form" @submit=${this.onSubmit}>
        <input
          name="text"
          type="text"
          part="input"
          autocomplete="off"
          maxlength=${max}
          aria-label="Message"
          placeholder=${guest ? 'Sign in to chat' : this.placeholder}
          ?disabled=${!can}
        />
        <button type="submit" part="send-button" ?disabled=${!can}>Send</button>
        <div class="row">
          <select part="mode" aria-label="Mode" @change=${(e: Event) => (this.mode = Number((e.target as HTMLSelectElement).value))}>
            <option value="0">Scroll</option>
            <option value="1">Top</option>
            <option value="2">Bottom</option>
          </select>
          <span class="colors" part="colors" role="group" aria-label="Colour">
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
              aria-label="Custom colour"
              .value=${cssColor(this.color)}
              @input=${(e: Event) => {
                this.color = parseInt((e.target as HTMLInputElement).value.slice(1), 16);
                this.requestUpdate();
              }}
            />
          </span>
          <span class="status" part="status" role="status">${status}</span>
          <button type="button" class="like ${this.pop ? 'pop' : ''}" part="like-button" aria-label="Like" @click=${this.onLike}>♥</button>
          ${this.noGift ? nothing : html`<button type="button" part="gift-button" @click=${this.onGift}>Send a gift</button>`}
        </div>
      </form>`;
  }
}

/** What a room mode means for the viewer, in one line. */
function roomModeText(m: { danmakuOff: boolean; membersOnly: boolean; emoteOnly: boolean }): string {
  if (m.danmakuOff) return 'Chat is turned off';
  const modes = [m.membersOnly ? 'members only' : '', m.emoteOnly ? 'emotes only' : ''].filter(Boolean);
  return modes.length > 0 ? `Chat is ${modes.join(', ')}` : 'Chat is open to everyone';
}
