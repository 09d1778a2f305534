/**
 * Join notices at the edge (`BARRAGE_JOIN_NOTICES`), as an `EdgeExtension`:
 * each signed-in viewer who joins a room (not a guest, and not a reconnect
 * that resumes) is noted; every window the edge reports, per room, the
 * first few to name and how many joined to core (`barrage.joins`), which
 * sums every edge's into one line per room (core/joins/joins.ts).
 *
 * Memory: per room joined in the current window, at most `maxNamed` users
 * and a set of ids to count each user once per window (bounded by
 * `maxCounted`; past it joins are counted without telling repeats apart).
 */
import { v1 } from '../proto/index.js';
import { subjects } from '../domain/subjects.js';
import { userOf } from './connection.js';
import type { Conn } from './connection.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';

/** Users named in one notice. */
export const maxNamed = 3;
/** Ids kept per room per window to count a user once. */
const maxCounted = 10_000;

interface RoomJoins {
  named: v1.IUser[];
  ids: Set<string>;
  count: number;
}

/** The join-notice extension; `windowMs` is `BARRAGE_JOIN_NOTICE_MS`. */
export function joinsExtension(options: { windowMs: number }): EdgeExtension {
  let rooms = new Map<string, RoomJoins>();
  let timer: NodeJS.Timeout | undefined;
  let context: EdgeContext | undefined;

  const flush = (): void => {
    if (!context || rooms.size === 0) return;
    const report: Record<string, v1.IJoinNotice> = {};
    for (const [room, r] of rooms) report[room] = { users: r.named, count: r.count };
    rooms = new Map();
    context.bus.publish(subjects.joins, v1.EdgeJoins.encode({ edgeId: context.config.edgeId, rooms: report }).finish());
  };

  return {
    name: 'joins',
    onOpen(conn: Conn) {
      const { identity } = conn;
      if (identity.role === 'guest' || conn.since >= 0) return;
      let r = rooms.get(conn.room);
      if (!r) rooms.set(conn.room, (r = { named: [], ids: new Set(), count: 0 }));
      if (r.ids.has(identity.userId)) return;
      if (r.ids.size < maxCounted) r.ids.add(identity.userId);
      r.count++;
      if (r.named.length < maxNamed) r.named.push(userOf(identity));
    },
    start(ctx: EdgeContext) {
      context = ctx;
      timer = setInterval(flush, options.windowMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
