// Sequence bookkeeping, apart from anything k6-specific so vitest can test it
// (test/k6/seq.test.ts).

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

/** Reads a varint at `pos`; returns [value, next position]. Values stay below 2^53 (seqs). */
function varint(bytes, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    const b = bytes[pos++];
    if (b === undefined) throw new RangeError('truncated varint');
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

/**
 * The highest `seq` of the events in an encoded `ServerFrame` batch, or 0,
 * without decoding the frame: a walk over ServerFrame.batch (field 2) ->
 * Batch.events (field 1) -> Event.seq (field 1). Viewers that do not decode
 * every frame (k6 decodes slowly) use it to know where to resume from.
 */
export function maxSeqOfBatch(bytes) {
  let max = 0;
  const walk = (start, end, depth) => {
    let pos = start;
    while (pos < end) {
      let key;
      [key, pos] = varint(bytes, pos);
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) {
        let value;
        [value, pos] = varint(bytes, pos);
        if (depth === 2 && field === 1 && value > max) max = value;
      } else if (wire === 2) {
        let length;
        [length, pos] = varint(bytes, pos);
        // depth 0: ServerFrame, 1: Batch, 2: Event
        if ((depth === 0 && field === 2) || (depth === 1 && field === 1)) walk(pos, pos + length, depth + 1);
        pos += length;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else throw new RangeError(`unexpected wire type ${wire}`);
    }
  };
  walk(0, bytes.length, 0);
  return max;
}
