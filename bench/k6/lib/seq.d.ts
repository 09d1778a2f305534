// Types of seq.js, for the vitest suite that tests it (test/k6/lib.test.ts).

/** Follows one room's sequence numbers across a viewer's connections; see seq.js. */
export declare class SeqTracker {
  /** Highest seq up to which nothing is missing; -1 before the first base. */
  last: number;
  /** Seqs above `last` that arrived early. */
  ahead: Set<number>;
  /** Seqs counted as lost so far. */
  lost: number;
  base(seq: number): void;
  see(seq: number): boolean;
  settle(seq: number): number;
  drain(): void;
}

/** The highest event seq in an encoded ServerFrame batch, or 0; see seq.js. */
export declare function maxSeqOfBatch(bytes: Uint8Array): number;
