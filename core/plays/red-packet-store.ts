/**
 * Where red packets and their grabs are kept. Two implementations:
 * `MemoryRedPacketStore` (one process) and `KvRedPacketStore` (NATS KV bucket
 * `BARRAGE_PLAYS`, replicated, surviving a core restart).
 *
 * A packet is written once, with its shares already drawn. Grabs are
 * appended in batches, each batch stored under the number of its first slot:
 * `appendGrabs(start, grabs)` succeeds only if no batch starts at `start`
 * yet, which is the compare-and-set. Whoever appends computes `start` from
 * the batches it has read (the sum of their lengths), so a writer with a
 * stale view, or one retrying a write whose answer it lost, finds the slot
 * taken, reads the batches from there and learns what happened: no slot is
 * ever given twice and no recorded grab is lost. The batch is the grab's
 * record: once `appendGrabs` resolves true, the grab is durable.
 */

/** One user's share of a packet. */
export interface GrabRecord {
  userId: string;
  name: string;
  /** The share's index in the packet's list. */
  slot: number;
  amountCents: number;
  atMs: number;
}

/** A packet as stored. */
export interface StoredRedPacket {
  room: string;
  id: string;
  /** Hash of the request that created it, to tell an API retry from a reused Idempotency-Key. */
  fingerprint: string;
  sender: { id: string; name: string };
  totalCents: number;
  count: number;
  mode: 'random' | 'equal';
  minCents: number;
  createdAtMs: number;
  expiresAtMs: number;
  membersOnly: boolean;
  keyword: string;
  greeting: string;
  /** The shares, drawn at creation, in grab order. */
  shares: number[];
  /** Seq of the `red_packet` event that announced it (0 until announced). */
  openedSeq: number;
  /** Seq of its `red_packet_ended` event, once it ended. */
  endedSeq?: number;
}

/** Keeps red packets and their grabs. */
export interface RedPacketStore {
  /** Stores a new packet; when one with its room and id exists, answers that one and stores nothing. */
  create(packet: StoredRedPacket): Promise<{ created: boolean; packet: StoredRedPacket }>;
  get(room: string, id: string): Promise<StoredRedPacket | undefined>;
  /** Replaces a packet's mutable fields (`openedSeq`, `endedSeq`); the shares never change. */
  update(packet: StoredRedPacket): Promise<void>;
  /**
   * Records `grabs` as the batch of slots `start`, `start + 1`, ...; false
   * (nothing written) when a batch starting at `start` exists already.
   */
  appendGrabs(room: string, id: string, start: number, grabs: readonly GrabRecord[]): Promise<boolean>;
  /** The recorded grabs of slots `from` on, in slot order (the chain of batches from `from`). */
  grabs(room: string, id: string, from?: number): Promise<GrabRecord[]>;
  /** Packets that have not ended (what a restarted core must close when they expire). */
  unended(): Promise<StoredRedPacket[]>;
  close(): Promise<void>;
}

/** Follows the chain of batches from slot `from`: each batch starts where the previous one ended. */
export function chainFrom(batches: ReadonlyMap<number, readonly GrabRecord[]>, from: number): GrabRecord[] {
  const out: GrabRecord[] = [];
  for (let at = from, batch = batches.get(at); batch && batch.length > 0; at += batch.length, batch = batches.get(at)) {
    out.push(...batch);
  }
  return out;
}
