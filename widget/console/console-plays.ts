/**
 * The console's Plays tab, shown to hosts and admins only (the edge refuses
 * anyone else's start: FORBIDDEN, a guest READ_ONLY): a form that opens a
 * poll or quiz (`start_poll`) and one that opens a lottery
 * (`start_lottery`). The forms check only what the browser checks by itself
 * (required fields, number ranges); the rules of a play live in core
 * (core/plays/polls.ts, lotteries.ts), and a form core refuses (one option,
 * a quiz that allows changing, an unknown gift) shows core's reason in the
 * console's status line rather than a second copy of those rules here.
 */
import { html, nothing } from 'lit';
import type { TemplateResult } from 'lit';
import { LotteryEntry } from '../../proto/gen/play-fields.js';
import type { MessageKey, Translator } from '../i18n/i18n.js';
import { encodeStartLottery, encodeStartPoll } from './mod-wire.js';
import type { StartLottery, StartPoll } from './mod-wire.js';

/** What the tab needs of the console. */
export interface PlaysHost {
  /** The console's translator (it changes when a language's catalogue arrives). */
  tr(): Translator;
  /** Sends a start frame; the console waits for its PlayAnswer and shows it as the answer to `what`. */
  start(frame: Uint8Array, what: string): void;
  requestUpdate(): void;
}

const entries: Array<[number, MessageKey]> = [
  [LotteryEntry.Any, 'mod.entryAny'],
  [LotteryEntry.Keyword, 'mod.entryKeyword'],
  [LotteryEntry.Gift, 'mod.entryGift'],
];
/** The widest uint32 a form sends (a varint field); the server says what it accepts. */
const maxUint = 0xffff_ffff;

const text = (f: FormData, name: string): string => String(f.get(name) ?? '').trim();
const whole = (f: FormData, name: string): number => Math.max(0, Math.min(maxUint, Math.round(Number(f.get(name)) || 0)));

/** A poll as the form says it: one option per line, the quiz's right option counted from 1 (empty: not a quiz). */
export function pollFromForm(f: FormData): StartPoll {
  const right = text(f, 'correct');
  return {
    question: text(f, 'question'),
    options: text(f, 'options')
      .split('\n')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
    durationS: whole(f, 'pollSeconds'),
    // "0" is not an option number: sent as one past the widest poll, which core refuses with its reason.
    correct: right === '' ? undefined : whole(f, 'correct') > 0 ? whole(f, 'correct') - 1 : maxUint,
    answerWindowS: whole(f, 'answerWindow'),
    allowChange: f.has('allowChange'),
    membersOnly: f.has('pollMembersOnly'),
  };
}

/** A lottery as the form says it (the keyword or gift only for that entry). */
export function lotteryFromForm(f: FormData): StartLottery {
  const entry = whole(f, 'entry');
  return {
    prize: text(f, 'prize'),
    winners: whole(f, 'winners'),
    durationS: whole(f, 'lotterySeconds'),
    entry,
    keyword: entry === LotteryEntry.Keyword ? text(f, 'keyword') : '',
    giftId: entry === LotteryEntry.Gift ? text(f, 'giftId') : '',
    membersOnly: f.has('lotteryMembersOnly'),
  };
}

/** The Plays tab: its forms and the lottery entry chosen (which decides the keyword or gift field). */
export class PlaysPanel {
  private entry: number = LotteryEntry.Any;

  constructor(private readonly host: PlaysHost) {}

  private submit(e: Event, encode: (f: FormData) => Uint8Array, what: MessageKey): void {
    e.preventDefault();
    this.host.start(encode(new FormData(e.target as HTMLFormElement)), this.host.tr().t(what));
  }

  render(): TemplateResult {
    const tr = this.host.tr();
    const field = (name: string, key: MessageKey, input: TemplateResult) => html`<label for=${name}>${tr.t(key)}</label>${input}`;
    const check = (name: string, key: MessageKey) => html`<label class="wide"><input type="checkbox" name=${name} /> ${tr.t(key)}</label>`;
    return html`<div part="panel" class="plays">
      <form data-form="poll" @submit=${(e: Event) => this.submit(e, (f) => encodeStartPoll(pollFromForm(f)), 'mod.poll')}>
        <h3 class="wide">${tr.t('mod.startPoll')}</h3>
        ${field('question', 'mod.question', html`<input id="question" name="question" required maxlength="200" />`)}
        ${field('options', 'mod.options', html`<textarea id="options" name="options" rows="4" required maxlength="1000"></textarea>`)}
        ${field('pollSeconds', 'mod.durationSeconds', html`<input id="pollSeconds" name="pollSeconds" type="number" min="5" max="86400" value="60" required />`)}
        ${field('correct', 'mod.quizCorrect', html`<input id="correct" name="correct" type="number" min="1" max="10" />`)}
        ${field('answerWindow', 'mod.answerWindow', html`<input id="answerWindow" name="answerWindow" type="number" min="0" max="86400" value="0" />`)}
        ${check('allowChange', 'mod.allowChange')} ${check('pollMembersOnly', 'mod.membersOnly')}
        <button class="wide" data-action="start-poll">${tr.t('mod.startPoll')}</button>
      </form>
      <form data-form="lottery" @submit=${(e: Event) => this.submit(e, (f) => encodeStartLottery(lotteryFromForm(f)), 'mod.lottery')}>
        <h3 class="wide">${tr.t('mod.startLottery')}</h3>
        ${field('prize', 'mod.prize', html`<input id="prize" name="prize" required maxlength="100" />`)}
        ${field('winners', 'mod.winners', html`<input id="winners" name="winners" type="number" min="1" max="1000" value="1" required />`)}
        ${field('lotterySeconds', 'mod.durationSeconds', html`<input id="lotterySeconds" name="lotterySeconds" type="number" min="5" max="86400" value="60" required />`)}
        ${field(
          'entry',
          'mod.entry',
          html`<select
            id="entry"
            name="entry"
            @change=${(e: Event) => {
              this.entry = Number((e.target as HTMLSelectElement).value);
              this.host.requestUpdate();
            }}
          >
            ${entries.map(([value, key]) => html`<option value=${value} ?selected=${value === this.entry}>${tr.t(key)}</option>`)}
          </select>`,
        )}
        ${
          this.entry === LotteryEntry.Keyword
            ? field('keyword', 'mod.keyword', html`<input id="keyword" name="keyword" required maxlength="32" />`)
            : this.entry === LotteryEntry.Gift
              ? field('giftId', 'mod.giftId', html`<input id="giftId" name="giftId" required maxlength="64" />`)
              : nothing
        }
        ${check('lotteryMembersOnly', 'mod.membersOnly')}
        <button class="wide" data-action="start-lottery">${tr.t('mod.startLottery')}</button>
      </form>
    </div>`;
  }
}
