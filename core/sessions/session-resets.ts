/**
 * Like and gift totals are per live session: when a room's session starts,
 * every core starts the room's like total and leaderboard from zero. The
 * start is announced on `barrage.session` to every core (not a queue group:
 * each core holds the totals of the rooms it counted).
 */
import type { Logger } from 'pino';
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';

/** What a session start resets. */
export interface SessionTotals {
  resetRoom(room: string): void;
}

/** Resets `totals` of a room when its session starts. */
export class SessionResets {
  private sub: Subscription | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly totals: readonly SessionTotals[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.sub = this.bus.subscribe(subjects.session, (data) => {
      let event: v1.Event;
      try {
        event = v1.Event.decode(data);
      } catch (err) {
        this.logger.warn({ err }, 'dropping undecodable session announcement');
        return;
      }
      if (!event.session || !event.room || event.session.state !== v1.LiveSessionState.LIVE_SESSION_STATE_STARTED) return;
      for (const t of this.totals) t.resetRoom(event.room);
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
