/**
 * Dead letters: batches a receiver did not take within the retry horizon,
 * kept for an operator to list and replay (`GET /api/v1/webhooks/dead`,
 * `POST /api/v1/webhooks/dead/:id/replay`). In one process a directory
 * (`dead-letters-file.ts`); clustered a JetStream stream every core shares
 * (`dead-letters-stream.ts`), so any core can list and replay what another
 * gave up on. Both are bounded: past `max` letters the oldest is dropped
 * (and counted), so a receiver gone for a week cannot fill the disk.
 */

/** One batch given up on. */
export interface DeadLetter {
  /** The store's id: sortable, oldest first. */
  id: string;
  /** The receiver that did not take it. */
  url: string;
  /** The `Barrage-Delivery` id it was last sent with. */
  delivery: string;
  /** When it was given up (ms since the epoch). */
  deadAtMs: number;
  /** When its oldest event arrived. */
  firstAtMs: number;
  attempts: number;
  /** The last failure: `HTTP 500`, `timeout`, `ECONNREFUSED`, ... */
  lastError: string;
  rooms: string[];
  /** The events' JSON texts, as they were sent. */
  events: string[];
}

/** A dead letter before the store gave it an id. */
export type NewDeadLetter = Omit<DeadLetter, 'id'>;

/** A page of dead letters without their events (the list answer). */
export type DeadLetterSummary = Omit<DeadLetter, 'events'> & { eventCount: number };

/** Where dead letters are kept. */
export interface DeadLetterStore {
  /** Keeps a letter; resolves with its id. Drops the oldest when full. */
  add(letter: NewDeadLetter): Promise<string>;
  /** Up to `limit` letters after `after` (an id; from the oldest when absent), oldest first. */
  list(options: { limit: number; after?: string }): Promise<DeadLetterSummary[]>;
  /** One letter, or undefined when there is none with that id (never was, replayed, or dropped). */
  get(id: string): Promise<DeadLetter | undefined>;
  /** Forgets a letter (replayed); true when it was there. */
  remove(id: string): Promise<boolean>;
  /** Letters held now. */
  count(): Promise<number>;
  /** Letters dropped because the store was full, since start. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** The summary of a letter. */
export function summaryOf(letter: DeadLetter): DeadLetterSummary {
  const { events, ...rest } = letter;
  return { ...rest, eventCount: events.length };
}

/** A letter's JSON, checked as far as the store needs; undefined when the bytes are not one. */
export function parseDeadLetter(id: string, text: string): DeadLetter | undefined {
  try {
    const o = JSON.parse(text) as Partial<DeadLetter>;
    if (typeof o.url !== 'string' || !Array.isArray(o.events) || !o.events.every((e) => typeof e === 'string')) return undefined;
    return {
      id,
      url: o.url,
      delivery: String(o.delivery ?? ''),
      deadAtMs: Number(o.deadAtMs ?? 0),
      firstAtMs: Number(o.firstAtMs ?? 0),
      attempts: Number(o.attempts ?? 0),
      lastError: String(o.lastError ?? ''),
      rooms: Array.isArray(o.rooms) ? o.rooms.map(String) : [],
      events: o.events,
    };
  } catch {
    return undefined;
  }
}
