/**
 * A latency histogram with logarithmic buckets (2% wide, 1 µs to ~100 s):
 * constant memory, cheap to record into, and mergeable across processes.
 */
const growth = 1.02;
const logGrowth = Math.log(growth);
/** Buckets cover 1 µs .. growth^bucketCount µs. */
export const bucketCount = 1300;

/** Counts of latencies per bucket. */
export class Histogram {
  readonly counts = new Uint32Array(bucketCount);
  total = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    let i = us <= 1 ? 0 : Math.floor(Math.log(us) / logGrowth);
    if (i >= bucketCount) i = bucketCount - 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  /** Non-empty buckets as [index, count] pairs (small enough for IPC). */
  toSparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < bucketCount; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i] as number]);
    return out;
  }

  /** Adds buckets from `toSparse()`. */
  addSparse(sparse: ReadonlyArray<readonly [number, number]>): void {
    for (const [i, c] of sparse) {
      this.counts[i] = (this.counts[i] as number) + c;
      this.total += c;
    }
  }

  /** The latency in milliseconds at quantile `q` (0..1), upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < bucketCount; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.pow(growth, i + 1) / 1000;
    }
    return Math.pow(growth, bucketCount) / 1000;
  }
}
