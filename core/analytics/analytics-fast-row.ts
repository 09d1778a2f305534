/**
 * The analytics sink's hot path: the `events` row of a danmaku, written
 * straight from the event's protobuf bytes into the batch buffer. Danmaku
 * are nearly every event a busy room has; decoding each into objects and
 * formatting it through strings (`eventRow`) cost more than everything else
 * the sink does. Here strings are never made: their UTF-8 bytes are checked,
 * TabSeparated-escaped and copied.
 *
 * It writes exactly the bytes `eventRow(bytes) + tail` would (a test holds
 * the two together over every shape of danmaku). Anything else (another
 * kind, a moderator's fields, a truncated or odd encoding, invalid UTF-8,
 * numbers past 2^49) is `NOT_HANDLED` and goes the general way, which also
 * decides what is malformed.
 *
 * Field numbers are those of proto/barrage/v1/barrage.proto.
 */

/** Returned when the bytes are not a plain danmaku; the caller falls back to `eventRow`. */
export const NOT_HANDLED = -1;

/** Bytes a row may need beyond twice the event's size: numbers, fixed columns. */
export const ROW_OVERHEAD = 160;

const EVENT_SEQ = 1;
const EVENT_ROOM = 2;
const EVENT_TS_MS = 3;
const EVENT_DANMAKU = 10;
const DANMAKU_ID = 1;
const DANMAKU_USER = 2;
const DANMAKU_TEXT = 3;
const DANMAKU_MODE = 4;
const DANMAKU_COLOR = 5;
const DANMAKU_SIZE = 6;
const DANMAKU_CLIENT_MSG_ID = 7;
const DANMAKU_MERGED = 8;
const USER_ID = 1;
const USER_NAME = 2;
const USER_ROLE = 3;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

const TAB = 9;
const BACKSLASH = 92;
const KIND = Buffer.from('danmaku');
const AFTER_TEXT = Buffer.from('\t\t\t\t'); // target, gift_id, gift_name empty
const NO_USER = Buffer.from('\t\t0');

// The reader's position. The sink is single-threaded and these functions do
// not re-enter, so one module-level cursor spares an object per event.
let pos = 0;

/** A varint of at most 7 bytes (below 2^49, exact as a double), or -1. */
function varint(b: Uint8Array, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7 && pos < end; i++) {
    const byte = b[pos++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

// The last tag read: its field number and wire type.
let tagField = 0;
let tagWire = 0;

/** Reads a field's tag; false when it is unreadable or names field 0 (which the general decoder rejects). */
function readTag(b: Uint8Array, end: number): boolean {
  const tag = varint(b, end);
  if (tag < 0 || tag > 0xffffffff) return false;
  tagWire = tag & 7;
  tagField = (tag - tagWire) / 8;
  return tagField !== 0;
}

/** Skips a field of an unknown number; false when it cannot be skipped safely. */
function skip(b: Uint8Array, end: number, wire: number): boolean {
  switch (wire) {
    case VARINT:
      for (let i = 0; i < 10; i++) {
        if (pos >= end) return false;
        if ((b[pos++] as number) < 0x80) return true;
      }
      return false;
    case FIXED64:
      pos += 8;
      return pos <= end;
    case LENGTH: {
      const n = varint(b, end);
      if (n < 0) return false;
      pos += n;
      return pos <= end;
    }
    case FIXED32:
      pos += 4;
      return pos <= end;
    default:
      return false; // groups: never written by Barrage
  }
}

/** Length of the UTF-8 sequence starting at `i` (WHATWG rules, as the strict decoder), or -1. */
function utf8Length(b: Uint8Array, i: number, end: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  let n: number;
  // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return -1;
  if (i + n > end) return -1;
  const second = b[i + 1] as number;
  if (second < lo || second > hi) return -1;
  for (let k = 2; k < n; k++) if (((b[i + k] as number) & 0xc0) !== 0x80) return -1;
  return n;
}

/** True when `b[start, end)` is valid UTF-8. */
function validUtf8(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end;) {
    const n = utf8Length(b, i, end);
    if (n < 0) return false;
    i += n;
  }
  return true;
}

/** Copies a UTF-8 string field TabSeparated-escaped; the new offset, or -1 for invalid UTF-8. */
function copyEscaped(b: Uint8Array, start: number, end: number, out: Buffer, o: number): number {
  for (let i = start; i < end;) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      switch (c) {
        case 9:
          out[o++] = BACKSLASH;
          out[o++] = 116; // t
          break;
        case 10:
          out[o++] = BACKSLASH;
          out[o++] = 110; // n
          break;
        case 13:
          out[o++] = BACKSLASH;
          out[o++] = 114; // r
          break;
        case 0:
          out[o++] = BACKSLASH;
          out[o++] = 48; // 0
          break;
        case BACKSLASH:
          out[o++] = BACKSLASH;
          out[o++] = BACKSLASH;
          break;
        default:
          out[o++] = c;
      }
      continue;
    }
    const n = utf8Length(b, i, end);
    if (n < 0) return -1;
    for (let k = 0; k < n; k++) out[o++] = b[i++] as number;
  }
  return o;
}

