/**
 * Redelivered events, the one way a row could be counted twice. A durable
 * source delivers again what was not acknowledged: after a sink crashed
 * between the store accepting a batch and the ack, or after ClickHouse was
 * away for longer than the consumer's ack wait. The raw `events` table
 * collapses such a row (same identity), but the per-minute rollup is fed per
 * insert, keyed by batch, and a redelivered event arrives in another batch.
 *
 * So the sink keeps redelivered events in batches of their own, and before
 * such a batch is inserted the first time it asks the store which of its
 * events are there already and leaves those rows out. From then on the batch
 * is fixed bytes like any other, and retries deduplicate as usual.
 *
 * And a redelivery can overtake its first delivery: when the store is away
 * for longer than the ack wait, the source delivers again events whose first
 * delivery still waits in a batch. Those are left out at once (the first
 * delivery's ack covers both), by delivery id, which `RedeliveryFilter`
 * holds until the batch is stored or dropped.
 *
 * A stored (sequenced) event is identified by (room, seq). Counters repeat
 * the room's latest seq and never come from a durable source; they are kept.
 */
import { counterKindColumns, tsvUnescape } from './analytics-rows.js';
import { eventColumns } from './analytics-schema.js';
import type { AnalyticsStore } from './analytics-store.js';
import { sqlString, sqlUInt } from './analytics-store.js';

const ROOM = eventColumns.indexOf('room');
const SEQ = eventColumns.indexOf('seq');
const KIND = eventColumns.indexOf('kind');
const counterKinds: ReadonlySet<string> = new Set(counterKindColumns);
const counterList = counterKindColumns.map(sqlString).join(', ');

/** The sink's one place for redelivered events: which to leave out now, and which the store already has. */
export class RedeliveryFilter {
  /** Redelivered events left out: already held in a batch, or already in the store. */
  skipped = 0;
  /** Delivery ids of events in batches the store has not accepted yet. */
  private readonly held = new Set<number>();

  constructor(
    private readonly store: AnalyticsStore,
    private readonly table: string,
  ) {}

  /** True (and counted) when the event of delivery `id` already waits in a batch: leave this delivery out. */
  isHeld(id: number): boolean {
    if (!this.held.has(id)) return false;
    this.skipped++;
    return true;
  }

  /** The event of delivery `id` is in a batch now. */
  hold(id: number): void {
    this.held.add(id);
  }

  /** The batch holding these deliveries is done with (stored or dropped): a later delivery is new again. */
  release(ids: readonly number[]): void {
    for (const id of ids) this.held.delete(id);
  }

  /**
   * A batch of redelivered events without those the store has. Not counted
   * here: the caller adds `removed` to `skipped` once the batch is settled,
   * so an attempt that fails later and is retried does not count twice.
   */
  check(payload: Buffer): Promise<{ payload: Buffer; removed: number }> {
    return withoutStored(this.store, this.table, payload);
  }
}

/** Rooms per existence query: keeps each query far below the server's `max_query_size`. */
const roomsPerQuery = 500;

/** The rows of a batch without the events the store already has, and how many were left out. */
export async function withoutStored(store: AnalyticsStore, table: string, payload: Buffer): Promise<{ payload: Buffer; removed: number }> {
  const lines = payload.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  // Per room, the seq range of this batch's sequenced events.
  const ranges = new Map<string, { min: number; max: number }>();
  const keys: Array<string | undefined> = lines.map((line) => {
    const cols = line.split('\t', KIND + 1);
    if (counterKinds.has(cols[KIND] ?? '')) return undefined;
    const room = tsvUnescape(cols[ROOM] ?? '');
    const seq = Number(cols[SEQ]);
    const r = ranges.get(room);
    if (!r) ranges.set(room, { min: seq, max: seq });
    else {
      r.min = Math.min(r.min, seq);
      r.max = Math.max(r.max, seq);
    }
    return `${room}\n${seq}`;
  });
  const stored = new Set<string>();
  const rooms = [...ranges];
  for (let i = 0; i < rooms.length; i += roomsPerQuery) {
    const where = rooms
      .slice(i, i + roomsPerQuery)
      .map(([room, r]) => `(room = ${sqlString(room)} AND seq BETWEEN ${sqlUInt(r.min)} AND ${sqlUInt(r.max)})`)
      .join(' OR ');
    const rows = await store.query<{ room: string; seq: string | number }>(
      `SELECT room, seq FROM ${table} WHERE kind NOT IN (${counterList}) AND (${where})`,
    );
    for (const row of rows) stored.add(`${row.room}\n${Number(row.seq)}`);
  }
  if (stored.size === 0) return { payload, removed: 0 };
  const kept = lines.filter((_, i) => {
    const key = keys[i];
    return key === undefined || !stored.has(key);
  });
  const removed = lines.length - kept.length;
  if (removed === 0) return { payload, removed: 0 };
  return { payload: Buffer.from(kept.length ? kept.join('\n') + '\n' : ''), removed };
}
