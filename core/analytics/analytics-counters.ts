/**
 * Which counter events (online, likes, leaderboard) the analytics sink
 * stores. Core pushes counters to viewers at least every 2 s per room, as
 * heartbeats, and an online count for every room anyone has open: a guest
 * joining a made-up room id is enough. Stored as they come, a script
 * joining thousands of random rooms would write rows for each of them every
 * 2 s, and an idle edge would keep the embedded engine busy with inserts and
 * merges (which is what made idle connections look expensive with analytics
 * on; docs/benchmarks.md). So counters are kept only where they say something:
 *
 * - **online**: only for rooms that had a sequenced event (seq > 0: chat, a
 *   gift, a moderation action or notice, none of which a guest can cause),
 *   and at most one row per room and minute, the minute's peak. The rollup's
 *   `online_max` (peak) is exactly what it was; `avgOnline` becomes the mean
 *   of per-minute peaks. One row a minute also keeps a steady room on the
 *   "Online" chart, which "only when it changed" would leave blank.
 * - **likes**: only when `delta > 0`. The rollup sums deltas, so the
 *   heartbeats core sends while nobody taps (delta 0) add nothing.
 * - **leaderboard**: only when it differs from the room's last stored one
 *   (gifts themselves are stored as events; the board is derived from them).
 *
 * The policy keeps a little state per room: the held peak of the current
 * minute (only for rooms with seq > 0, released every minute) and the last
 * leaderboard (only for rooms that had a gift, forgotten after
 * `boardMemoryMs` without one).
 */
import { v1 } from '../../proto/index.js';
import { eventKindField, isCounterField } from '../../domain/event-kind.js';
import { EventKind } from '../../proto/gen/tables.js';

/** Online counts are stored at most once per room per this long: the rollup's minute. */
export const onlineSampleMs = 60_000;

/** A room's last stored leaderboard is forgotten after this long without a push. */
const boardMemoryMs = 10 * 60_000;

interface HeldOnline {
  minute: number;
  count: number;
  bytes: Uint8Array;
  recvMs: number;
}

/** What becomes of one counter event. */
const Verdict = { Store: 0, Skip: 1, Held: 2 } as const;
type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Where the policy hands the counter events to store now: the encoded event and when it was received. */
export type CounterEmit = (bytes: Uint8Array, recvMs: number) => void;

/** Decides which counter events reach the store; see the file header for why. */
export class CounterPolicy {
  /** Counter events left out (held samples that lost to a higher one included). */
  skipped = 0;
  private readonly online = new Map<string, HeldOnline>();
  private readonly boards = new Map<string, { key: string; at: number }>();
  private readonly due: Array<{ bytes: Uint8Array; recvMs: number }> = [];

  /**
   * True when `bytes` is a counter event that must not be stored now (left
   * out, or held as the minute's online peak). False for every other event,
   * and for counters to store as they are. Bytes that do not decode are
   * let through: `eventRow` decides what is malformed.
   */
  intercepts(bytes: Uint8Array, recvMs: number): boolean {
    const field = eventKindField(bytes);
    if (!isCounterField(field)) return false;
    let event: v1.Event;
    try {
      event = v1.Event.decode(bytes);
    } catch {
      return false;
    }
    const verdict = this.verdictOf(field, event, bytes, recvMs);
    if (verdict === Verdict.Skip) this.skipped++;
    return verdict !== Verdict.Store;
  }

  private verdictOf(field: number, event: v1.Event, bytes: Uint8Array, recvMs: number): Verdict {
    if (field === EventKind.online) return this.offerOnline(event, bytes, recvMs);
    if (field === EventKind.likes) return Number(event.likes?.delta ?? 0) > 0 ? Verdict.Store : Verdict.Skip;
    // A line for viewers ("Alice and 23 others joined"), not a measure: presence is what counts people.
    if (field === EventKind.joinNotice) return Verdict.Skip;
    return this.boardChanged(event, recvMs) ? Verdict.Store : Verdict.Skip;
  }

  /** An online count is never stored as it comes: it is held as the minute's peak, or left out. */
  private offerOnline(event: v1.Event, bytes: Uint8Array, recvMs: number): Verdict {
    // No sequenced event in this room, ever: nobody but viewers (maybe guests) was there.
    if (!event.room || Number(event.seq ?? 0) === 0) return Verdict.Skip;
    const count = Number(event.online?.count ?? 0);
    const minute = Math.floor(Number(event.tsMs ?? 0) / onlineSampleMs);
    const held = this.online.get(event.room);
    if (held && held.minute === minute) {
      // Of the held sample and this one, the lower is left out.
      if (count > held.count) Object.assign(held, { count, bytes: bytes.slice(), recvMs });
      return Verdict.Skip;
    }
    if (held) this.due.push({ bytes: held.bytes, recvMs: held.recvMs });
    this.online.set(event.room, { minute, count, bytes: bytes.slice(), recvMs });
    return Verdict.Held;
  }

  private boardChanged(event: v1.Event, recvMs: number): boolean {
    if (!event.room || !event.leaderboard) return true;
    const key = Buffer.from(v1.Leaderboard.encode(event.leaderboard).finish()).toString('base64');
    const last = this.boards.get(event.room);
    this.boards.set(event.room, { key, at: recvMs });
    return last?.key !== key;
  }

  /** Hands `emit` the online peaks displaced by a sample of a later minute. Cheap: call after every `intercepts`. */
  releaseDisplaced(emit: CounterEmit): void {
    if (this.due.length === 0) return;
    for (const d of this.due.splice(0)) emit(d.bytes, d.recvMs);
  }

  /**
   * Hands `emit` the held peaks of minutes that ended before `nowMs`, or
   * every held peak when `nowMs` is undefined (flush, stop), and forgets
   * leaderboards not pushed for a while. Walks every held room: call it on
   * a timer, not per event.
   */
  release(emit: CounterEmit, nowMs?: number): void {
    this.releaseDisplaced(emit);
    const current = nowMs === undefined ? Infinity : Math.floor(nowMs / onlineSampleMs);
    for (const [room, held] of this.online) {
      if (held.minute >= current) continue;
      this.online.delete(room);
      emit(held.bytes, held.recvMs);
    }
    if (nowMs !== undefined) for (const [room, b] of this.boards) if (nowMs - b.at > boardMemoryMs) this.boards.delete(room);
  }
}
