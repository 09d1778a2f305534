/**
 * Play cards of the overlay (a lazily loaded chunk: `import()`ed when the
 * first play event arrives, so viewers of rooms without plays never load
 * it): a red packet with its countdown, a grab button and the result and
 * "luckiest" line; a poll with live bars, a countdown and the result (a
 * quiz's answer and winners count); a lottery with its keyword or gift, a
 * countdown, entrants and winners. Also the chat's lines for plays, grabs
 * aggregated per progress event.
 *
 * The grab button fires `barrage-red-packet-grab` (bubbles, composed,
 * cancelable, `detail: { id }`) on the overlay first: a site that wants a
 * login before grabbing cancels it and grabs later (`grab(id)`).
 */
import type { CSSResult, TemplateResult, nothing } from 'lit';
import { kit, useKit } from './kit.js';
import type { Kit } from './kit.js';
import type { Lang, Translator } from '../i18n/i18n.js';
import { decodePlayAnswer, decodePlayEvent, grabFrame, joinFrame, voteFrame } from './plays-wire.js';
import type { PlayAnswer, PlayEvent, PlayUser } from './plays-wire.js';

/** A key of the plays' strings. */
type PlayKey =
  | 'plays.redPacket'
  | 'plays.grab'
  | 'plays.got'
  | 'plays.empty'
  | 'plays.ended'
  | 'plays.left'
  | 'plays.endsIn'
  | 'plays.luckiest'
  | 'plays.voters'
  | 'plays.answer'
  | 'plays.winners'
  | 'plays.lottery'
  | 'plays.enterKeyword'
  | 'plays.enterGift'
  | 'plays.join'
  | 'plays.joined'
  | 'plays.entrants'
  | 'plays.drawn'
  | 'plays.chatGrabs'
  | 'plays.chatGrabsMore';

/** The plays' strings in every language the widget speaks (here, not in the main catalogues: only rooms with plays load them). */
const catalogues: Readonly<Record<Lang, Readonly<Record<PlayKey, string>>>> = {
  en: {
    'plays.redPacket': 'Red packet from {name}',
    'plays.grab': 'Grab',
    'plays.got': 'You got {amount}',
    'plays.empty': 'All taken',
    'plays.ended': 'Ended',
    'plays.left': '{n} of {count} left',
    'plays.endsIn': '{s} s left',
    'plays.luckiest': 'Luckiest: {name} {amount}',
    'plays.voters': '{n} voted',
    'plays.answer': 'Answer: {option}',
    'plays.winners': '{n} answered right',
    'plays.lottery': 'Lottery: {prize}',
    'plays.enterKeyword': 'Send “{keyword}” to enter',
    'plays.enterGift': 'Send {gift} to enter',
    'plays.join': 'Join',
    'plays.joined': 'You are in',
    'plays.entrants': '{n} entered',
    'plays.drawn': 'Winners: {names}',
    'plays.chatGrabs': '{names} grabbed the red packet',
    'plays.chatGrabsMore': '{names} and {n} more grabbed the red packet',
  },
  'zh-CN': {
    'plays.redPacket': '{name} 的红包',
    'plays.grab': '抢',
    'plays.got': '你抢到 {amount}',
    'plays.empty': '已抢完',
    'plays.ended': '已结束',
    'plays.left': '剩余 {n}/{count}',
    'plays.endsIn': '还剩 {s} 秒',
    'plays.luckiest': '手气最佳：{name} {amount}',
    'plays.voters': '{n} 人已投票',
    'plays.answer': '答案：{option}',
    'plays.winners': '{n} 人答对',
    'plays.lottery': '抽奖：{prize}',
    'plays.enterKeyword': '发送“{keyword}”参与',
    'plays.enterGift': '赠送 {gift} 参与',
    'plays.join': '参与',
    'plays.joined': '已参与',
    'plays.entrants': '{n} 人参与',
    'plays.drawn': '中奖：{names}',
    'plays.chatGrabs': '{names} 抢到了红包',
    'plays.chatGrabsMore': '{names} 等 {n} 人抢到了红包',
  },
  'zh-TW': {
    'plays.redPacket': '{name} 的紅包',
    'plays.grab': '搶',
    'plays.got': '你搶到 {amount}',
    'plays.empty': '已搶完',
    'plays.ended': '已結束',
    'plays.left': '剩餘 {n}/{count}',
    'plays.endsIn': '還剩 {s} 秒',
    'plays.luckiest': '手氣最佳：{name} {amount}',
    'plays.voters': '{n} 人已投票',
    'plays.answer': '答案：{option}',
    'plays.winners': '{n} 人答對',
    'plays.lottery': '抽獎：{prize}',
    'plays.enterKeyword': '傳送「{keyword}」參加',
    'plays.enterGift': '贈送 {gift} 參加',
    'plays.join': '參加',
    'plays.joined': '已參加',
    'plays.entrants': '{n} 人參加',
    'plays.drawn': '得獎：{names}',
    'plays.chatGrabs': '{names} 搶到了紅包',
    'plays.chatGrabsMore': '{names} 等 {n} 人搶到了紅包',
  },
  ja: {
    'plays.redPacket': '{name} のお年玉',
    'plays.grab': '受け取る',
    'plays.got': '{amount} ゲット',
    'plays.empty': '配布終了',
    'plays.ended': '終了',
    'plays.left': '残り {n}/{count}',
    'plays.endsIn': '残り {s} 秒',
    'plays.luckiest': '最高額：{name} {amount}',
    'plays.voters': '{n} 人が投票',
    'plays.answer': '正解：{option}',
    'plays.winners': '{n} 人が正解',
    'plays.lottery': '抽選：{prize}',
    'plays.enterKeyword': '「{keyword}」と送って参加',
    'plays.enterGift': '{gift} を贈って参加',
    'plays.join': '参加',
    'plays.joined': '参加済み',
    'plays.entrants': '{n} 人が参加',
    'plays.drawn': '当選：{names}',
    'plays.chatGrabs': '{names} がお年玉を受け取りました',
    'plays.chatGrabsMore': '{names} ほか {n} 人がお年玉を受け取りました',
  },
};

