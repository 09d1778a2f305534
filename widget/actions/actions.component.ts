/**
 * `<barrage-danmaku-actions>`: the toolbar of a danmaku held still under the
 * pointer (or chosen with the keyboard): copy, +1 (sends the same text, under
 * the same limits as typing it), report (with a reason) and block the sender.
 * A lazily loaded chunk: the overlay imports it the first time a viewer
 * holds a danmaku, so pages where nobody does never download it.
 *
 * Every action answers in the toolbar: "Copied", "Sent" once the +1 came
 * back from the room (its client_msg_id), "Reported" once the server
 * acknowledged the report, or the server's error by code (a rate limit, a
 * duplicate report, read-only). After a rate limit the +1 button stays
 * disabled for the time the server asked; the edge answers at most one
 * RATE_LIMITED a second, so a +1 that gets no answer while limited is taken
 * as limited too, never as sent.
 *
 * @event barrage-danmaku-action - before an action (`detail: { action, danmaku, reason? }`); cancelable: a page may veto it
 * @event barrage-block-user - the viewer blocked the sender (`detail: { id, name }`); the overlay adds them to the block list
 * @csspart toolbar - the bar
 * @csspart action - each button
 * @csspart status - the answer of the last action
 */
import { LitElement, html, nothing } from 'lit';
import type { TemplateResult } from 'lit';
import { emit } from '../text.js';
import { Translator, errorText } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/i18n.js';
import type { BarrageConnection, ConnectionListener } from '../connection.js';
import type { Danmaku, WireErrorFrame, WireEvent } from '../wire.js';
import { ErrorCode, ReportReason } from '../../proto/gen/tables.js';
import { actionsStyles } from './actions.styles.js';

/** The reasons offered, in the order shown. */
const reasons: Array<[number, MessageKey]> = [
  [ReportReason.Spam, 'actions.reasonSpam'],
  [ReportReason.Abuse, 'actions.reasonAbuse'],
  [ReportReason.Spoiler, 'actions.reasonSpoiler'],
  [ReportReason.Sexual, 'actions.reasonSexual'],
  [ReportReason.Illegal, 'actions.reasonIllegal'],
  [ReportReason.Privacy, 'actions.reasonPrivacy'],
  [ReportReason.Other, 'actions.reasonOther'],
];
/** How long a +1 or a report waits for the server's answer before saying nothing came. */
const answerMs = 10_000;

/** The danmaku actions toolbar. */
export class BarrageDanmakuActions extends LitElement implements ConnectionListener {
  static override styles = actionsStyles;
  static override properties = {
    danmaku: { attribute: false },
    connection: { attribute: false },
    tr: { attribute: false },
    canSend: { attribute: false },
  };

