/**
 * The word filter against a table of evasions and of ordinary text that must
 * pass (Latin, CJK, numbers), and the state machine of control events.
 */
import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { applyControl, decodeModeration, emptyModeration, encodeModeration, moderationJson, prune } from '../../domain/moderation-state.js';
import { WordFilter, mask } from '../../domain/word-filter.js';

const filter = new WordFilter(['fuck', 'shit', 'ass', '傻逼', '操你妈', 'nigg*', '*cunt*', '씨발'], ['k+i+l+l+y+o+u+']);

const caught: Array<[string, string, string]> = [
  // text, what matched, masked text
  ['fuck you', 'fuck', '**** you'],
  ['FUCK', 'fuck', '****'],
  ['ｆｕｃｋ', 'fuck', '****'], // full width
  ['ＦＵＣＫ ｙｏｕ', 'fuck', '**** ｙｏｕ'],
  ['f u c k', 'fuck', '*******'], // inserted spaces
  ['f.u.c.k', 'fuck', '*******'], // inserted symbols
  ['f_u-c*k off', 'fuck', '******* off'],
  ['fu\u200bck', 'fuck', '*****'], // zero-width space
  ['fück', 'fuck', '****'], // diacritics
  ['fuсk', 'fuck', '****'], // Cyrillic с
  ['sh1t', 'shit', '****'], // leetspeak digit
  ['sh!t happens', 'shit', '**** happens'],
  ['$hit', 'shit', '****'],
  ['a$$', 'ass', '***'],
  ['4ss', 'ass', '***'],
  ['shit!!!', 'shit', '****!!!'],
  ['niggers', 'nigg*', '****ers'], // prefix term
  ['scunthorpe', '*cunt*', 's****horpe'], // anywhere term
  ['你是傻逼吗', '傻逼', '你是**吗'], // CJK inside a sentence
  ['你是傻 逼', '傻逼', '你是***'], // CJK with a space inserted
  ['你是傻\u200b逼', '傻逼', '你是***'],
  ['操 你 妈', '操你妈', '*****'],
  ['이 씨발', '씨발', '이 **'], // Hangul
  ['hello傻逼world', '傻逼', 'hello**world'],
  ['kill you', 'k+i+l+l+y+o+u+', '********'], // a pattern over the normalised text
  ['kiiiillll yooou', 'k+i+l+l+y+o+u+', '***************'],
];

const passes = [
  'hello world',
  'class is in session',
  'assistant manager',
  'as shown above',
  'I scored 455 points', // digits alone are numbers, not leetspeak
  '2333333',
  '666',
  'hell yeah!!!',
  'passing the bass',
  '这是普通的弹幕',
  '前方高能',
  '哈哈哈哈哈哈',
  '傻瓜', // shares a character, not the term
  '日本語のテキスト',
  '안녕하세요',
  'café naïve',
  'ｈｅｌｌｏ',
  '🎉🎉🎉',
];

describe('moderation filter', () => {
  it.each(caught)('moderation filter - catches %j', (text, matched, masked) => {
    const m = filter.match(text);
    expect(m?.matched).toBe(matched);
    expect(mask(text, m?.ranges ?? [])).toBe(masked);
  });

  it.each(passes.map((t) => [t]))('moderation filter - lets %j through', (text) => {
    expect(filter.match(text)).toBeUndefined();
  });

  it('moderation filter - 10,000 terms compile and match in linear time', () => {
    const terms = Array.from({ length: 10_000 }, (_, i) => `blocked${i.toString(36)}word`);
    const big = new WordFilter([...terms, 'fuck']);
    expect(big.size).toBe(10_001);
    expect(big.match('this is fine')).toBeUndefined();
    expect(big.match('say blocked7pword please')?.matched).toBe('blocked7pword');
    expect(big.match('f u c k')?.matched).toBe('fuck');
  });

  it('moderation filter - an invalid pattern is refused when compiled', () => {
    expect(() => new WordFilter([], ['('])).toThrow(/not an RE2 pattern/);
  });
});

describe('moderation state', () => {
  const ev = (seq: number, ts: number, e: v1.IEvent) => v1.Event.create({ seq, tsMs: ts, room: 'r', ...e });

  it('moderation state - control events build the state; old and repeated ones change nothing', () => {
    const s = emptyModeration('r');
    expect(applyControl(s, ev(1, 1000, { mute: { userId: 'a', seconds: 10 } }))).toBe('applied');
    expect(applyControl(s, ev(2, 1000, { ban: { userId: 'b' } }))).toBe('applied');
    expect(applyControl(s, ev(3, 1000, { slowMode: { seconds: 5, automatic: true } }))).toBe('applied');
    expect(applyControl(s, ev(4, 1000, { roomMode: { membersOnly: true } }))).toBe('applied');
    expect(applyControl(s, ev(5, 1000, { pin: { text: 'hi', seconds: 60 } }))).toBe('applied');
    expect(applyControl(s, ev(6, 1000, { roomClose: { reason: 'done' } }))).toBe('applied');
    expect(applyControl(s, ev(7, 1000, { retract: { danmakuId: 'x' } }))).toBe('ignored');
    expect(applyControl(s, ev(2, 1000, { unban: { userId: 'b' } }))).toBe('ignored');
    expect(s.mutes.get('a')).toBe(11_000);
    expect([...s.bans]).toEqual([['b', 1000 + 30 * 86_400_000]]); // a ban without a length lasts the default 30 days
    expect(s.slowSeconds).toBe(5);
    expect(s.slowAutomatic).toBe(true);
    expect(s.membersOnly).toBe(true);
    expect(s.pinUntilMs).toBe(61_000);
    expect(s.closed).toBe(true);
    const copy = decodeModeration(encodeModeration(s));
    expect(moderationJson(copy, 0)).toEqual(moderationJson(s, 0));
    prune(copy, 20_000);
    expect(copy.mutes.size).toBe(0);
    expect(copy.pin).toBeDefined();
    applyControl(copy, ev(8, 2000, { roomClose: { reopen: true } }));
    expect(copy.closed).toBe(false);
  });
});
