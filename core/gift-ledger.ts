/**
 * The gift ledger remembers which paid ids (receipt `jti`s, Idempotency-Keys)
 * core has recorded, so each is shown and counted once, across every edge and
 * every retry. Two implementations: `MemoryGiftLedger` (single process, a
 * bounded map) and `KvGiftLedger` (NATS KV bucket `BARRAGE_GIFTS`, shared by
 * every core).
 *
 * A paid id goes through two states: *pending* (claimed by one core, being
 * stored) and *done* (stored, with the seq and event it got). Claiming is
 * atomic (`create` only succeeds for a new key), so two cores never both
 * store one id; a retry that finds it done gets the first answer.
 */

/** What was recorded for a paid id. */
export interface LedgerRecord {
  seq: number;
  /** The encoded Event as first recorded. */
  event: Uint8Array;
  /** Hash of the request that first used the id. */
  fingerprint: string;
}

/** The answer to a claim. */
export type Claim =
  | { kind: 'claimed' }
  | { kind: 'done'; record: LedgerRecord }
  /** Another core is storing it right now; the caller should answer "retry". */
  | { kind: 'busy' };

/** Remembers recorded paid ids. */
export interface GiftLedger {
  /** Claims `id` for this core, unless it is done or another core holds a fresh claim. */
  claim(id: string): Promise<Claim>;
  /** Marks `id` done with what it recorded. */
  complete(id: string, record: LedgerRecord): Promise<void>;
  close(): Promise<void>;
}

/** A pending claim older than this is taken over (its core is presumed dead). */
export const claimLeaseMs = 30_000;