const digits = new Uint8Array(10);

/** Writes an integer in [0, 2^31) in decimal, at least `width` digits (zero-padded). */
function writeSmall(out: Buffer, o: number, n: number, width: number): number {
  let k = 0;
  do {
    const q = (n / 10) | 0;
    digits[k++] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
  while (k < width) digits[k++] = 48;
  while (k > 0) out[o++] = digits[--k] as number;
  return o;
}

/** Writes a non-negative integer below 2^53 in decimal, in 31-bit integer steps (a double division per digit is slow). */
function writeUint(out: Buffer, o: number, n: number): number {
  if (n < 0x80000000) return writeSmall(out, o, n, 1);
  const high = Math.floor(n / 1e8);
  o = writeSmall(out, o, high, 1);
  return writeSmall(out, o, n - high * 1e8, 8);
}

/** The decimal digits of the last number written from one source; events in a row mostly share it. */
interface DigitCache {
  value: number;
  length: number;
  digits: Buffer;
}
const newCache = (): DigitCache => ({ value: -1, length: 0, digits: Buffer.alloc(16) });
const stamped = newCache();
const received = newCache();

function refresh(cache: DigitCache, n: number): void {
  if (n === cache.value) return;
  cache.value = n;
  cache.length = writeUint(cache.digits, 0, n);
}

/** Writes the first `length` cached digits. */
function writeDigits(out: Buffer, o: number, cache: DigitCache, length: number): number {
  for (let k = 0; k < length; k++) out[o++] = cache.digits[k] as number;
  return o;
}

function writeCached(out: Buffer, o: number, n: number, cache: DigitCache): number {
  refresh(cache, n);
  return writeDigits(out, o, cache, cache.length);
}

/** Writes `ts` (seconds) and `ts_ms`: the seconds are the milliseconds' digits but the last three. */
function writeTimestamp(out: Buffer, o: number, tsMs: number): number {
  refresh(stamped, tsMs);
  if (tsMs < 1000) out[o++] = 48;
  else o = writeDigits(out, o, stamped, stamped.length - 3);
  out[o++] = TAB;
  return writeDigits(out, o, stamped, stamped.length);
}

// Where the fields of the event being written are (start and end in its bytes; -1 when absent).
let roomStart = -1;
let roomEnd = -1;
let idStart = -1;
let idEnd = -1;
let textStart = -1;
let textEnd = -1;
let userStart = -1;
let userEnd = -1;
let userIdStart = -1;
let userIdEnd = -1;
let userNameStart = -1;
let userNameEnd = -1;

let lengthStart = 0;
let lengthEnd = 0;

/** Reads a length-delimited field's bounds into `lengthStart`/`lengthEnd`; false when truncated. */
function lengthField(b: Uint8Array, end: number): boolean {
  const n = varint(b, end);
  if (n < 0 || pos + n > end) return false;
  lengthStart = pos;
  lengthEnd = pos += n;
  return true;
}

/** The user's role, or -1 when the user cannot be read here. */
function readUser(b: Uint8Array, start: number, end: number): number {
  let role = 0;
  userIdStart = userIdEnd = userNameStart = userNameEnd = -1;
  pos = start;
  while (pos < end) {
    if (!readTag(b, end)) return -1;
    const field = tagField;
    const wire = tagWire;
    if (field === USER_ID || field === USER_NAME) {
      if (wire !== LENGTH || !lengthField(b, end)) return -1;
      if (field === USER_ID) {
        userIdStart = lengthStart;
        userIdEnd = lengthEnd;
      } else {
        userNameStart = lengthStart;
        userNameEnd = lengthEnd;
      }
    } else if (field === USER_ROLE) {
      if (wire !== VARINT) return -1;
      role = varint(b, end);
      if (role < 0 || role > 0x7fffffff) return -1;
    } else if (!skip(b, end, wire)) return -1;
  }
  return role;
}

/** The danmaku's `merged` count, or -1 when the danmaku cannot be read here. */
function readDanmaku(b: Uint8Array, start: number, end: number): number {
  let merged = 0;
  idStart = idEnd = textStart = textEnd = userStart = userEnd = -1;
  pos = start;
  while (pos < end) {
    if (!readTag(b, end)) return -1;
    const field = tagField;
    const wire = tagWire;
    switch (field) {
      case DANMAKU_ID:
      case DANMAKU_USER:
      case DANMAKU_TEXT:
      case DANMAKU_CLIENT_MSG_ID:
        if (wire !== LENGTH || !lengthField(b, end)) return -1;
        if (field === DANMAKU_ID) {
          idStart = lengthStart;
          idEnd = lengthEnd;
        } else if (field === DANMAKU_USER) {
          userStart = lengthStart;
          userEnd = lengthEnd;
        } else if (field === DANMAKU_TEXT) {
          textStart = lengthStart;
          textEnd = lengthEnd;
        } else if (!validUtf8(b, lengthStart, lengthEnd)) {
          return -1; // not stored, but the general decoder rejects it when it is not UTF-8
        }
        break;
      case DANMAKU_MODE:
      case DANMAKU_COLOR:
      case DANMAKU_SIZE:
      case DANMAKU_MERGED: {
        if (wire !== VARINT) return -1;
        const v = varint(b, end);
        if (v < 0 || v > 0x7fffffff) return -1;
        if (field === DANMAKU_MERGED) merged = v;
        break;
      }
      default:
        if (!skip(b, end, wire)) return -1;
    }
  }
  return merged;
}

/**
 * Writes the row of a danmaku event (every column, the batch column and the
 * newline from `tail`) at `out[offset]` and returns the offset after it, or
 * `NOT_HANDLED`. `out` must have `2 * bytes.length + tail.length +
 * ROW_OVERHEAD` bytes free; on `NOT_HANDLED` what was written there is garbage.
 */
export function writeDanmakuRow(bytes: Uint8Array, recvMs: number, tail: Uint8Array, out: Buffer, offset: number): number {
  const end = bytes.length;
  let seq = 0;
  let tsMs = 0;
  let danmakuStart = -1;
  let danmakuEnd = -1;
  roomStart = roomEnd = -1;
  pos = 0;
  while (pos < end) {
    if (!readTag(bytes, end)) return NOT_HANDLED;
    const field = tagField;
    const wire = tagWire;
    if (field === EVENT_SEQ || field === EVENT_TS_MS) {
      if (wire !== VARINT) return NOT_HANDLED;
      const v = varint(bytes, end);
      if (v < 0) return NOT_HANDLED;
      if (field === EVENT_SEQ) seq = v;
      else tsMs = v;
    } else if (field === EVENT_ROOM || field === EVENT_DANMAKU) {
      if (wire !== LENGTH || !lengthField(bytes, end)) return NOT_HANDLED;
      if (field === EVENT_ROOM) {
        roomStart = lengthStart;
        roomEnd = lengthEnd;
      } else {
        danmakuStart = lengthStart;
        danmakuEnd = lengthEnd;
      }
    } else if (field >= EVENT_DANMAKU) {
      return NOT_HANDLED; // another kind, or a moderator's actor and reason
    } else if (!skip(bytes, end, wire)) {
      return NOT_HANDLED;
    }
  }
  if (roomEnd <= roomStart || danmakuStart < 0) return NOT_HANDLED;
  const merged = readDanmaku(bytes, danmakuStart, danmakuEnd);
  if (merged < 0) return NOT_HANDLED;
  const role = userStart < 0 ? 0 : readUser(bytes, userStart, userEnd);
  if (role < 0) return NOT_HANDLED;

  let o = copyEscaped(bytes, roomStart, roomEnd, out, offset);
  if (o < 0) return NOT_HANDLED;
  out[o++] = TAB;
  o = writeTimestamp(out, o, tsMs);
  out[o++] = TAB;
  o = writeUint(out, o, seq);
  out[o++] = TAB;
  o += KIND.copy(out, o);
  out[o++] = TAB;
  if (userStart < 0) {
    o += NO_USER.copy(out, o);
  } else {
    o = copyEscaped(bytes, userIdStart, userIdEnd, out, o);
    if (o < 0) return NOT_HANDLED;
    out[o++] = TAB;
    o = copyEscaped(bytes, userNameStart, userNameEnd, out, o);
    if (o < 0) return NOT_HANDLED;
    out[o++] = TAB;
    o = writeUint(out, o, role);
  }
  out[o++] = TAB;
  o = copyEscaped(bytes, idStart, idEnd, out, o);
  if (o < 0) return NOT_HANDLED;
  out[o++] = TAB;
  o = copyEscaped(bytes, textStart, textEnd, out, o);
  if (o < 0) return NOT_HANDLED;
  o += AFTER_TEXT.copy(out, o);
  o = writeUint(out, o, Math.max(1, merged));
  out[o++] = TAB;
  out[o++] = 48; // amount_cents 0
  out[o++] = TAB; // extra empty
  out[o++] = TAB;
  o = writeCached(out, o, recvMs, received);
  out.set(tail, o);
  return o + tail.length;
}
