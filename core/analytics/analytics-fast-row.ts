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
 * numbers past 2^53) is `NOT_HANDLED` and goes the general way, which also
 * decides what is malformed.
 *
 * The bytes are walked with proto/wire.ts's reader and the field numbers of
 * the generated tables; only the TabSeparated writing is this file's own.
 */
import { DanmakuField, EventField, EventKindFields, UserField } from '../../proto/gen/tables.js';
import { WireReader, WireType } from '../../proto/wire.js';

/** Returned when the bytes are not a plain danmaku; the caller falls back to `eventRow`. */
export const NOT_HANDLED = -1;

/** Bytes a row may need beyond twice the event's size: numbers, fixed columns. */
export const ROW_OVERHEAD = 240;

const TAB = 9;
const BACKSLASH = 92;
const KIND = Buffer.from('danmaku');
const AFTER_TEXT = Buffer.from('\t\t\t\t'); // target, gift_id, gift_name empty
const NO_USER = Buffer.from('\t\t0');
/** The largest uint32 protobufjs reads as the general path does (it reads int32 fields signed past this). */
const MAX_UINT31 = 0x7fffffff;

// Wire types as module constants (compared for every field; `WireType`'s properties are not folded by V8).
const LEN = WireType.Len;
const VARINT = WireType.Varint;

// The reader, reset for every event. The sink is single-threaded and these
// functions do not re-enter, so one reader spares an object per event.
const r = new WireReader(new Uint8Array(0));

/**
 * A uint32 field's value, or -1 when the general decoder might read it
 * otherwise: past 2^31 - 1, or in more than the 5 bytes protobufjs reads
 * for a uint32 (it skips a longer varint as if it were 10 bytes).
 */
function uint32(): number {
  const start = r.pos;
  const v = r.varint();
  return r.pos - start > 5 || v > MAX_UINT31 ? -1 : v;
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
let danmakuStart = -1;
let danmakuEnd = -1;
// The danmaku's look and video time (the `extra` column, see `danmakuExtra` in analytics-rows.ts).
let mode = 0;
let color = 0;
let size = 0;
let offsetMs = 0;
// The event's seq and time.
let seq = 0;
let tsMs = 0;

/** The user's role, or -1 when the user cannot be read here. */
function readUser(b: Uint8Array, start: number, end: number): number {
  let role = 0;
  userIdStart = userIdEnd = userNameStart = userNameEnd = -1;
  r.reset(b, start, end);
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === UserField.id || field === UserField.name) {
      if (wire !== LEN) return -1;
      const valueEnd = r.lengthEnd();
      if (field === UserField.id) {
        userIdStart = r.pos;
        userIdEnd = valueEnd;
      } else {
        userNameStart = r.pos;
        userNameEnd = valueEnd;
      }
      r.pos = valueEnd;
    } else if (field === UserField.role) {
      if (wire !== VARINT) return -1;
      role = uint32();
      if (role < 0) return -1;
    } else r.skip(wire);
  }
  return role;
}

