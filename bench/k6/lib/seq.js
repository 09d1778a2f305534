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