  /** The held danmaku. */
  danmaku: Danmaku | undefined;
  /** The room's connection (for +1 and report, and their answers). */
  connection: BarrageConnection | undefined;
  /** Strings in the overlay's language. */
  tr: Translator = new Translator('en');
  /** Whether this viewer may send (not a guest, connected). */
  canSend = false;
  private status = '';
  private choosing = false;
  /** client_msg_id of each +1 or report waiting for its answer: what to say then, and its place in the order sent. */
  private waiting = new Map<string, { key: MessageKey; n: number }>();
  private sent = 0;
  /** The place of the action whose answer is shown: an older action's late answer does not replace it. */
  private shown = 0;
  private unsubscribe: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Until when (Date.now()) the server asked this viewer to wait before sending again, and when it last said so. */
  private limitedUntil = 0;
  private limitedAt = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    this.unsubscribe = this.connection?.subscribe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.timer);
  }

  /** Shows the toolbar for another danmaku (the overlay reuses one element). */
  reset(): void {
    this.status = '';
    this.choosing = false;
    this.waiting.clear();
    this.requestUpdate();
  }

  ack(ack: { clientMsgId: string }): void {
    const w = this.waiting.get(ack.clientMsgId);
    if (!w) return;
    this.waiting.delete(ack.clientMsgId);
    this.say(this.tr.t(w.key), w.n);
  }

  /** A +1 is confirmed when it comes back from the room with its client_msg_id. */
  events(events: readonly WireEvent[]): void {
    for (const e of events) if (e.danmaku?.clientMsgId) this.ack(e.danmaku);
  }

  error(error: WireErrorFrame): void {
    if (error.code === ErrorCode.RateLimited || error.code === ErrorCode.SlowMode) {
      this.limitedAt = Date.now();
      this.limitedUntil = this.limitedAt + error.retryAfterMs;
      if (error.retryAfterMs > 0) setTimeout(() => this.requestUpdate(), error.retryAfterMs + 50);
    }
    const w = this.waiting.get(error.clientMsgId);
    if (!w) return;
    this.waiting.delete(error.clientMsgId);
    const s = Math.ceil(error.retryAfterMs / 1000);
    const message = errorText(this.tr, error.code, error.message);
    this.say(s > 0 ? this.tr.t('chat.retryIn', { message, s }) : message, w.n);
  }

  private say(text: string, n = ++this.sent): void {
    if (n < this.shown) return;
    this.shown = n;
    this.status = text;
    this.requestUpdate();
  }

  /** Announces an action; false when the page vetoed it. */
  private allowed(action: string, reason?: number): boolean {
    return emit(this, 'barrage-danmaku-action', { action, danmaku: this.danmaku, reason }, true);
  }

  private wait(id: string, key: MessageKey): void {
    if (!id) return this.say(this.tr.t('chat.notConnected'));
    const n = ++this.sent;
    const at = Date.now();
    this.waiting.set(id, { key, n });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // Unanswered after a rate limit: the edge stayed silent about it (one RATE_LIMITED a second).
      if (this.waiting.delete(id) && this.limitedAt < at - 1_000) this.say(this.tr.t('error.unavailable'), n);
    }, answerMs);
  }

  private readonly copy = async (): Promise<void> => {
    const d = this.danmaku;
    if (!d || !this.allowed('copy')) return;
    try {
      await navigator.clipboard.writeText(d.text);
      this.say(this.tr.t('actions.copied'));
    } catch {
      // No clipboard permission (an iframe without it, an insecure page): say so rather than pretend.
      this.say(this.tr.t('error.generic'));
    }
  };

  private readonly plusOne = (): void => {
    const d = this.danmaku;
    if (!d || !this.connection || !this.allowed('plus-one')) return;
    this.wait(this.connection.sendDanmaku(d.text, { mode: d.mode, color: d.color }), 'actions.sent');
  };

  private report(reason: number): void {
    const d = this.danmaku;
    this.choosing = false;
    if (!d || !this.connection || !this.allowed('report', reason)) return this.requestUpdate();
    this.wait(this.connection.report(d.id, reason), 'actions.reported');
    this.requestUpdate();
  }

  private readonly block = (): void => {
    const user = this.danmaku?.user;
    if (!user?.id || !this.allowed('block')) return;
    emit(this, 'barrage-block-user', { id: user.id, name: user.name || user.id });
    this.say(this.tr.t('actions.blocked', { name: user.name || user.id }));
  };

  protected override render(): TemplateResult {
    const tr = this.tr;
    const d = this.danmaku;
    const send = this.canSend && d !== undefined;
    const limited = Date.now() < this.limitedUntil;
    // Only danmaku the server numbered can be reported (a local hint cannot).
    const reportable = send && d.id !== '' && !d.id.startsWith('local-');
    return html`<div class="bar" part="toolbar" role="toolbar" aria-label=${tr.t('actions.label')}>
      ${
        this.choosing
          ? reasons.map(
              ([reason, key]) =>
                html`<button type="button" part="action" data-reason=${reason} @click=${() => this.report(reason)}>${tr.t(key)}</button>`,
            )
          : html`<button type="button" part="action" data-action="copy" @click=${this.copy}>${tr.t('actions.copy')}</button>
              <button
                type="button"
                part="action"
                data-action="plus-one"
                title=${send ? tr.t('actions.plusOneTitle') : tr.t('actions.signIn')}
                ?disabled=${!send || limited}
                @click=${this.plusOne}
              >
                ${tr.t('actions.plusOne')}
              </button>
              <button
                type="button"
                part="action"
                data-action="report"
                ?disabled=${!reportable}
                @click=${() => {
                  this.choosing = true;
                  this.requestUpdate();
                }}
              >
                ${tr.t('actions.report')}
              </button>
              <button type="button" part="action" data-action="block" ?disabled=${!d?.user?.id} @click=${this.block}>
                ${tr.t('actions.block')}
              </button>`
      }
      ${this.status ? html`<span class="status" part="status" role="status">${this.status}</span>` : nothing}
    </div>`;
  }
}
