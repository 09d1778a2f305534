import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { codePointLength, isRefusal, validateDanmaku } from '../../edge/validate.js';

const limits = { maxTextLength: 10 };
const codeOf = (msg: Parameters<typeof validateDanmaku>[0]) => {
  const r = validateDanmaku(msg, limits);
  return isRefusal(r) ? r.code : 'ok';
};

describe('validate - danmaku text and fields', () => {
  it.each([
    ['plain text', { text: 'hello' }, 'ok'],
    ['CJK and emoji within the limit', { text: '弹幕好看😀👍🏽' }, 'ok'],
    ['flag and ZWJ emoji sequences', { text: '🇯🇵👨‍👩‍👧' }, 'ok'],
    ['accents (two combining marks)', { text: 'e\u0301\u0302' }, 'ok'],
    ['empty', { text: '' }, ErrorCode.ERROR_CODE_TEXT_EMPTY],
    ['whitespace only', { text: '   \u3000 ' }, ErrorCode.ERROR_CODE_TEXT_EMPTY],
    ['too long in code points', { text: '😀'.repeat(11) }, ErrorCode.ERROR_CODE_TEXT_TOO_LONG],
    ['newline', { text: 'a\nb' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['NUL', { text: 'a\u0000b' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['C1 control', { text: 'a\u0085b' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['bidi override', { text: 'a\u202Eb' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['bidi isolate', { text: 'a\u2066b' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['line separator', { text: 'a\u2028b' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['zalgo combining flood', { text: 'a\u0300\u0301\u0302\u0303' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
    ['unknown mode', { text: 'hi', mode: 7 }, ErrorCode.ERROR_CODE_INVALID_MODE],
    ['colour above 0xFFFFFF', { text: 'hi', color: 0x1000000 }, ErrorCode.ERROR_CODE_INVALID_COLOR],
    ['size out of range', { text: 'hi', size: 9 }, ErrorCode.ERROR_CODE_INVALID_ARGUMENT],
    ['client_msg_id too long', { text: 'hi', clientMsgId: 'x'.repeat(65) }, ErrorCode.ERROR_CODE_INVALID_ARGUMENT],
  ])('validate - %s', (_name, msg, expected) => {
    expect(codeOf(msg)).toBe(expected);
  });

  it('validate - trims and keeps markup as plain text (rendering escapes it)', () => {
    const r = validateDanmaku({ text: '  <img src=x onerror=alert(1)>  ', mode: 1, color: 0xff0000 }, { maxTextLength: 100 });
    expect(isRefusal(r)).toBe(false);
    expect(r).toMatchObject({ text: '<img src=x onerror=alert(1)>', mode: 1, color: 0xff0000 });
  });

  it('validate - an unset colour (0) means white; other colours pass through', () => {
    expect(validateDanmaku({ text: 'a' }, limits)).toMatchObject({ color: 0xffffff });
    expect(validateDanmaku({ text: 'a', color: 0x000001 }, limits)).toMatchObject({ color: 0x000001 });
  });

  it('validate - length counts code points, not UTF-16 units', () => {
    expect(codePointLength('😀😀')).toBe(2);
    expect(codePointLength('abc')).toBe(3);
  });
});

describe('validate - text must show something', () => {
  const wide = { maxTextLength: 100 };
  const refusalOf = (text: string) => {
    const r = validateDanmaku({ text }, wide);
    return isRefusal(r) ? r : undefined;
  };

  it.each([
    ['zero width space', '\u200B'],
    ['zero width joiners and non-joiners', '\u200D\u200C\u200D'],
    ['word joiner and invisible operators', '\u2060\u2061\u2062\u2063\u2064'],
    ['byte order mark between zero width spaces', '\u200B\uFEFF\u200B'],
    ['soft hyphen', '\u00AD'],
    ['Hangul filler', '\u3164'],
    ['Hangul choseong and jungseong fillers', '\u115F\u1160'],
    ['halfwidth Hangul filler', '\uFFA0\uFFA0'],
    ['braille blank', '\u2800\u2800\u2800'],
    ['musical null notehead', '\u{1D159}'],
    ['tag characters alone', '\u{E0001}\u{E0068}\u{E0069}\u{E007F}'],
    ['a variation selector alone', '\uFE0F'],
    ['a supplementary variation selector alone', '\u{E0100}'],
    ['Mongolian vowel separator', '\u180E'],
    ['combining grapheme joiner', '\u034F'],
    ['Khmer inherent vowels', '\u17B4\u17B5'],
    ['Arabic letter mark', '\u061C'],
    ['exotic spaces between invisibles', '\u200B\u2002\u2003\u2009\u200A\u205F\u3000\u1680\u200B'],
    ['an invisible mix', '\u3164\u200B\u2800\uFE0F\u115F'],
  ])('validate - %s is refused as empty', (_name, text) => {
    expect(refusalOf(text)).toEqual({ code: ErrorCode.ERROR_CODE_TEXT_EMPTY, message: 'text has nothing visible' });
  });

  it.each([
    ['tags after visible text', 'hi\u{E0069}\u{E0067}\u{E006E}\u{E006F}\u{E0072}\u{E0065}'],
    ['a single tag inside text', 'a\u{E0020}b'],
    ['a tag sequence that is not a flag', '\u{1F3F4}\u{E0078}\u{E0078}\u{E007F}'],
    ['a Scotland flag with text hidden in it', '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E0068}\u{E007F}'],
    ['a valid flag followed by a stray tag', '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}\u{E0041}'],
  ])('validate - %s is refused as invalid', (_name, text) => {
    expect(refusalOf(text)?.code).toBe(ErrorCode.ERROR_CODE_TEXT_INVALID);
  });

  it.each([
    ['a ZWJ family', '👨‍👩‍👧'],
    ['a ZWJ profession with skin tone', '👩🏽‍💻'],
    ['regional indicator flags', '🇯🇵🇨🇳🇧🇷'],
    ['the England, Scotland and Wales flags', '🏴󠁧󠁢󠁥󠁮󠁧󠁿🏴󠁧󠁢󠁳󠁣󠁴󠁿🏴󠁧󠁢󠁷󠁬󠁳󠁿'],
    ['keycaps', '1️⃣#️⃣*️⃣'],
    ['emoji with VS16', '❤️✌️'],
    ['Chinese', '前方高能预警'],
    ['Japanese', 'ここすき！ヤバい'],
    ['Korean', '안녕하세요 여러분'],
    ['Arabic', 'مرحبا بالجميع'],
    ['Hindi', 'नमस्ते दोस्तों'],
    ['Thai', 'สวัสดีครับ ทุกคน'],
    ['Vietnamese with stacked accents', 'Tiếng Việt ổn'],
    ['Cyrillic', 'Привет всем'],
    ['a private-use icon', '\uF8FF'],
    ['visible text with a zero width space inside', 'ab\u200Bcd'],
    ['a Hangul filler before visible text', '\u3164hello'],
  ])('validate - %s is accepted unchanged', (_name, text) => {
    expect(validateDanmaku({ text }, wide)).toMatchObject({ text });
  });

  it('validate - stacked combining marks are refused after any script, also supplementary ones', () => {
    for (const text of [
      '弹\u0300\u0301\u0302\u0303',
      '😀\u20DD\u20DE\u20DD\u20DE',
      'a\u{1D167}\u{1D168}\u{1D169}\u{1D167}',
      'ก\u0E48\u0E49\u0E4A\u0E4B',
    ]) {
      expect(refusalOf(text)?.code, JSON.stringify(text)).toBe(ErrorCode.ERROR_CODE_TEXT_INVALID);
    }
  });

  it('validate - agrees with the plain regular expressions on any text (the fast paths change nothing)', () => {
    // The reference: what validate.ts means, without its shortcuts.
    const forbidden = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\u{E0000}-\u{E007F}]|\p{M}{4,}/u;
    const tagFlags =
      /\u{1F3F4}\u{E0067}\u{E0062}(?:\u{E0065}\u{E006E}\u{E0067}|\u{E0073}\u{E0063}\u{E0074}|\u{E0077}\u{E006C}\u{E0073})\u{E007F}/gu;
    const visible = /(?![\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800\u{1D159}])[\p{Grapheme_Base}\p{Co}]/u;
    const reference = (raw: string) => {
      const text = raw.trim();
      if (text === '' || !visible.test(text)) return ErrorCode.ERROR_CODE_TEXT_EMPTY;
      return forbidden.test(text.replace(tagFlags, '')) ? ErrorCode.ERROR_CODE_TEXT_INVALID : 'ok';
    };
    const picks = [
      ...'aZ9 é\u00AD\u0300\u0301\u0302\u0483\u0E48\u0E01\u0915\u093F\u0627\u064B\u3099\u309A\u3042\u30A2\u302A\u4E00\uAC00\u3164\uFFA0\uFF41\u2800\u200B\u200D\u2028\u202E\u2067\u2100\u20E3\u2764\uFE0F\u0000\u001F\u007F\u0085\u00A0\u3000\uF8FF\uD83C\uDC00\uDB40',
      '😀',
      '🏽',
      '\u{1F3F4}',
      '\u{1D167}',
      '\u{1D159}',
      '\u{E0020}',
      '\u{E0067}',
      '\u{E0062}',
      '\u{E0065}',
      '\u{E006E}',
      '\u{E007F}',
      '\u{E0100}',
      '🏴󠁧󠁢󠁥󠁮󠁧󠁿',
      // Pairs of marks, so that runs of four (and of three) come up often.
      '\u0300\u0301',
      '\u0E48\u0E49',
      '\u20DD\u20DE',
      '\u{1D167}\u{1D168}',
      '\u093F\u0902',
    ];
    const assigned = fc
      .integer({ min: 0, max: 0x10ffff })
      .filter((c) => c < 0xd800 || c > 0xdfff)
      .map((c) => String.fromCodePoint(c))
      .filter((ch) => /\p{Assigned}/u.test(ch));
    const piece = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...picks) }, { weight: 1, arbitrary: assigned });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        const r = validateDanmaku({ text }, { maxTextLength: 1000 });
        expect(isRefusal(r) ? r.code : 'ok', JSON.stringify(text)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
  });
});
