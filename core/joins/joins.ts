/**
 * Join notices in core (`BARRAGE_JOIN_NOTICES`): edges report who joined
 * each room since their last report (`barrage.joins`, edge/joins.ts); core
 * sums every edge's reports of a window and pushes one `join_notice` per
 * room ("Alice, Bob and 23 others joined": the first few named, and the
 * count). A counter: never stored or replayed, one event per room per window
 * however many joined, and dropped first under load like the other counters.
 * Nothing is pushed for a window without joins.
 */
import type { Logger } from 'pino';
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';

/** Users named in one notice (as the edges name them). */
const maxNamed = 3;
/** Queue group so that, with several cores, each edge report is summed by one. */
const joinsQueue = 'barrage-core';

interface RoomJoins {
  named: v1.IUser[];
  count: number;
}

/** Options of the service. */
export interface JoinNoticeOptions {
  bus: Bus;
  sequencer: Sequencer;
  logger: Logger;
  windowMs: number;
  now?: () => number;
}

/** Sums edges' joins into one notice per room per window. */
export class JoinNotices {
  private rooms = new Map<string, RoomJoins>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JoinNoticeOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.sub = this.options.bus.subscribe(subjects.joins, (data) => this.onReport(data), { queue: joinsQueue });
    this.timer = setInterval(() => this.push(), this.options.windowMs);
    this.timer.unref();
  }

  stop(): void {
    this.sub?.unsubscribe();
    clearInterval(this.timer);
  }

  private onReport(data: Uint8Array): void {
    let report: v1.EdgeJoins;
    try {
      report = v1.EdgeJoins.decode(data);
    } catch (err) {
      this.options.logger.warn({ err }, 'dropping undecodable join report');
      return;
    }
    for (const [room, joined] of Object.entries(report.rooms)) {
      const count = Number(joined.count ?? 0);
      if (!(count > 0)) continue;
      let r = this.rooms.get(room);
      if (!r) this.rooms.set(room, (r = { named: [], count: 0 }));
      r.count += count;
      for (const user of joined.users ?? []) {
        if (r.named.length >= maxNamed) break;
        if (!r.named.some((u) => u.id === user.id)) r.named.push(user);
      }
    }
  }

  /** Every window: one notice per room someone joined. Public for tests. */
  push(): void {
    if (this.rooms.size === 0) return;
    const rooms = this.rooms;
    this.rooms = new Map();
    const now = this.now();
    for (const [room, r] of rooms) {
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(room),
        room,
        tsMs: now,
        joinNotice: { users: r.named, count: r.count },
      }).finish();
      this.options.bus.publish(subjects.events(room), event);
    }
  }
}
