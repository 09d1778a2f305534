/**
 * Like totals in core. Edges add up `like` taps per room and report deltas
 * on `barrage.likes` every `likeFlushMs`; core keeps each room's total for
 * the live session and pushes `likes{total, delta}` when it changed, at most
 * once per `likePushMs` and at least every 2 s (a heartbeat for viewers who
 * just joined). Never one frame per like.
 *
 * Likes are counters: not stored or replayed, and a delta lost with a dying
 * edge or an at-most-once NATS hop is lost (they are never money).
 *
 * The heartbeat goes only to rooms someone watches, and a room with no like
 * and no viewer for `roomIdleMs` is forgotten (its total starts again from
 * zero), so a room liked once is not walked and pushed to forever.
 */
import type { Logger } from 'pino';
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { counterHeartbeatMs, defaultRoomIdleMs } from '../sequencing/sequencer.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { subjects } from '../../domain/subjects.js';

/** A room's total is pushed at least this often once it is above zero. */
export const likesHeartbeatMs = counterHeartbeatMs;

interface RoomLikes {
  total: number;
  pending: number;
  lastPushAt: number;
  lastLikeAt: number;
}

/** Options of the like counter. */
export interface LikeCounterOptions {
  bus: Bus;
  sequencer: Sequencer;
  logger: Logger;
  pushMs: number;
  now?: () => number;
  /** A room with no like and no viewer for this long is forgotten (default 10 minutes). */
  roomIdleMs?: number;
}

/** Queue group so that, with several cores, each delta is counted by one. */
const likesQueue = 'barrage-core';

/** Sums edges' like deltas into room totals and pushes them. */
export class LikeCounter {
  private readonly rooms = new Map<string, RoomLikes>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LikeCounterOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.sub = this.options.bus.subscribe(subjects.likes, (data) => this.onReport(data), { queue: likesQueue });
    this.timer = setInterval(() => this.push(), this.options.pushMs);
    this.timer.unref();
  }

  stop(): void {
    this.sub?.unsubscribe();
    clearInterval(this.timer);
  }

  /** The room's total this live session. */
  total(room: string): number {
    const r = this.rooms.get(room);
    return r ? r.total + r.pending : 0;
  }

  private onReport(data: Uint8Array): void {
    let report: v1.EdgeLikes;
    try {
      report = v1.EdgeLikes.decode(data);
    } catch (err) {
      this.options.logger.warn({ err }, 'dropping undecodable like report');
      return;
    }
    for (const [room, delta] of Object.entries(report.rooms)) {
      const n = Number(delta);
      if (!(n > 0)) continue;
      let r = this.rooms.get(room);
      if (!r) this.rooms.set(room, (r = { total: 0, pending: 0, lastPushAt: 0, lastLikeAt: 0 }));
      r.pending += n;
      r.lastLikeAt = this.now();
    }
  }

  /**
   * A new live session: the room's total starts from zero, pushed at the
   * next push (viewers see the counter go back to 0, not a stale total).
   */
  resetRoom(room: string): void {
    const r = this.rooms.get(room);
    if (!r) return;
    r.total = 0;
    r.pending = 0;
    r.lastPushAt = 0;
  }

  /** Rooms held (tests). */
  get roomCount(): number {
    return this.rooms.size;
  }

  private push(): void {
    const now = this.now();
    const idleMs = this.options.roomIdleMs ?? defaultRoomIdleMs;
    for (const [room, r] of this.rooms) {
      if (r.pending === 0) {
        if (this.options.sequencer.online(room) === 0) {
          // Nobody to tell; forget the room once it has been quiet long enough.
          if (now - r.lastLikeAt >= idleMs) this.rooms.delete(room);
          continue;
        }
        if (now - r.lastPushAt < likesHeartbeatMs - this.options.pushMs / 2) continue;
      }
      const delta = r.pending;
      r.total += delta;
      r.pending = 0;
      r.lastPushAt = now;
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(room),
        room,
        tsMs: now,
        likes: { total: r.total, delta },
      }).finish();
      this.options.bus.publish(subjects.events(room), event);
    }
  }
}