/** A plays string in the translator's language (English when it has none). */
const t = (tr: Translator, key: PlayKey, vars?: Readonly<Record<string, string | number>>): string =>
  (catalogues[tr.lang] ?? catalogues.en)[key].replace(/\{(\w+)\}/g, (m, name: string) => String(vars?.[name] ?? m));

/** How long an ended play's card stays up. */
const endedCardMs = 15_000;
/** Names a chat line lists before "and N more". */
const chatNames = 3;
const ErrorOk = 0;

type RedPacketCard = {
  type: 'redPacket';
  open: Extract<PlayEvent, { kind: 'redPacket' }>;
  left: number;
  ended?: Extract<PlayEvent, { kind: 'redPacketEnded' }>;
  mine?: PlayAnswer;
  endedAt?: number;
};
type PollCard = {
  type: 'poll';
  open: Extract<PlayEvent, { kind: 'poll' }>;
  votes: number[];
  voters: number;
  result?: Extract<PlayEvent, { kind: 'pollResult' }>;
  chosen?: number;
  endedAt?: number;
};
type LotteryCard = {
  type: 'lottery';
  open: Extract<PlayEvent, { kind: 'lottery' }>;
  entrants: number;
  result?: Extract<PlayEvent, { kind: 'lotteryResult' }>;
  /** This viewer pressed Join: only then does an answer naming the lottery mean "you are in" (a host's start is answered with its id too). */
  asked?: boolean;
  joined?: boolean;
  endedAt?: number;
};
type Card = RedPacketCard | PollCard | LotteryCard;

/** What the cards need of the overlay. */
export interface CardsHost {
  requestUpdate(): void;
  /** The element events are fired on. */
  readonly element: HTMLElement;
  tr(): Translator;
  currency(): string;
  /** Sends an encoded ClientFrame; false when not connected. */
  send(frame: Uint8Array): boolean;
  /** Server clock minus this page's clock. */
  clockOffsetMs(): number;
}

/** The cards' styles, adopted into the overlay's shadow root with the chunk. */
/** The cards' styles (made with the kit's `css` on first use). */
const cardStyles = (css: Kit['css']): CSSResult => css`
  .plays {
    position: absolute;
    right: 12px;
    top: 128px;
    display: flex;
    flex-direction: column;
    gap: 8px;
    width: min(280px, 45%);
    pointer-events: auto;
    font:
      14px/1.4 system-ui,
      sans-serif;
  }
  .play {
    border-radius: 10px;
    padding: 10px 12px;
    color: #fff;
    background: rgba(20, 20, 28, 0.82);
    box-shadow: 0 2px 8px rgba(0, 0, 0, 0.35);
  }
  .play.red {
    background: linear-gradient(160deg, #e53935, #b71c1c);
    color: #ffe082;
  }
  .play h3 {
    margin: 0 0 6px;
    font-size: 15px;
  }
  .play .meta {
    opacity: 0.85;
    font-size: 12px;
  }
  .play button {
    margin-top: 6px;
    border: 0;
    border-radius: 16px;
    padding: 5px 16px;
    font: inherit;
    font-weight: 600;
    cursor: pointer;
    background: #ffd54f;
    color: #7f0000;
  }
  .play button[disabled] {
    opacity: 0.6;
    cursor: default;
  }
  .bar {
    position: relative;
    margin: 4px 0;
    padding: 3px 8px;
    border-radius: 6px;
    overflow: hidden;
    background: rgba(255, 255, 255, 0.12);
    cursor: pointer;
  }
  .bar .fill {
    position: absolute;
    inset: 0 auto 0 0;
    background: rgba(100, 181, 246, 0.55);
  }
  .bar.correct .fill {
    background: rgba(102, 187, 106, 0.75);
  }
  .bar.chosen {
    outline: 2px solid #ffd54f;
  }
  .bar span {
    position: relative;
  }
`;

