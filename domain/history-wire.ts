/**
 * The history answer (`HistoryReply`) on the wire, built from and read into
 * the events' stored bytes: core answers a join or resume by concatenating
 * what it already holds encoded, and the edge turns the answer into a Batch
 * frame by copying those bytes again, so a resume costs copies, never a
 * decode and re-encode of every event (a guest could make the edge and core
 * do that a thousand events at a time).
 *
 * HistoryReply { events: Event..., recovered: bool, seq: uint64, epoch: string },
 * field numbers from the generated tables. Every tag here fits in one byte.
 */
import { BatchField, HistoryReplyField, ServerFrameField } from '../proto/gen/tables.js';
import { WireReader, WireType, tagOf, varintSize, writeVarint } from '../proto/wire.js';

const tagEvent = tagOf(HistoryReplyField.events, WireType.Len);
const tagRecovered = tagOf(HistoryReplyField.recovered, WireType.Varint);
const tagSeq = tagOf(HistoryReplyField.seq, WireType.Varint);
const tagEpoch = tagOf(HistoryReplyField.epoch, WireType.Len);
const latin1 = new TextDecoder('latin1');
const tagServerBatch = tagOf(ServerFrameField.batch, WireType.Len);
const tagBatchEvent = tagOf(BatchField.events, WireType.Len);
const tagBatchRoom = tagOf(BatchField.room, WireType.Len);
const tagBatchHistory = tagOf(BatchField.history, WireType.Varint);
// `historyFrameOf` copies each event field with its tag, which holds while both lists share one number (never renumbered).
if (tagEvent !== tagBatchEvent) throw new Error('HistoryReply.events and Batch.events no longer share a field number');

/** A history answer with its events still encoded. */
export interface HistoryAnswer {
  /** Encoded `Event`s, oldest first (views into the reply's bytes when read). */
  events: Uint8Array[];
  recovered: boolean;
  /** The room's latest seq. */
  seq: number;
  /** The epoch `seq` belongs to (ASCII; empty when the sequencer has none). */
  epoch: string;
}

/** Encodes a `HistoryReply` from encoded events. */
export function encodeHistoryReply(answer: HistoryAnswer): Uint8Array {
  let size = 0;
  for (const e of answer.events) size += 1 + varintSize(e.length) + e.length;
  if (answer.recovered) size += 2;
  if (answer.seq > 0) size += 1 + varintSize(answer.seq);
  const epoch = Buffer.from(answer.epoch, 'latin1');
  if (epoch.length > 0) size += 1 + varintSize(epoch.length) + epoch.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const e of answer.events) {
    out[pos++] = tagEvent;
    pos = writeVarint(out, pos, e.length);
    out.set(e, pos);
    pos += e.length;
  }
  if (answer.recovered) {
    out[pos++] = tagRecovered;
    out[pos++] = 1;
  }
  if (answer.seq > 0) {
    out[pos++] = tagSeq;
    pos = writeVarint(out, pos, answer.seq);
  }
  if (epoch.length > 0) {
    out[pos++] = tagEpoch;
    pos = writeVarint(out, pos, epoch.length);
    out.set(epoch, pos);
  }
  return out;
}

/** Reads a `HistoryReply` without decoding its events. Throws `WireError` on malformed bytes. */
export function readHistoryReply(bytes: Uint8Array): HistoryAnswer {
  const answer: HistoryAnswer = { events: [], recovered: false, seq: 0, epoch: '' };
  const r = new WireReader(bytes);
  while (!r.done) {
    const tag = r.tag();
    if (tag === tagEvent) answer.events.push(r.bytes());
    else if (tag === tagRecovered) answer.recovered = r.varint() !== 0;
    else if (tag === tagSeq) answer.seq = r.varint();
    else if (tag === tagEpoch) answer.epoch = latin1.decode(r.bytes());
    else r.skip(tag & 7);
  }
  return answer;
}

/** A history answer turned into the Batch frame the viewer gets, without decoding or copying each event on its own. */
export interface HistoryFrame {
  /** `ServerFrame{batch: Batch{events, room, history: true}}`, or undefined when there are no events. */
  frame: Uint8Array | undefined;
  events: number;
  recovered: boolean;
  seq: number;
  epoch: string;
}

/**
 * Turns `HistoryReply` bytes into a history Batch frame for `roomBytes`:
 * `HistoryReply.events` and `Batch.events` share a field number, so each event
 * field is copied as it stands, tag and length included, into one buffer
 * (one pass to measure, one to copy; no object per event). Throws
 * `WireError` on malformed bytes.
 */
export function historyFrameOf(reply: Uint8Array, roomBytes: Uint8Array): HistoryFrame {
  const r = new WireReader(reply);
  let eventBytes = 0;
  let events = 0;
  let recovered = false;
  let seq = 0;
  let epoch = '';
  while (!r.done) {
    const start = r.pos;
    const tag = r.tag();
    if (tag === tagEvent) {
      r.bytes();
      eventBytes += r.pos - start;
      events++;
    } else if (tag === tagRecovered) recovered = r.varint() !== 0;
    else if (tag === tagSeq) seq = r.varint();
    else if (tag === tagEpoch) epoch = latin1.decode(r.bytes());
    else r.skip(tag & 7);
  }
  if (events === 0) return { frame: undefined, events, recovered, seq, epoch };
  // Batch: events, room, history = true; inside ServerFrame.batch.
  const inner = eventBytes + 1 + varintSize(roomBytes.length) + roomBytes.length + 2;
  const out = Buffer.allocUnsafe(1 + varintSize(inner) + inner);
  out[0] = tagServerBatch;
  let pos = writeVarint(out, 1, inner);
  // Event fields are copied in runs (core writes them all first, so usually one run).
  const source = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  const copy = new WireReader(reply);
  let runStart = -1;
  let runEnd = -1;
  while (!copy.done) {
    const start = copy.pos;
    const tag = copy.tag();
    copy.skip(tag & 7);
    if (tag !== tagEvent) continue;
    if (start !== runEnd) {
      if (runStart >= 0) pos += source.copy(out, pos, runStart, runEnd);
      runStart = start;
    }
    runEnd = copy.pos;
  }
  if (runStart >= 0) pos += source.copy(out, pos, runStart, runEnd);
  out[pos++] = tagBatchRoom;
  pos = writeVarint(out, pos, roomBytes.length);
  out.set(roomBytes, pos);
  pos += roomBytes.length;
  out[pos++] = tagBatchHistory;
  out[pos] = 1;
  return { frame: out, events, recovered, seq, epoch };
}
