/**
 * Server frames built by hand where it matters: a room's Batch frame is the
 * concatenation of events core already encoded, so the edge never decodes or
 * re-encodes an event on the fan-out path.
 *
 * ServerFrame { batch: Batch { events: Event..., room, skipped, skip_reason, history } },
 * field numbers from the generated tables. Every tag here fits in one byte.
 */
import { v1 } from '../proto/index.js';
import { BatchField, EventField, ServerFrameField } from '../proto/gen/tables.js';
import { WireReader, WireType, tagOf, varintSize, writeVarint } from '../proto/wire.js';
import { eventKindField, isCounterField } from '../domain/event-kind.js';

const tagServerBatch = tagOf(ServerFrameField.batch, WireType.Len);
const tagBatchEvent = tagOf(BatchField.events, WireType.Len);
const tagBatchRoom = tagOf(BatchField.room, WireType.Len);
const tagBatchSkipped = tagOf(BatchField.skipped, WireType.Varint);
const tagBatchSkipReason = tagOf(BatchField.skipReason, WireType.Varint);
const tagBatchHistory = tagOf(BatchField.history, WireType.Varint);
const tagEventTsMs = tagOf(EventField.tsMs, WireType.Varint);
/** Fields after this one are an event's kind and its body: `ts_ms` is written before them. */
const lastHeaderField = Math.max(EventField.seq, EventField.room, EventField.tsMs);
const eventReader = new WireReader(new Uint8Array(0));

/** Options of a batch frame beyond its events and room. */
export interface BatchFrameOptions {
  /** Chat left out for this viewer, and why. */
  skipped?: number;
  skipReason?: number;
  /** The events are replayed history (join or resume). */
  history?: boolean;
}

/**
 * Encodes `ServerFrame{batch: Batch{events, room, skipped, skip_reason}}` from
 * already encoded events. `roomBytes` is the UTF-8 room id, encoded once per
 * room; `skipped` (with `skipReason`) only when chat was left out.
 */
export function encodeBatchFrame(events: readonly Uint8Array[], roomBytes: Uint8Array, skipped = 0, skipReason = 0): Uint8Array {
  return encodeBatch(events, roomBytes, skipped > 0 ? { skipped, skipReason } : undefined);
}

/** `encodeBatchFrame` with every option (history replays use it). */
export function encodeBatch(events: readonly Uint8Array[], roomBytes: Uint8Array, options?: BatchFrameOptions): Uint8Array {
  const skipped = options?.skipped ?? 0;
  const skipReason = options?.skipReason ?? 0;
  let inner = 1 + varintSize(roomBytes.length) + roomBytes.length;
  if (skipped > 0) inner += 2 + varintSize(skipped) + varintSize(skipReason);
  if (options?.history) inner += 2;
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
    pos = writeVarint(out, pos, skipReason);
  }
  if (options?.history) {
    out[pos++] = tagBatchHistory;
    out[pos++] = 1;
  }
  return out;
}

/** Counts the events in a frame made by `encodeBatchFrame` without decoding them (0 for other frames). */
export function countBatchEvents(frame: Uint8Array): number {
  if (frame[0] !== tagServerBatch) return 0;
  try {
    const outer = new WireReader(frame, 1);
    const len = outer.varint();
    const r = new WireReader(frame, outer.pos, Math.min(frame.length, outer.pos + len));
    let count = 0;
    while (!r.done) {
      const tag = r.tag();
      if (tag === tagBatchEvent) count++;
      r.skip(tag & 7);
    }
    return count;
  } catch {
    return 0;
  }
}

/**
 * The `ts_ms` of an encoded Event, read without decoding it (0 when absent or
 * unreadable). Reads the header fields only, never the body: it runs for
 * every event an edge receives (the latency histograms).
 */
export function eventTsMs(event: Uint8Array): number {
  const r = eventReader.reset(event);
  try {
    while (!r.done) {
      const tag = r.tag();
      if (tag === tagEventTsMs) return r.varint();
      if (tag >>> 3 > lastHeaderField) return 0;
      r.skip(tag & 7);
    }
  } catch {
    // Not an event: no time to measure from.
  }
  return 0;
}

const tagEventSeq = tagOf(EventField.seq, WireType.Varint);

/**
 * The highest seq among a Batch frame's events that take one (counters
 * repeat the room's latest seq without being that event, so they are left
 * out); 0 for other frames or none. What a viewer has seen up to, for the
 * SSE transport's event ids.
 */
export function batchLastSeq(frame: Uint8Array): number {
  if (frame[0] !== tagServerBatch) return 0;
  let last = 0;
  try {
    const outer = new WireReader(frame, 1);
    const len = outer.varint();
    const r = new WireReader(frame, outer.pos, Math.min(frame.length, outer.pos + len));
    const e = new WireReader(frame);
    while (!r.done) {
      const tag = r.tag();
      if (tag !== tagBatchEvent) {
        r.skip(tag & 7);
        continue;
      }
      const bytes = r.bytes();
      if (isCounterField(eventKindField(bytes))) continue;
      e.reset(bytes);
      if (!e.done && e.tag() === tagEventSeq) last = Math.max(last, e.varint());
    }
  } catch {
    // Not a frame of ours: no seq.
  }
  return last;
}

/** Encodes an Error frame. */
export function errorFrame(code: v1.ErrorCode, message: string, clientMsgId = '', retryAfterMs = 0): Uint8Array {
  return v1.ServerFrame.encode({ error: { code, message, clientMsgId, retryAfterMs } }).finish();
}

/** Encodes a frame telling one viewer how many chat events it missed, and why. */
export function skippedFrame(room: string, skipped: number, reason: v1.SkipReason): Uint8Array {
  return v1.ServerFrame.encode({ batch: { room, skipped, skipReason: reason, events: [] } }).finish();
}
