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
// reverse the text around them on screen), and runs of four or more combining
// marks ("zalgo" text that draws over other lines). Scripts that combine marks
// in ordinary writing stay under that run length.
const forbidden = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]|\p{M}{4,}/u;

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
  if (forbidden.test(text)) {
    return { code: ErrorCode.ERROR_CODE_TEXT_INVALID, message: 'text has control, bidi-override or stacked combining characters' };
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
  return { text, mode, color: color === 0 ? defaultColor : color, size, clientMsgId };
}

/** Narrows a validation result. */
export function isRefusal(result: ValidDanmaku | Refusal): result is Refusal {
  return (result as Refusal).code !== undefined;
}
