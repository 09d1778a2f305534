import { describe, expect, it } from 'vitest';
import { en as enCore } from '../../widget/i18n/en.js';
import { enTools } from '../../widget/i18n/en-tools.js';
import type { MessageKey, Messages } from '../../widget/i18n/en.js';
import { Translator, addEnglish, errorText, format, languages, loadMessages, matchLang, pickLang } from '../../widget/i18n/i18n.js';
import { ErrorCode } from '../../proto/gen/tables.js';
import { dashboardMessages } from '../../widget/dashboard/messages.js';

// English in two parts (the tools chunk's strings load with it); together they are the reference.
const en = { ...enCore, ...enTools } as Messages;
const keys = Object.keys(en) as MessageKey[];
const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
/** Latin words a CJK catalogue must not contain (a string left in English); `+1` and `×` are not words. */
const latinWord = /[A-Za-z]{2,}/;

describe('i18n', () => {
  it('i18n - every catalogue has every key of en, non-empty, with the same placeholders and nothing else', async () => {
    addEnglish(enTools); // what the tools chunk does when it loads
    expect(Object.keys(enCore).filter((k) => k in enTools)).toEqual([]);
    for (const lang of languages) {
      const m: Messages = await loadMessages(lang);
      expect(Object.keys(m).sort(), lang).toEqual([...keys].sort());
      for (const key of keys) {
        expect(m[key].trim(), `${lang} ${key}`).not.toBe('');
        expect(placeholders(m[key]), `${lang} ${key}`).toEqual(placeholders(en[key]));
      }
    }
  });

  it('i18n - the Chinese and Japanese catalogues hold no English word (placeholders aside)', async () => {
    for (const lang of ['zh-CN', 'zh-TW', 'ja'] as const) {
      const m = await loadMessages(lang);
      for (const key of keys) expect(m[key].replace(/\{\w+\}/g, ''), `${lang} ${key}`).not.toMatch(latinWord);
    }
  });

  it('i18n - the dashboard has every language: same keys and placeholders as its English, no English word in CJK', () => {
    const reference = dashboardMessages.en;
    const dashKeys = Object.keys(reference) as Array<keyof typeof reference>;
    for (const lang of languages) {
      const m = dashboardMessages[lang];
      expect(Object.keys(m).sort(), lang).toEqual([...dashKeys].sort());
      for (const key of dashKeys) {
        expect(m[key].trim(), `${lang} ${key}`).not.toBe('');
        expect(placeholders(m[key]), `${lang} ${key}`).toEqual(placeholders(reference[key]));
        if (lang !== 'en') expect(m[key].replace(/\{\w+\}/g, ''), `${lang} ${key}`).not.toMatch(latinWord);
      }
    }
  });

  it('i18n - simplified and traditional differ where the scripts differ', async () => {
    const cn = await loadMessages('zh-CN');
    const tw = await loadMessages('zh-TW');
    const same = keys.filter((k) => cn[k] === tw[k] && /[\u4e00-\u9fff]/.test(cn[k]));
    // Short words are written alike in both (模式, 速度); most sentences are not.
    expect(same.length).toBeLessThan(keys.length / 4);
    expect(cn['chat.disconnected']).toBe('已断开连接');
    expect(tw['chat.disconnected']).toBe('已中斷連線');
  });

  it('i18n - language tags map to catalogues', () => {
    expect(matchLang('zh')).toBe('zh-CN');
    expect(matchLang('zh-CN')).toBe('zh-CN');
    expect(matchLang('zh-Hans-CN')).toBe('zh-CN');
    expect(matchLang('zh-SG')).toBe('zh-CN');
    expect(matchLang('zh-TW')).toBe('zh-TW');
    expect(matchLang('zh-HK')).toBe('zh-TW');
    expect(matchLang('zh-Hant')).toBe('zh-TW');
    expect(matchLang('zh_tw')).toBe('zh-TW');
    expect(matchLang('ja-JP')).toBe('ja');
    expect(matchLang('en-GB')).toBe('en');
    expect(matchLang('fr')).toBeUndefined();
    expect(matchLang('')).toBeUndefined();
    expect(matchLang(null)).toBeUndefined();
    // Attribute, then page, then browser; a language without a catalogue is passed over.
    expect(pickLang('fr', 'ja', 'zh-CN')).toBe('ja');
    expect(pickLang(undefined, null, 'de')).toBe('en');
  });

  it('i18n - placeholders fill; unknown ones stay; values are text', () => {
    expect(format('{name} and {n} others joined', { name: '<b>A</b>', n: 23 })).toBe('<b>A</b> and 23 others joined');
    expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
    expect(format('no vars')).toBe('no vars');
  });

  it('i18n - money, counts and times go through Intl in the language', async () => {
    const zh = new Translator('zh-CN', await loadMessages('zh-CN'));
    const ja = new Translator('ja', await loadMessages('ja'));
    const enT = new Translator('en');
    expect(enT.money(123456)).toBe('1,234.56');
    expect(enT.money(1250, 'USD')).toBe('$12.50');
    expect(zh.money(1250, 'CNY')).toBe('¥12.50');
    expect(ja.money(1250, 'JPY')).toBe('￥13');
    // An unknown currency code is a plain amount, never an exception in render.
    expect(enT.money(1250, 'not a code')).toBe('12.50');
    expect(zh.compact(123_456)).toBe('12.3万');
    expect(enT.compact(123_456)).toBe('123.5K');
    expect(enT.compact(9_999)).toBe('9999');
    const at = Date.UTC(2026, 10, 25, 20, 15);
    expect(zh.dateTime(at)).toMatch(/2026年11月2[56]日/);
    expect(zh.t('chat.joinedMany', { name: 'Alice', n: 23 })).toBe('Alice 等 23 人进入直播间');
  });

  it('i18n - errors read by code in the language; unknown codes fall back', async () => {
    const zh = new Translator('zh-CN', await loadMessages('zh-CN'));
    const enT = new Translator('en');
    expect(errorText(zh, ErrorCode.RateLimited, 'rate limited')).toBe('发送太快了');
    expect(errorText(enT, ErrorCode.RateLimited, 'rate limited')).toBe('You are sending too fast');
    expect(errorText(enT, 9999, 'something new')).toBe('something new');
    expect(errorText(zh, 9999, 'something new')).toBe('出错了');
  });
});
