/**
 * Per-connection state and the small helpers every edge module shares.
 */
import type { WebSocket } from 'uWebSockets.js';
import { Role, v1 } from '../proto/index.js';
import type { Identity, RoleName } from '../core/auth.js';
import type { IpBudget } from './ip-budget.js';
import type { BucketState } from './rate-limit.js';

/** Per-connection state, kept in uWS user data. */
export interface Conn {
  room: string;
  identity: Identity;
  /** Per-edge connection number; with the edge id it names the session. */
  session: number;
  /** Resume point from the URL (`since`), or -1 for a fresh join. */
  since: number;
  frames: BucketState;
  danmaku: BucketState;
  /** Resumes (each reads history from core). */
  resume: BucketState;
  /** Moderation frames. */
  moderate: BucketState;
  /** The budget of the client's address, shared by its sockets (none for a local peer: see ip-budget.ts). */
  ip: IpBudget | undefined;
  badFrames: number;
  /** Frames over the frame-rate limit in the current strike window. */
  strikes: number;
  strikeWindowStart: number;
  lastRateErrorAt: number;
  /** Chat events uWS skipped for this socket because it read too slowly. */
  skipped: number;
  laggingSince: number;
  closed: boolean;
  /** The server ended this socket (counted by its close code); otherwise the client or the network did. */
  closedByServer: boolean;
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
