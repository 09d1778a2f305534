/**
 * `<barrage-mod-console>`: the moderator console, a lazily loaded chunk.
 * `<barrage-chat>` shows it to moderators, hosts and admins (a "Moderate"
 * button); `/moderate?room=` shows it alone for a second screen. It speaks
 * the room's own connection: actions go out as `Moderate` frames, held and
 * reported entries come in as the moderators-only `held` and `reported`
 * frames, and the room's events show what took effect.
 *
 * Every action answers visibly: "Done" when the room shows its effect (the
 * retraction, the time-out, the held entry resolved, ...), else the server's
 * error (by code, in the console's language), else, after a few seconds
 * without either, "busy". A viewer's token never shows it: the console checks
 * the role in the Welcome, and the edge refuses `Moderate` frames from
 * viewers with FORBIDDEN anyway.
 *
 * Hosts and admins also get a Plays tab (console-plays.ts): it starts a poll
 * or a lottery with a `start_poll` / `start_lottery` frame, and the
 * `play_answer` that comes back says "Started" with the play's id, or the
 * server's refusal.
 *
 * @csspart console - the whole console
 * @csspart feedback - the answer to the last action
 */
import { html, nothing } from 'lit';
import type { TemplateResult } from 'lit';
import { RoomElement } from '../room-element.js';
import { Role } from '../wire.js';
import type { ClientFrame, Danmaku, WireErrorFrame, WireEvent } from '../wire.js';
import { ErrorCode, ReportResolution } from '../../proto/gen/tables.js';
import { displayText } from '../text.js';
import { errorText } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/i18n.js';
import { decodeHeld, decodeReported, decodeStartAnswer, encodeModerate, playEventId } from './mod-wire.js';
import type { HeldEntry, ModAction, ReportedEntry, StartAnswer } from './mod-wire.js';
import { PlaysPanel } from './console-plays.js';
import { consoleStyles } from './console.styles.js';

type Tab = 'chat' | 'held' | 'reports' | 'room' | 'plays';
const tabs: Array<[Tab, MessageKey]> = [
  ['chat', 'mod.tabChat'],
  ['held', 'mod.tabHeld'],
  ['reports', 'mod.tabReports'],
  ['room', 'mod.tabRoom'],
  ['plays', 'mod.tabPlays'],
];
/** Time-out lengths offered, in seconds. */
const durations = [60, 600, 3_600, 86_400];
const reasonKeys: MessageKey[] = [
  'actions.reasonOther',
  'actions.reasonSpam',
  'actions.reasonAbuse',
  'actions.reasonSexual',
  'actions.reasonSpoiler',
  'actions.reasonIllegal',
  'actions.reasonPrivacy',
];
const keptMessages = 100;
/** Play ids remembered (to tell a start's answer from the answer to a vote or grab on the same connection). */
const keptPlayIds = 200;
/** How long an action waits for its effect or an error. */
const answerMs = 8_000;

/** What proves an action took effect (or, for a start, answers it either way). */
type Proof = (e: { event?: WireEvent; held?: HeldEntry; reported?: ReportedEntry; play?: StartAnswer }) => boolean;
interface Pending {
  what: string;
  proof: Proof;
  until: number;
}

/** The moderator console element. */
export class BarrageModConsole extends RoomElement {
  static override styles = consoleStyles;
  static override properties = { ...RoomElement.properties, standalone: { type: Boolean, reflect: true } };

  /** Fills its container (the standalone page). */
  standalone = false;
  private tab: Tab = 'chat';
  private messages: Array<{ d: Danmaku; tsMs: number }> = [];
  private held = new Map<string, HeldEntry>();
  private reports = new Map<string, ReportedEntry>();
  private pending: Pending[] = [];
  private feedback: { ok: boolean; text: string } | undefined;
  private mode = { danmakuOff: false, membersOnly: false, emoteOnly: false };
  private slow = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Ids of the plays this console has seen an event of, oldest first. */
  private readonly playIds = new Set<string>();
  private readonly plays = new PlaysPanel({
    tr: () => this.tr,
    start: (frame, what) => this.start(frame, what),
    requestUpdate: () => this.requestUpdate(),
  });

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private get isModerator(): boolean {
    const role = this.welcomed?.role ?? Role.Guest;
    return role === Role.Moderator || role === Role.Host || role === Role.Admin;
  }

