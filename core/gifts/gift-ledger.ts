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
 *
 * A pending claim older than the lease is taken over: its core is presumed
 * dead. That core may have stored the event and died before marking it done,
 * so a takeover says when the old claim was made (`takenOverFrom`), and the
 * gift service looks for the event in the room's stored paid events from
 * then before storing it again.
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
  /** Claimed for this core; `takenOverFrom` (ms) when it replaced another core's stale claim made then. */
  | { kind: 'claimed'; takenOverFrom?: number }
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