/** The open and recently ended plays of one room, as cards. */
export class PlayCards {
  private readonly cards = new Map<string, Card>();
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly host: CardsHost) {}

  /** Takes one play event (`kind` is its `Event.kind` member, `body` its undecoded message). */
  event(kind: string, body: Uint8Array): void {
    const e = decodePlayEvent(kind, body);
    if (!e) return;
    const now = Date.now();
    switch (e.kind) {
      case 'redPacket':
        if (!this.cards.has(e.id)) this.cards.set(e.id, { type: 'redPacket', open: e, left: e.count });
        break;
      case 'redPacketProgress': {
        const c = this.cards.get(e.id);
        if (c?.type === 'redPacket') c.left = Math.max(0, e.count - e.grabbed);
        break;
      }
      case 'redPacketEnded': {
        const c = this.cards.get(e.id);
        if (c?.type === 'redPacket') Object.assign(c, { ended: e, left: e.count - e.grabbed, endedAt: now });
        break;
      }
      case 'poll':
        if (!this.cards.has(e.id)) this.cards.set(e.id, { type: 'poll', open: e, votes: e.options.map(() => 0), voters: 0 });
        break;
      case 'pollTally': {
        const c = this.cards.get(e.id);
        if (c?.type === 'poll' && !c.result) Object.assign(c, { votes: e.votes, voters: e.voters });
        break;
      }
      case 'pollResult': {
        const c = this.cards.get(e.id);
        if (c?.type === 'poll') Object.assign(c, { result: e, votes: e.votes, voters: e.voters, endedAt: now });
        break;
      }
      case 'lottery':
        if (!this.cards.has(e.id)) this.cards.set(e.id, { type: 'lottery', open: e, entrants: 0 });
        break;
      case 'lotteryProgress': {
        const c = this.cards.get(e.id);
        if (c?.type === 'lottery') c.entrants = e.entrants;
        break;
      }
      case 'lotteryResult': {
        const c = this.cards.get(e.id);
        if (c?.type === 'lottery') Object.assign(c, { result: e, entrants: e.entrants, endedAt: now });
        break;
      }
    }
    this.tick();
    this.host.requestUpdate();
  }

  /** Takes the answer to this viewer's grab, vote or join. */
  answer(body: Uint8Array): void {
    const a = decodePlayAnswer(body);
    const c = this.cards.get(a.playId);
    if (c?.type === 'redPacket' && (a.error === ErrorOk || a.amountCents > 0 || !c.mine)) c.mine = a;
    if (c?.type === 'lottery' && c.asked && a.error === ErrorOk) c.joined = true;
    this.host.requestUpdate();
  }

  /** Grabs a share of red packet `id` (after `barrage-red-packet-grab` was not canceled, or when a site calls it). */
  grab(id: string): boolean {
    return this.host.send(grabFrame(id));
  }

  private join(c: LotteryCard): void {
    c.asked = true;
    this.host.send(joinFrame(c.open.id));
  }

  private onGrabClick(id: string): void {
    const event = new CustomEvent('barrage-red-packet-grab', { detail: { id }, bubbles: true, composed: true, cancelable: true });
    if (this.host.element.dispatchEvent(event)) this.grab(id);
  }

  private vote(card: PollCard, option: number): void {
    if (card.result || !this.host.send(voteFrame(card.open.id, option))) return;
    card.chosen = option;
    this.host.requestUpdate();
  }

  /** Counts down while a card is open, and drops cards that ended a while ago. */
  private tick(): void {
    const now = Date.now();
    for (const [id, c] of this.cards) if (c.endedAt !== undefined && now - c.endedAt > endedCardMs) this.cards.delete(id);
    if (this.cards.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    } else if (!this.ticker) {
      this.ticker = setInterval(() => {
        this.tick();
        this.host.requestUpdate();
      }, 1_000);
    }
  }

  /** Stops the countdown (the overlay left the page). */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private secondsLeft(endsAtMs: number): number {
    return Math.max(0, Math.ceil((endsAtMs - (Date.now() + this.host.clockOffsetMs())) / 1000));
  }

  render(): TemplateResult | typeof nothing {
    if (this.cards.size === 0) return kit.nothing;
    return kit.html`<div class="plays" part="plays">${[...this.cards.values()].map((c) => this.renderCard(c))}</div>`;
  }

  private renderCard(c: Card): TemplateResult {
    if (c.type === 'redPacket') return this.renderRedPacket(c);
    if (c.type === 'poll') return this.renderPoll(c);
    return this.renderLottery(c);
  }

  private renderRedPacket(c: RedPacketCard): TemplateResult {
    const tr = this.host.tr();
    const money = (cents: number) => tr.money(cents, this.host.currency());
    const s = this.secondsLeft(c.open.expiresAtMs);
    const over = c.ended !== undefined || s === 0;
    const mine = c.mine;
    let status: string | typeof nothing = kit.nothing;
    if (mine && mine.amountCents > 0) status = t(tr, 'plays.got', { amount: money(mine.amountCents) });
    else if (mine && mine.error !== ErrorOk) status = mine.message;
    else if (c.ended) status = c.ended.expired ? t(tr, 'plays.ended') : t(tr, 'plays.empty');
    const lucky = c.ended?.luckiest;
    return kit.html`<div class="play red" part="play red-packet" data-id=${c.open.id}>
      <h3>🧧 ${t(tr, 'plays.redPacket', { name: c.open.sender.name })}</h3>
      ${c.open.greeting ? kit.html`<div>${c.open.greeting}</div>` : kit.nothing}
      <div class="meta">
        ${money(c.open.totalCents)} · ${t(tr, 'plays.left', { n: c.left, count: c.open.count })}
        ${over ? kit.nothing : kit.html` · ${t(tr, 'plays.endsIn', { s })}`}
      </div>
      ${c.open.keyword ? kit.html`<div class="meta">${t(tr, 'plays.enterKeyword', { keyword: c.open.keyword })}</div>` : kit.nothing}
      ${status !== kit.nothing ? kit.html`<div class="result" part="play-result">${status}</div>` : kit.nothing}
      ${lucky ? kit.html`<div class="meta luckiest">${t(tr, 'plays.luckiest', { name: lucky.user.name, amount: money(lucky.amountCents) })}</div>` : kit.nothing}
      ${over || mine ? kit.nothing : kit.html`<button part="grab" @click=${() => this.onGrabClick(c.open.id)}>${t(tr, 'plays.grab')}</button>`}
    </div>`;
  }

  private renderPoll(c: PollCard): TemplateResult {
    const tr = this.host.tr();
    const total = Math.max(
      1,
      c.votes.reduce((a, b) => a + b, 0),
    );
    const r = c.result;
    const s = this.secondsLeft(c.open.endsAtMs);
    return kit.html`<div class="play" part="play poll" data-id=${c.open.id}>
      <h3>${c.open.quiz ? '❓' : '📊'} ${c.open.question}</h3>
      ${c.open.options.map((o, i) => {
        const n = c.votes[i] ?? 0;
        const cls = ['bar', r?.quiz && r.correct === i ? 'correct' : '', c.chosen === i ? 'chosen' : ''].join(' ');
        return kit.html`<div class=${cls} part="option" @click=${() => this.vote(c, i)}>
          <div class="fill" style="width:${Math.round((100 * n) / total)}%"></div>
          <span>${o} · ${Math.round((100 * n) / total)}%</span>
        </div>`;
      })}
      <div class="meta">${t(tr, 'plays.voters', { n: c.voters })}${r ? kit.nothing : kit.html` · ${t(tr, 'plays.endsIn', { s })}`}</div>
      ${
        r?.quiz
          ? kit.html`<div class="result" part="play-result">
              ${t(tr, 'plays.answer', { option: c.open.options[r.correct] ?? '' })} · ${t(tr, 'plays.winners', { n: r.winners })}
            </div>`
          : r
            ? kit.html`<div class="result" part="play-result">${t(tr, 'plays.ended')}</div>`
            : kit.nothing
      }
    </div>`;
  }

  private renderLottery(c: LotteryCard): TemplateResult {
    const tr = this.host.tr();
    const r = c.result;
    const s = this.secondsLeft(c.open.endsAtMs);
    const how =
      c.open.entry === 1
        ? t(tr, 'plays.enterKeyword', { keyword: c.open.keyword })
        : c.open.entry === 2
          ? t(tr, 'plays.enterGift', { gift: c.open.giftId })
          : '';
    return kit.html`<div class="play" part="play lottery" data-id=${c.open.id}>
      <h3>🎁 ${t(tr, 'plays.lottery', { prize: c.open.prize })}</h3>
      ${how ? kit.html`<div class="meta">${how}</div>` : kit.nothing}
      <div class="meta">${t(tr, 'plays.entrants', { n: c.entrants })}${r ? kit.nothing : kit.html` · ${t(tr, 'plays.endsIn', { s })}`}</div>
      ${r ? kit.html`<div class="result" part="play-result">${t(tr, 'plays.drawn', { names: names(r.winners) || '—' })}</div>` : kit.nothing}
      ${
        !r && c.open.entry === 0
          ? kit.html`<button part="join" ?disabled=${c.joined === true} @click=${() => this.join(c)}>
              ${c.joined ? t(tr, 'plays.joined') : t(tr, 'plays.join')}
            </button>`
          : kit.nothing
      }
    </div>`;
  }
}

