/**
 * Where polls, lotteries and red-packet keyword eligibility are kept, so a
 * restarted core goes on with them (red packets themselves and their grabs
 * are in `RedPacketStore`). Two implementations: `MemoryPlayStateStore` (one
 * process) and `KvPlayStateStore` (NATS KV bucket `BARRAGE_PLAY_STATE`).
 *
 * A play is a JSON record written once (`create`, atomic: a second create of
 * the same kind, room and id answers the stored record) and replaced when it
 * ends. Each user's part in it (a vote, a lottery entry, "sent the keyword")
 * is one entry: `enter(..., once = true)` is a compare-and-set that fails
 * when the user has an entry already, which is what keeps one vote or one
 * entry per user even if two cores answered; `once = false` replaces it (a
 * changed vote). An entry is durable once `enter` resolves.
 */

/** What a record belongs to: a poll, a lottery, or a red packet's keyword eligibility (entries only). */
export type PlayStateKind = 'poll' | 'lottery' | 'keyword';

/** A stored play. */
export interface PlayRecord<T> {
  room: string;
  id: string;
  record: T;
}

/** Keeps plays' records and their users' entries. */
export interface PlayStateStore {
  /** Stores a new record; when one with its kind, room and id exists, answers that one and stores nothing. */
  create<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<{ created: boolean; record: T }>;
  /** Replaces a record (its end). */
  update<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<void>;
  get<T>(kind: PlayStateKind, room: string, id: string): Promise<T | undefined>;
  /** Every record of `kind` still kept (a restarted core reloads the open ones). */
  list<T>(kind: PlayStateKind): Promise<Array<PlayRecord<T>>>;
  /**
   * Records `user`'s entry; with `once`, false (nothing written) when the
   * user has one already, else it is replaced.
   */
  enter<T>(kind: PlayStateKind, room: string, id: string, user: string, entry: T, once: boolean): Promise<boolean>;
  /** The entries of a play by user id. */
  entries<T>(kind: PlayStateKind, room: string, id: string): Promise<Map<string, T>>;
  /** Forgets a play's record (an ended play nobody reads any more); its entries go with the store's TTL or at once. */
  forget(kind: PlayStateKind, room: string, id: string): Promise<void>;
  close(): Promise<void>;
}
