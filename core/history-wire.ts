/**
 * The history answer (`HistoryReply`) on the wire, built from and read into
 * the events' stored bytes: core answers a join or resume by concatenating
 * what it already holds encoded, and the edge turns the answer into a Batch
 * frame by copying those bytes again, so a resume costs copies, never a
 * decode and re-encode of every event (a guest could make the edge and core
 * do that a thousand events at a time).
 *
 * HistoryReply { events (1): Event..., recovered (2): bool, seq (3): uint64 }
 */
import { WireReader, WireType, tagOf, varintSize, writeVarint } from '../proto/wire.js';

const tagEvent = tagOf(1, WireType.Len);
const tagRecovered = tagOf(2, WireType.Varint);
const tagSeq = tagOf(3, WireType.Varint);

/** A history answer with its events still encoded. */
export interface HistoryAnswer {
  /** Encoded `Event`s, oldest first (views into the reply's bytes when read). */
  events: Uint8Array[];
  recovered: boolean;
  /** The room's latest seq. */
  seq: number;
}

/** Encodes a `HistoryReply` from encoded events. */
export function encodeHistoryReply(answer: HistoryAnswer): Uint8Array {
  let size = 0;
  for (const e of answer.events) size += 1 + varintSize(e.length) + e.length;
  if (answer.recovered) size += 2;
  if (answer.seq > 0) size += 1 + varintSize(answer.seq);
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
    writeVarint(out, pos, answer.seq);
  }
  return out;
}

/** Reads a `HistoryReply` without decoding its events. Throws `WireError` on malformed bytes. */
export function readHistoryReply(bytes: Uint8Array): HistoryAnswer {
  const answer: HistoryAnswer = { events: [], recovered: false, seq: 0 };
  const r = new WireReader(bytes);
  while (!r.done) {
    const tag = r.varint();
    if (tag === tagEvent) answer.events.push(r.bytes());
    else if (tag === tagRecovered) answer.recovered = r.varint() !== 0;
    else if (tag === tagSeq) answer.seq = r.varint();
    else r.skip(tag & 7);
  }
  return answer;
}
