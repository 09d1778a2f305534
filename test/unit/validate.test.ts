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