  /** Hosts and admins start plays; moderators do not (the edge says FORBIDDEN to them). */
  private get startsPlays(): boolean {
    const role = this.welcomed?.role ?? Role.Guest;
    return role === Role.Host || role === Role.Admin;
  }

  events(events: readonly WireEvent[]): void {
    for (const e of events) {
      if (e.kind === 'danmaku' && e.danmaku) {
        this.messages.push({ d: e.danmaku, tsMs: e.tsMs });
        if (this.messages.length > keptMessages) this.messages.shift();
      } else if (e.kind === 'retract' && e.retract) {
        const id = e.retract.danmakuId;
        this.messages = this.messages.filter((m) => m.d.id !== id);
      } else if (e.kind === 'roomMode' && e.roomMode) this.mode = { ...e.roomMode };
      else if (e.kind === 'slowMode' && e.slowMode) this.slow = e.slowMode.seconds;
      else if (e.play && e.kind) this.sawPlay(e.kind, e.play);
      this.prove({ event: e });
    }
    this.requestUpdate();
  }

  moderation(frame: { held?: Uint8Array; reported?: Uint8Array }): void {
    try {
      if (frame.held) {
        const h = decodeHeld(frame.held);
        if (h.resolved) this.held.delete(h.holdId);
        else this.held.set(h.holdId, h);
        this.prove({ held: h });
      } else if (frame.reported) {
        const r = decodeReported(frame.reported);
        const open = r.resolution === ReportResolution.Open || r.resolution === ReportResolution.AutoHeld;
        if (open) this.reports.set(r.reportId, r);
        else this.reports.delete(r.reportId);
        this.prove({ reported: r });
      }
    } catch {
      return; // a frame the console cannot read is dropped, never thrown into the page
    }
    this.requestUpdate();
  }

  /** The answer to a play frame on this connection: a start of ours, or another element's vote, grab or join. */
  playAnswer(bytes: Uint8Array): void {
    let play: StartAnswer;
    try {
      play = decodeStartAnswer(bytes);
    } catch {
      return; // unreadable: dropped, as held and reported frames are
    }
    this.prove({ play });
  }

  private sawPlay(kind: string, body: Uint8Array): void {
    let id: string;
    try {
      id = playEventId(kind, body);
    } catch {
      return;
    }
    if (!id || this.playIds.has(id)) return;
    this.playIds.add(id);
    if (this.playIds.size > keptPlayIds) this.playIds.delete(this.playIds.values().next().value as string);
  }

  override error(error: WireErrorFrame): void {
    super.error(error);
    // Moderate frames carry no client_msg_id: an error without one answers the oldest waiting action.
    if (error.clientMsgId || this.pending.length === 0) return;
    const p = this.pending.shift() as Pending;
    this.answer(false, this.tr.t('mod.failed', { why: `${p.what}: ${errorText(this.tr, error.code, error.message)}` }));
  }

  private prove(e: Parameters<Proof>[0]): void {
    const i = this.pending.findIndex((p) => p.proof(e));
    if (i < 0) return;
    const what = (this.pending.splice(i, 1)[0] as Pending).what;
    const play = e.play;
    if (!play) return this.answer(true, this.tr.t('mod.done', { what }));
    if (play.error === ErrorCode.Unspecified) return this.answer(true, this.tr.t('mod.started', { what, id: play.playId }));
    // The sentence for the code, then core's own reason (which option, which limit): a host fixes the form by it.
    const reason = errorText(this.tr, play.error, play.message);
    const why = play.message && !reason.includes(play.message) ? `${reason} (${play.message})` : reason;
    this.answer(false, this.tr.t('mod.failed', { why: `${what}: ${why}` }));
  }