/** What `attachCards` needs of the overlay. */
export interface CardsOverlay extends HTMLElement {
  plays: PlayCards | undefined;
  playQueue: Array<[string, Uint8Array]> | undefined;
  readonly tr: Translator;
  currency: string;
  readonly serverOffsetMs: number;
  sendRaw(frame: Uint8Array): boolean;
  requestUpdate(): void;
}

/** Gives an overlay its cards (called when this chunk loads): styles adopted, queued events taken. */
export function attachCards(overlay: CardsOverlay, borrowed: Kit): void {
  useKit(borrowed);
  const root = overlay.shadowRoot;
  const sheet = cardStyles(kit.css).styleSheet;
  if (root && sheet) root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  const cards = new PlayCards({
    element: overlay,
    tr: () => overlay.tr,
    currency: () => overlay.currency,
    clockOffsetMs: () => overlay.serverOffsetMs,
    send: (frame) => overlay.sendRaw(frame),
    requestUpdate: () => overlay.requestUpdate(),
  });
  overlay.plays = cards;
  for (const [kind, body] of overlay.playQueue ?? []) cards.event(kind, body);
  overlay.playQueue = undefined;
}

const names = (users: readonly PlayUser[]): string => users.map((u) => u.name).join(', ');

/** The chat's line for a play event, or undefined when it has none (tallies, entrant counts). */
export function playChatLine(borrowed: Kit, tr: Translator, currency: string, kind: string, body: Uint8Array): string | undefined {
  useKit(borrowed);
  const e = decodePlayEvent(kind, body);
  if (!e) return undefined;
  switch (e.kind) {
    case 'redPacket':
      return `🧧 ${t(tr, 'plays.redPacket', { name: e.sender.name })}${e.greeting ? `: ${e.greeting}` : ''}`;
    case 'redPacketProgress': {
      // Aggregated: one line per progress event, however many grabbed.
      if (e.recent.length === 0) return undefined;
      const listed = e.recent.slice(0, chatNames).map((g) => `${g.user.name} ${tr.money(g.amountCents, currency)}`);
      const more = e.recent.length - listed.length + e.more;
      return more > 0
        ? t(tr, 'plays.chatGrabsMore', { names: listed.join(', '), n: more })
        : t(tr, 'plays.chatGrabs', { names: listed.join(', ') });
    }
    case 'redPacketEnded':
      return e.luckiest
        ? `🧧 ${t(tr, 'plays.luckiest', { name: e.luckiest.user.name, amount: tr.money(e.luckiest.amountCents, currency) })}`
        : `🧧 ${t(tr, 'plays.ended')}`;
    case 'poll':
      return `${e.quiz ? '❓' : '📊'} ${e.question}`;
    case 'pollResult':
      return e.quiz ? `❓ ${t(tr, 'plays.winners', { n: e.winners })}` : `📊 ${t(tr, 'plays.voters', { n: e.voters })}`;
    case 'lottery':
      return `🎁 ${t(tr, 'plays.lottery', { prize: e.prize })}`;
    case 'lotteryResult':
      return `🎁 ${t(tr, 'plays.drawn', { names: names(e.winners) || '—' })}`;
    default:
      return undefined;
  }
}
