/**
 * Server frames built by hand where it matters: a room's Batch frame is the
 * concatenation of events core already encoded, so the edge never decodes or
 * re-encodes an event on the fan-out path.
 *
 * ServerFrame { batch (2): Batch { events (1): Event..., room (2) } }
 */
import { v1 } from '../proto/index.js';

const tagServerBatch = (2 << 3) | 2; // ServerFrame.batch, length-delimited
const tagBatchEvent = (1 << 3) | 2; // Batch.events
const tagBatchRoom = (2 << 3) | 2; // Batch.room
const tagBatchSkipped = 3 << 3; // Batch.skipped, varint
const tagBatchSkipReason = 4 << 3; // Batch.skip_reason, varint

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Encodes `ServerFrame{batch: Batch{events, room, skipped, skip_reason}}` from
 * already encoded events. `roomBytes` is the UTF-8 room id, encoded once per
 * room; `skipped` (with `skipReason`) only when chat was left out.
 */
export function encodeBatchFrame(events: readonly Uint8Array[], roomBytes: Uint8Array, skipped = 0, skipReason = 0): Uint8Array {
  let inner = 1 + varintSize(roomBytes.length) + roomBytes.length;
  if (skipped > 0) inner += 2 + varintSize(skipped) + varintSize(skipReason);
  for (const e of events) inner += 1 + varintSize(e.length) + e.length;
  const out = Buffer.allocUnsafe(1 + varintSize(inner) + inner);
  out[0] = tagServerBatch;
  let pos = writeVarint(out, 1, inner);
  for (const e of events) {
    out[pos++] = tagBatchEvent;
    pos = writeVarint(out, pos, e.length);
    out.set(e, pos);
    pos += e.length;
  }
  out[pos++] = tagBatchRoom;
  pos = writeVarint(out, pos, roomBytes.length);
  out.set(roomBytes, pos);
  pos += roomBytes.length;
  if (skipped > 0) {
    out[pos++] = tagBatchSkipped;
    pos = writeVarint(out, pos, skipped);
    out[pos++] = tagBatchSkipReason;
    writeVarint(out, pos, skipReason);
  }
  return out;
}

/** Counts the events in a frame made by `encodeBatchFrame` without decoding them (0 for other frames). */
export function countBatchEvents(frame: Uint8Array): number {
  if (frame[0] !== tagServerBatch) return 0;
  let pos = 1;
  const readVarint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = frame[pos++] as number;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  };
  const end = readVarint() + pos;
  let count = 0;
  while (pos < end) {
    const tag = frame[pos++];
    const len = readVarint();
    if (tag === tagBatchEvent) count++;
    if (((tag as number) & 7) === 2) pos += len;
  }
  return count;
}

/** Encodes an Error frame. */
export function errorFrame(code: v1.ErrorCode, message: string, clientMsgId = '', retryAfterMs = 0): Uint8Array {
  return v1.ServerFrame.encode({ error: { code, message, clientMsgId, retryAfterMs } }).finish();
}

/** Encodes a frame telling one viewer how many chat events it missed, and why. */
export function skippedFrame(room: string, skipped: number, reason: v1.SkipReason): Uint8Array {
  return v1.ServerFrame.encode({ batch: { room, skipped, skipReason: reason, events: [] } }).finish();
}
