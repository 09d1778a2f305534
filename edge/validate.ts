/**
 * Validation of what viewers send. Pure functions, so they are tested
 * without a socket.
 */
import { ErrorCode, v1 } from '../proto/index.js';

/** What the edge accepts from one danmaku. */
export interface TextLimits {
  maxTextLength: number;
}

/** A danmaku that passed validation, normalised. */
export interface ValidDanmaku {
  text: string;
  mode: number;
  color: number;
  size: number;
  clientMsgId: string;
  /** The video time of a danmaku sent to a video (`video_ms`); -1 when not a safe integer. Checked by edge/video.ts. */
  videoMs: number;
}

/** Why a frame was refused: a stable code and words for the user. */
export interface Refusal {
  code: v1.ErrorCode;
  message: string;
}

const maxClientMsgId = 64;
const maxColor = 0xffffff;
/** Colour 0 is what a client that sets no colour sends (proto3 default): it means white, as on Bilibili. */
export const defaultColor = 0xffffff;
const maxSize = 2;

// Control characters (newlines and tabs included: a danmaku is one line), line
// and paragraph separators, bidi embeddings, overrides and isolates (they can
// reverse the text around them on screen), tag characters (invisible ASCII:
// they carry hidden text past moderators and filters), and runs of four or
// more combining marks ("zalgo" text that draws over other lines). Scripts
// that combine marks in ordinary writing stay under that run length.
const forbidden = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\u{E0000}-\u{E007F}]|\p{M}{4}/u;
// The only tag sequences that draw something: the flags of England, Scotland
// and Wales (fixed spellings, so nothing can hide in them).
const tagFlags =
  /\u{1F3F4}\u{E0067}\u{E0062}(?:\u{E0065}\u{E006E}\u{E0067}|\u{E0073}\u{E0063}\u{E0074}|\u{E0077}\u{E006C}\u{E0073})\u{E007F}/gu;

/**
 * False when `text` certainly has nothing `forbidden` matches, found by one
 * pass over its UTF-16 units; true means "ask `forbidden`". Runs on every
 * danmaku: `\p{M}` is a large table, and searching it at every position of a
 * 100-character CJK danmaku cost 1.6 us, this pass a fraction of that.
 * Sound because every forbidden character is one of the units tested here
 * (U+DB40 leads every tag character), and a run of four marks is four units
 * in a row outside the ranges that hold no mark: below U+0300, letterlike
 * symbols to arrows and dingbats (U+2100-2BFF), kana, CJK ideographs, Hangul
 * syllables, full- and halfwidth forms, and the emoji planes' lead
 * surrogates (U+1F000-1FBFF has no mark).
 */
function mayBeForbidden(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x300) {
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
      run = 0;
    } else if (
      (c >= 0x4e00 && c <= 0x9fff) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0x3041 && c <= 0x3096) ||
      (c >= 0x30a0 && c <= 0x30ff) ||
      (c >= 0x2100 && c <= 0x2bff) ||
      (c >= 0xff00 && c <= 0xffef) ||
      (c >= 0xd83c && c <= 0xd83e)
    ) {
      run = 0;
    } else if ((c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0xdb40 || ++run === 4) {
      return true;
    }
  }
  return false;
}

// One character that draws something: a grapheme base (letters, digits,
// symbols, emoji, spacing marks; not controls, format characters or lone
// combining marks) or a private-use character (icon fonts), unless it is white
// space, default-ignorable (zero width space and joiners, word joiner, BOM,
// soft hyphen, variation selectors, tag characters, the Hangul fillers U+115F
// U+1160 U+3164 U+FFA0, ...) or one of the symbols with an empty glyph
// (U+2800 braille blank, U+1D159 null notehead).
const visible = /(?![\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800\u{1D159}])[\p{Grapheme_Base}\p{Co}]/u;

/**
 * True when `text` has at least one character that draws something (see
 * `visible`). Runs on every danmaku: text that starts with printable Latin,
 * kana, a CJK ideograph, a Hangul syllable or an emoji (most danmaku) answers
 * without the regular expression, which costs a call and a Unicode table
 * search. Each of those ranges draws something throughout (an unassigned
 * emoji code point draws a missing-glyph box).
 */
export function hasVisibleText(text: string): boolean {
  const c = text.charCodeAt(0);
  if (
    (c > 0x20 && c < 0x7f) ||
    (c >= 0xa1 && c <= 0x2ff && c !== 0xad) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3041 && c <= 0x3096) ||
    (c >= 0x30a1 && c <= 0x30fa) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    // An emoji (U+1F000-1FBFF): a lead surrogate D83C-D83E and its trail.
    (c >= 0xd83c && c <= 0xd83e && (text.charCodeAt(1) & 0xfc00) === 0xdc00)
  ) {
    return true;
  }
  return visible.test(text);
}

/** Counts code points, which is what a text length limit means to a user. */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) i++;
    n++;
  }
  return n;
}

/** Checks a `SendDanmaku`; returns the normalised danmaku or the refusal. */
export function validateDanmaku(msg: v1.ISendDanmaku, limits: TextLimits): ValidDanmaku | Refusal {
  const text = (msg.text ?? '').trim();
  if (text.length === 0) return { code: ErrorCode.ERROR_CODE_TEXT_EMPTY, message: 'text is empty' };
  if (codePointLength(text) > limits.maxTextLength) {
    return { code: ErrorCode.ERROR_CODE_TEXT_TOO_LONG, message: `text is longer than ${limits.maxTextLength} characters` };
  }
  if (!hasVisibleText(text)) return { code: ErrorCode.ERROR_CODE_TEXT_EMPTY, message: 'text has nothing visible' };
  // The last test (without the three tag flags) runs only for text the others refused.
  if (mayBeForbidden(text) && forbidden.test(text) && forbidden.test(text.replace(tagFlags, ''))) {
    return {
      code: ErrorCode.ERROR_CODE_TEXT_INVALID,
      message: 'text has control, bidi-override, tag or stacked combining characters',
    };
  }
  const mode = msg.mode ?? 0;
  if (mode !== 0 && mode !== 1 && mode !== 2)
    return { code: ErrorCode.ERROR_CODE_INVALID_MODE, message: 'mode must be SCROLL, TOP or BOTTOM' };
  const color = msg.color ?? 0;
  if (!Number.isInteger(color) || color < 0 || color > maxColor) {
    return { code: ErrorCode.ERROR_CODE_INVALID_COLOR, message: 'color must be 0xRRGGBB' };
  }
  const size = msg.size ?? 0;
  if (size > maxSize) return { code: ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message: 'size must be 0, 1 or 2' };
  const clientMsgId = msg.clientMsgId ?? '';
  if (clientMsgId.length > maxClientMsgId) {
    return { code: ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message: `client_msg_id is longer than ${maxClientMsgId}` };
  }
  const videoMs = Number(msg.videoMs ?? 0);
  return {
    text,
    mode,
    color: color === 0 ? defaultColor : color,
    size,
    clientMsgId,
    videoMs: Number.isSafeInteger(videoMs) ? videoMs : -1,
  };
}

/** Narrows a validation result. */
export function isRefusal(result: ValidDanmaku | Refusal): result is Refusal {
  return (result as Refusal).code !== undefined;
}