  private answer(ok: boolean, text: string): void {
    this.feedback = { ok, text };
    this.requestUpdate();
  }

  /** Sends one action and waits for its proof. */
  private act(action: ModAction, what: string, proof: Proof): void {
    this.send({ moderate: encodeModerate(action) }, what, proof);
  }

  /**
   * Sends a start_poll or start_lottery frame. Its PlayAnswer carries no id
   * of the frame: it is the first answer naming no play ('' is a refusal)
   * or a play not seen before the start was sent (the new one), so the
   * answers to votes, grabs and joins the overlay sends on the same
   * connection (which name plays already open) are not taken for it.
   */
  private start(frame: Uint8Array, what: string): void {
    const before = new Set(this.playIds);
    this.send({ raw: frame }, what, (e) => e.play !== undefined && (e.play.playId === '' || !before.has(e.play.playId)));
  }

  private send(frame: ClientFrame, what: string, proof: Proof): void {
    const conn = this.conn;
    if (!conn?.send(frame)) return this.answer(false, this.tr.t('chat.notConnected'));
    this.pending.push({ what, proof, until: Date.now() + answerMs });
    this.feedback = undefined;
    this.timer ??= setInterval(this.expire, 1_000);
    this.requestUpdate();
  }

  private readonly expire = (): void => {
    const now = Date.now();
    const late = this.pending.filter((p) => p.until <= now);
    if (late.length > 0) {
      this.pending = this.pending.filter((p) => p.until > now);
      this.answer(false, this.tr.t('mod.failed', { why: `${(late[0] as Pending).what}: ${this.tr.t('error.unavailable')}` }));
    }
    if (this.pending.length === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };

  private retract(d: Danmaku): void {
    const id = d.id;
    this.act({ retract: { danmakuId: id } }, this.tr.t('mod.delete'), (e) => e.event?.retract?.danmakuId === id);
  }

  private timeOut(d: Danmaku, seconds: number): void {
    const userId = d.user?.id ?? '';
    this.act({ mute: { userId, seconds } }, `${this.tr.t('mod.timeout')} ${d.user?.name ?? userId}`, (e) => e.event?.kind === 'mute');
  }

  private ban(d: Danmaku): void {
    const userId = d.user?.id ?? '';
    this.act({ ban: { userId, seconds: 0 } }, `${this.tr.t('mod.ban')} ${d.user?.name ?? userId}`, (e) => e.event?.kind === 'ban');
  }

  private decide(h: HeldEntry, approve: boolean): void {
    const what = this.tr.t(approve ? 'mod.approve' : 'mod.reject');
    this.act({ hold: { holdId: h.holdId, approve } }, what, (e) => e.held?.holdId === h.holdId && e.held.resolved);
  }

  private resolve(r: ReportedEntry, resolution: number): void {
    const what = this.tr.t(resolution === ReportResolution.Removed ? 'mod.delete' : 'mod.resolve');
    const proof: Proof = (e) => e.reported?.reportId === r.reportId && e.reported.resolution === resolution;
    this.act({ resolveReport: { reportId: r.reportId, resolution } }, what, proof);
  }

  private duration(seconds: number): string {
    const tr = this.tr;
    return seconds < 3_600 ? tr.t('mod.minutes', { n: seconds / 60 }) : tr.t('mod.hours', { n: seconds / 3_600 });
  }

  private renderMessage(d: Danmaku, tsMs: number): TemplateResult {
    const tr = this.tr;
    const user = d.user;
    // The console never acts on its own kind: moderators keep the room (the edge exempts them too).
    const mod = user !== undefined && user.role >= Role.Moderator;
    let seconds = durations[1] as number;
    return html`<li part="row" data-id=${d.id}>
      <span class="who">${displayText(user?.name || user?.id || '')}</span>
      <span class="text">${displayText(d.text)}</span>
      <button part="action" data-action="delete" @click=${() => this.retract(d)}>${tr.t('mod.delete')}</button>
      ${
        user && !mod
          ? html`<select
                aria-label=${tr.t('mod.timeout')}
                @change=${(e: Event) => (seconds = Number((e.target as HTMLSelectElement).value))}
              >
                ${durations.map((s) => html`<option value=${s} ?selected=${s === seconds}>${this.duration(s)}</option>`)}
              </select>
              <button part="action" data-action="timeout" @click=${() => this.timeOut(d, seconds)}>${tr.t('mod.timeout')}</button>
              <button part="action" data-action="ban" @click=${() => this.ban(d)}>${tr.t('mod.ban')}</button>`
          : nothing
      }
      <span class="meta">${tr.time(tsMs)}</span>
    </li>`;
  }

  private renderPanel(): TemplateResult {
    const tr = this.tr;
    if (this.tab === 'chat') {
      const rows = [...this.messages].reverse();
      return rows.length === 0
        ? html`<p class="empty">—</p>`
        : html`<ul>
            ${rows.map((m) => this.renderMessage(m.d, m.tsMs))}
          </ul>`;
    }
    if (this.tab === 'held') {
      const rows = [...this.held.values()];
      if (rows.length === 0) return html`<p class="empty">${tr.t('mod.nothingHeld')}</p>`;
      return html`<ul>
        ${rows.map(
          (h) =>
            html`<li part="row" data-hold=${h.holdId}>
              <span class="who">${displayText(h.danmaku?.user?.name ?? '')}</span>
              <span class="text">${displayText(h.danmaku?.text ?? '')}</span>
              <button part="action" data-action="approve" @click=${() => this.decide(h, true)}>${tr.t('mod.approve')}</button>
              <button part="action" data-action="reject" @click=${() => this.decide(h, false)}>${tr.t('mod.reject')}</button>
              <span class="meta">${h.matched ? tr.t('mod.matched', { term: displayText(h.matched) }) : ''} · ${tr.time(h.tsMs)}</span>
            </li>`,
        )}
      </ul>`;
    }
    if (this.tab === 'reports') {
      const rows = [...this.reports.values()].sort((a, b) => b.reporters - a.reporters);
      if (rows.length === 0) return html`<p class="empty">${tr.t('mod.noReports')}</p>`;
      return html`<ul>
        ${rows.map(
          (r) =>
            html`<li part="row" data-report=${r.reportId}>
              <span class="who">${displayText(r.danmaku?.user?.name ?? '')}</span>
              <span class="text">${displayText(r.danmaku?.text ?? r.danmakuId)}</span>
              <button part="action" data-action="remove" @click=${() => this.resolve(r, ReportResolution.Removed)}>
                ${tr.t('mod.delete')}
              </button>
              <button part="action" data-action="dismiss" @click=${() => this.resolve(r, ReportResolution.Dismissed)}>
                ${tr.t('mod.resolve')}
              </button>
              <span class="meta"
                >${tr.t('mod.reportCount', { n: r.reporters })} ·
                ${r.reasons.map((x) => tr.t(reasonKeys[x] ?? 'actions.reasonOther')).join(', ')}
                ${r.detail ? html`· ${displayText(r.detail)}` : nothing} · ${tr.time(r.lastTsMs)}</span
              >
            </li>`,
        )}
      </ul>`;
    }
    if (this.tab === 'plays' && this.startsPlays) return this.plays.render();
    return this.renderRoom();
  }

  private renderRoom(): TemplateResult {
    const tr = this.tr;
    const m = this.mode;
    const flip = (key: keyof typeof m) => {
      const next = { ...m, [key]: !m[key] };
      this.act({ roomMode: next }, tr.t(`mod.${key}` as MessageKey), (e) => e.event?.kind === 'roomMode');
    };
    const value = (name: string) => (this.renderRoot.querySelector(`[name=${name}]`) as HTMLInputElement | null)?.value ?? '';
    const submit = (e: Event, run: () => void) => {
      e.preventDefault();
      run();
    };
    return html`<div part="panel">
      ${(['danmakuOff', 'membersOnly', 'emoteOnly'] as const).map(
        (key) =>
          html`<label><input type="checkbox" name=${key} .checked=${m[key]} @change=${() => flip(key)} /> ${tr.t(`mod.${key}`)}</label
            ><br />`,
      )}
      <form
        @submit=${(e: Event) =>
          submit(e, () => {
            const seconds = Math.max(0, Math.min(3_600, Math.round(Number(value('slow')) || 0)));
            this.act({ slowMode: { seconds } }, tr.t('mod.slowSeconds'), (ev) => ev.event?.kind === 'slowMode');
          })}
      >
        <label for="slow">${tr.t('mod.slowSeconds')}</label>
        <input id="slow" name="slow" type="number" min="0" max="3600" .value=${String(this.slow)} />
        <button data-action="slow">${tr.t('mod.apply')}</button>
      </form>
      <form
        @submit=${(e: Event) =>
          submit(e, () => {
            const seconds = Math.max(0, Math.min(86_400, Math.round(Number(value('pinSeconds')) || 0)));
            this.act({ pin: { text: value('pinText').slice(0, 200), seconds } }, tr.t('mod.pin'), (ev) => ev.event?.kind === 'pin');
          })}
      >
        <label for="pinText">${tr.t('mod.pinText')}</label>
        <input id="pinText" name="pinText" maxlength="200" />
        <span></span>
        <label for="pinSeconds">${tr.t('mod.pinSeconds')}</label>
        <input id="pinSeconds" name="pinSeconds" type="number" min="0" max="86400" value="60" />
        <button data-action="pin">${tr.t('mod.pin')}</button>
      </form>
      <form
        @submit=${(e: Event) =>
          submit(e, () => {
            const text = value('noticeText').trim().slice(0, 200);
            if (text) this.act({ notice: { text } }, tr.t('mod.notice'), (ev) => ev.event?.kind === 'notice');
          })}
      >
        <label for="noticeText">${tr.t('mod.noticeText')}</label>
        <input id="noticeText" name="noticeText" maxlength="200" />
        <button data-action="notice">${tr.t('mod.notice')}</button>
      </form>
    </div>`;
  }

  protected override render(): TemplateResult {
    const tr = this.tr;
    if (!this.welcomed) return html``;
    if (!this.isModerator) {
      const room = this.room;
      const why =
        this.token || this.tokenProvider
          ? tr.t('mod.notModerator')
          : tr.t('mod.noToken', {
              room,
              url: `/moderate?room=${room}#token=…`,
              command: `npm run barrage -- token --room ${room} --user mod1 --role moderator`,
            });
      return html`<p class="empty" part="console">${why}</p>`;
    }
    const count = (t: Tab) => (t === 'held' ? this.held.size : t === 'reports' ? this.reports.size : 0);
    return html`<div role="tablist" part="tabs" aria-label=${tr.t('mod.title')}>
        ${tabs
          .filter(([t]) => t !== 'plays' || this.startsPlays)
          .map(
            ([t, key]) =>
              html`<button
                role="tab"
                part="tab"
                data-tab=${t}
                aria-selected=${this.tab === t}
                @click=${() => {
                  this.tab = t;
                  this.requestUpdate();
                }}
              >
                ${tr.t(key)}${count(t) > 0 ? ` (${count(t)})` : ''}
              </button>`,
          )}
      </div>
      <div class="panel" part="console" role="tabpanel">${this.renderPanel()}</div>
      <div class="feedback ${this.feedback?.ok ? 'ok' : 'bad'}" part="feedback" role="status">${this.feedback?.text ?? ''}</div>`;
  }
}
