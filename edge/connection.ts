/**
 * Per-connection state and the small helpers every edge module shares.
 */
import type { WebSocket } from 'uWebSockets.js';
import { Role, v1 } from '../proto/index.js';
import type { Identity, RoleName } from '../domain/auth.js';
import type { IpBudget } from './ip-budget.js';
import { fullBucket } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { isVideoRoom } from '../domain/video-store.js';
import type { ValidDanmaku } from './validate.js';

/**
 * Per-connection state, kept in uWS user data.
 *
 * Idle viewers are most connections, so this stays small: uWebSockets.js
 * copies the object onto each socket, and V8 keeps an object with more than
 * 15 properties in a slower, larger dictionary form (measured: about 0.8 KB
 * more per socket at 18). What only a connection that resumes, moderates or
 * misbehaves needs is in `extra`, allocated on first need. A unit test keeps
 * `newConn` at 15 properties or fewer.
 */
export interface Conn {
  room: string;
  identity: Identity;
  /** Per-edge connection number; with the edge id it names the session. */
  session: number;
  /** Resume point from the URL (`since`), or -1 for a fresh join. */
  since: number;
  /** The epoch `since` belongs to (`epoch=` in the URL; empty when the client sent none). */
  sinceEpoch: string;
  frames: BucketState;
  danmaku: BucketState;
  /** The budget of the client's address, shared by its sockets (none for a local peer: see ip-budget.ts). */
  ip: IpBudget | undefined;
  /** Chat events uWS skipped for this socket because it read too slowly. */
  skipped: number;
  laggingSince: number;
  closed: boolean;
  /** The server ended this socket (counted by its close code); otherwise the client or the network did. */
  closedByServer: boolean;
  /** Allocated on first need (see `extraOf`). */
  extra: ConnExtra | undefined;
}

/** The part of a connection's state only some connections need. */
export interface ConnExtra {
  /** Resumes (each reads history from core). */
  resume: BucketState;
  /** Moderation frames. */
  moderate: BucketState;
  badFrames: number;
  /** Frames over the frame-rate limit in the current strike window. */
  strikes: number;
  strikeWindowStart: number;
  lastRateErrorAt: number;
}

/** What a new connection starts with. */
export function newConn(
  fields: Pick<Conn, 'room' | 'identity' | 'session' | 'since' | 'sinceEpoch' | 'ip'>,
  limits: { framesBurst: number; danmakuBurst: number },
  now: number,
): Conn {
  return {
    room: fields.room,
    identity: fields.identity,
    session: fields.session,
    since: fields.since,
    sinceEpoch: fields.sinceEpoch,
    frames: fullBucket(limits.framesBurst, now),
    danmaku: fullBucket(limits.danmakuBurst, now),
    ip: fields.ip,
    skipped: 0,
    laggingSince: 0,
    closed: false,
    closedByServer: false,
    extra: undefined,
  };
}

/** The connection's `extra`, allocated with full buckets on first need. */
export function extraOf(conn: Conn, limits: { resumeBurst: number; moderateBurst: number }, now: number): ConnExtra {
  return (conn.extra ??= {
    resume: fullBucket(limits.resumeBurst, now),
    moderate: fullBucket(limits.moderateBurst, now),
    badFrames: 0,
    strikes: 0,
    strikeWindowStart: now,
    lastRateErrorAt: 0,
  });
}

/** A socket of the edge. */
export type Socket = WebSocket<Conn>;

/** Roles as the wire enum. */
export const roleToWire: Readonly<Record<RoleName, v1.Role>> = {
  guest: Role.ROLE_GUEST,
  viewer: Role.ROLE_VIEWER,
  moderator: Role.ROLE_MODERATOR,
  host: Role.ROLE_HOST,
  admin: Role.ROLE_ADMIN,
};

/**
 * Who a connection is on the wire (`User`): id, name, role, and the badges and
 * medal its token gave (omitted when it has none, so most users cost no bytes
 * more).
 */
export function userOf(identity: Identity): v1.IUser {
  const user: v1.IUser = { id: identity.userId, name: identity.name, role: roleToWire[identity.role] };
  if (identity.badges) user.badges = [...identity.badges];
  if (identity.medal) user.medal = { name: identity.medal.name, level: identity.medal.level };
  return user;
}

/**
 * The wire danmaku a connection sends, from its validated text and style; in
 * a video room it keeps its video time (edge/video.ts checked it). Published
 * at once or held for a moderator, it is the same danmaku.
 */
export function danmakuOf(conn: Conn, d: ValidDanmaku): v1.IDanmaku {
  return {
    user: userOf(conn.identity),
    text: d.text,
    mode: d.mode,
    color: d.color,
    size: d.size,
    clientMsgId: d.clientMsgId,
    offsetMs: isVideoRoom(conn.room) ? d.videoMs : 0,
  };
}

/** The uWS topic of a room. */
export const topicOf = (room: string): string => 'r/' + room;

/** The uWS topic of one viewer group of a room (see edge/overload.ts); every socket is in exactly one. */
export const groupTopicOf = (room: string, group: number): string => `r/${room}/${group}`;

/** The identity every guest connection shares (read only; `room` is on the connection). */
export const guestIdentity: Identity = Object.freeze({ userId: 'guest', name: 'guest', room: '', role: 'guest', exp: 0, member: false });

/**
 * Runs `fn` on a fresh macrotask, never inside a uWebSockets.js callback: uWS
 * calls made from promise continuations (which can run at the end of another
 * socket's callback) go through this.
 */
export const onMacrotask = setImmediate;
