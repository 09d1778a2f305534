// Sequence bookkeeping, apart from anything k6-specific so vitest can test it
// (test/k6/lib.test.ts). Field numbers and the wire reader come from the
// protobuf bundle (proto/gen/tables.ts, proto/wire.ts).
import { BatchField, EventField, ServerFrameField, WireReader, WireType } from './barrage-proto.js';

/**
 * Follows one room's sequence numbers across a viewer's connections, and
 * counts what never arrived. `last` is the highest seq up to which nothing is
 * missing; seqs above it that arrived early wait in `ahead`. A live batch
 * after the welcome settles everything below its last seq: events of a room
 * arrive in seq order and history comes before live batches, so a seq still
 * missing then was lost (or skipped, which the batch says).
 */
export class SeqTracker {
  constructor() {
    this.last = -1;
    this.ahead = new Set();
    this.lost = 0;
  }

  /** Everything up to `seq` is accounted for (a fresh join, or a resume the server could not recover). */
  base(seq) {
    if (seq > this.last) {
      for (const s of this.ahead) if (s <= seq) this.ahead.delete(s);
      this.last = seq;
    }
    this.drain();
  }

  /** Records one seq; returns false for one already seen. */
  see(seq) {
    if (seq <= this.last || this.ahead.has(seq)) return false;
    this.ahead.add(seq);
    // Before the welcome there is no base yet: keep it for later.
    if (this.last >= 0) this.drain();
    return true;
  }

  /** Counts every seq below `seq` that never came as lost and moves past them. */
  settle(seq) {
    if (this.last < 0) return 0;
    let lost = 0;
    while (this.last + 1 < seq) {
      this.last++;
      if (this.ahead.has(this.last)) this.ahead.delete(this.last);
      else lost++;
    }
    this.drain();
    this.lost += lost;
    return lost;
  }

  /** Moves `last` over the seqs that arrived early and are now contiguous. */
  drain() {
    while (this.ahead.has(this.last + 1)) {
      this.ahead.delete(this.last + 1);
      this.last++;
    }
  }
}

/**
 * The highest `seq` of the events in an encoded `ServerFrame` batch, or 0,
 * without decoding the frame: a walk over ServerFrame.batch -> Batch.events
 * -> Event.seq. Viewers that do not decode every frame (k6 decodes slowly)
 * use it to know where to resume from. Throws `WireError` on malformed bytes.
 */
export function maxSeqOfBatch(bytes) {
  let max = 0;
  const r = new WireReader(bytes);
  /** Calls `onField(number, wireType)` for each field up to `end`; it reads the value or returns false to skip it. */
  const fields = (end, onField) => {
    while (r.pos < end) {
      const tag = r.tag();
      if (!onField(tag >>> 3, tag & 7)) r.skip(tag & 7);
    }
  };
  const event = (field, wire) => {
    if (field !== EventField.seq || wire !== WireType.Varint) return false;
    max = Math.max(max, r.varint());
    return true;
  };
  const batch = (field, wire) => {
    if (field !== BatchField.events || wire !== WireType.Len) return false;
    fields(r.lengthEnd(), event);
    return true;
  };
  fields(bytes.length, (field, wire) => {
    if (field !== ServerFrameField.batch || wire !== WireType.Len) return false;
    fields(r.lengthEnd(), batch);
    return true;
  });
  return max;
}