/** The danmaku's `merged` count, or -1 when the danmaku cannot be read here. */
function readDanmaku(b: Uint8Array, start: number, end: number): number {
  let merged = 0;
  idStart = idEnd = textStart = textEnd = userStart = userEnd = -1;
  mode = color = size = offsetMs = 0;
  r.reset(b, start, end);
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case DanmakuField.id:
      case DanmakuField.user:
      case DanmakuField.text:
      case DanmakuField.clientMsgId: {
        if (wire !== LEN) return -1;
        const valueEnd = r.lengthEnd();
        const valueStart = r.pos;
        r.pos = valueEnd;
        if (field === DanmakuField.id) {
          idStart = valueStart;
          idEnd = valueEnd;
        } else if (field === DanmakuField.user) {
          userStart = valueStart;
          userEnd = valueEnd;
        } else if (field === DanmakuField.text) {
          textStart = valueStart;
          textEnd = valueEnd;
        } else if (!validUtf8(b, valueStart, valueEnd)) {
          return -1; // not stored, but the general decoder rejects it when it is not UTF-8
        }
        break;
      }
      case DanmakuField.mode:
      case DanmakuField.color:
      case DanmakuField.size:
      case DanmakuField.merged: {
        if (wire !== VARINT) return -1;
        const v = uint32();
        if (v < 0) return -1;
        if (field === DanmakuField.merged) merged = v;
        else if (field === DanmakuField.mode) mode = v;
        else if (field === DanmakuField.color) color = v;
        else size = v;
        break;
      }
      case DanmakuField.offsetMs: {
        if (wire !== VARINT) return -1;
        const v = r.varint();
        if (v > Number.MAX_SAFE_INTEGER) return -1;
        offsetMs = v;
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return merged;
}

/** The event's fields: where the danmaku is, seq and time; false when it is not the plain danmaku shape. */
function readEvent(bytes: Uint8Array): boolean {
  roomStart = roomEnd = danmakuStart = danmakuEnd = -1;
  seq = tsMs = 0;
  r.reset(bytes);
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === EventField.seq || field === EventField.tsMs) {
      if (wire !== VARINT) return false;
      const v = r.varint();
      if (v > Number.MAX_SAFE_INTEGER) return false;
      if (field === EventField.seq) seq = v;
      else tsMs = v;
    } else if (field === EventField.room || field === EventField.danmaku) {
      if (wire !== LEN) return false;
      const valueEnd = r.lengthEnd();
      if (field === EventField.room) {
        roomStart = r.pos;
        roomEnd = valueEnd;
      } else {
        danmakuStart = r.pos;
        danmakuEnd = valueEnd;
      }
      r.pos = valueEnd;
    } else if (field >= EventKindFields.first) {
      return false; // another kind, or a moderator's actor and reason
    } else r.skip(wire);
  }
  return true;
}

const EXTRA_MODE = Buffer.from('"mode":');
const EXTRA_COLOR = Buffer.from('"color":');
const EXTRA_SIZE = Buffer.from('"size":');
const EXTRA_OFFSET = Buffer.from('"offset_ms":');

/** One `"key":value` of the extra JSON, with the comma or brace before it. */
function writeKey(out: Buffer, o: number, first: boolean, key: Buffer, value: number): number {
  out[o++] = first ? 123 : 44; // { or ,
  o += key.copy(out, o);
  return writeUint(out, o, value);
}

/** The danmaku's `extra` column: its non-zero mode, color, size and offset_ms as JSON, empty when all are 0. */
function writeExtra(out: Buffer, o: number): number {
  const start = o;
  if (mode !== 0) o = writeKey(out, o, o === start, EXTRA_MODE, mode);
  if (color !== 0) o = writeKey(out, o, o === start, EXTRA_COLOR, color);
  if (size !== 0) o = writeKey(out, o, o === start, EXTRA_SIZE, size);
  if (offsetMs !== 0) o = writeKey(out, o, o === start, EXTRA_OFFSET, offsetMs);
  if (o !== start) out[o++] = 125; // }
  return o;
}

/**
 * Writes the row of a danmaku event (every column, the batch column and the
 * newline from `tail`) at `out[offset]` and returns the offset after it, or
 * `NOT_HANDLED`. `out` must have `2 * bytes.length + tail.length +
 * ROW_OVERHEAD` bytes free; on `NOT_HANDLED` what was written there is garbage.
 */
export function writeDanmakuRow(bytes: Uint8Array, recvMs: number, tail: Uint8Array, out: Buffer, offset: number): number {
  try {
    if (!readEvent(bytes)) return NOT_HANDLED;
  } catch {
    return NOT_HANDLED; // truncated or odd: the general path decides
  }
  if (roomEnd <= roomStart || danmakuStart < 0) return NOT_HANDLED;
  let merged: number;
  let role: number;
  try {
    merged = readDanmaku(bytes, danmakuStart, danmakuEnd);
    if (merged < 0) return NOT_HANDLED;
    role = userStart < 0 ? 0 : readUser(bytes, userStart, userEnd);
    if (role < 0) return NOT_HANDLED;
  } catch {
    return NOT_HANDLED;
  }

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
  out[o++] = TAB;
  o = writeExtra(out, o);
  out[o++] = TAB;
  o = writeCached(out, o, recvMs, received);
  out.set(tail, o);
  return o + tail.length;
}
