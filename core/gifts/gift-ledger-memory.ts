/**
 * The single-process gift ledger: a map of paid ids, bounded in size and
 * age. Ids are kept for `ttlMs` (longer than any receipt lives, so a receipt
 * cannot be replayed while it is valid); past `maxEntries` the oldest are
 * forgotten first (counted in `evicted`, which operators should watch).
 */
import type { Claim, GiftLedger, LedgerRecord } from './gift-ledger.js';

interface Entry {
  record: LedgerRecord | undefined;
  at: number;
}

/** `GiftLedger` in memory. */
export class MemoryGiftLedger implements GiftLedger {
  /** Insertion order is age order: the oldest entry is the first. */
  private readonly entries = new Map<string, Entry>();
  /** Ids forgotten because the ledger was full before they aged out. */
  evicted = 0;

  constructor(
    private readonly options: { ttlMs: number; maxEntries: number; now?: () => number } = { ttlMs: 86_400_000, maxEntries: 1_000_000 },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async claim(id: string): Promise<Claim> {
    const now = this.now();
    this.expire(now);
    const entry = this.entries.get(id);
    if (entry?.record) return { kind: 'done', record: entry.record };
    // One process: a pending entry is a claim this core holds (the gift service joins those itself).
    if (entry) return { kind: 'busy' };
    this.entries.set(id, { record: undefined, at: now });
    return { kind: 'claimed' };
  }

  async complete(id: string, record: LedgerRecord): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) entry.record = record;
    else this.entries.set(id, { record, at: this.now() });
  }

  private expire(now: number): void {
    for (const [id, entry] of this.entries) {
      const old = now - entry.at >= this.options.ttlMs;
      if (!old && this.entries.size < this.options.maxEntries) break;
      if (!old) {
        // Full: forget the oldest recorded id; a pending one is being stored right now.
        if (!entry.record) break;
        this.evicted++;
      }
      this.entries.delete(id);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {}
}
