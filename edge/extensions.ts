/**
 * How features plug into the edge without editing it: likes, gifts and
 * moderation each come as an `EdgeExtension` that handles its frame kinds,
 * may refuse or rewrite a danmaku before it is sequenced, and may refuse a
 * connection at upgrade.
 */
import type { Logger } from 'pino';
import type { v1 } from '../proto/index.js';
import type { Identity } from '../domain/auth.js';
import type { Bus } from '../domain/bus.js';
import type { EdgeConfig } from '../domain/config.js';
import type { Conn, Socket } from './connection.js';
import type { EdgeMetrics } from './metrics.js';
import type { ValidDanmaku } from './validate.js';

/** What the edge offers an extension. */
export interface EdgeContext {
  readonly config: EdgeConfig;
  readonly bus: Bus;
  readonly log: Logger;
  readonly metrics: EdgeMetrics;
  /** Sends an Error frame (counted by code). */
  sendError(ws: Socket, code: v1.ErrorCode, message: string, clientMsgId?: string, retryAfterMs?: number): void;
  /** Sends an encoded ServerFrame to one socket. */
  send(ws: Socket, frame: Uint8Array): void;
  /** Closes a socket with a documented close code. */
  closeSocket(ws: Socket, code: number): void;
  /** Every open socket of `room` on this edge. */
  socketsOf(room: string): Iterable<Socket>;
  /** Rooms with viewers on this edge. */
  hostedRooms(): string[];
}

/** Handles one client frame kind; `frame` is decoded, `now` is Date.now(). */
export type FrameHandler = (ctx: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number) => void;

/** Frame kinds an extension may handle (the edge handles danmaku, ping and resume itself). */
export type ExtensionFrameKind =
  'like' | 'sendGift' | 'moderate' | 'grabRedPacket' | 'report' | 'vote' | 'joinLottery' | 'startPoll' | 'startLottery';

/** The verdict of a danmaku policy: send (optionally with rewritten text), or refuse with a code. */
export type DanmakuVerdict =
  { ok: true; text?: string } | { ok: false; code: v1.ErrorCode; message: string; retryAfterMs?: number; close?: number };

/** The verdict of an admission check at upgrade. */
export type AdmissionVerdict = { ok: true } | { ok: false; status: string; reason: string; message: string };

/** A feature plugged into the edge. */
export interface EdgeExtension {
  /** A name for logs. */
  readonly name: string;
  /** Handlers for the frame kinds this extension owns. */
  readonly frames?: Partial<Record<ExtensionFrameKind, FrameHandler>>;
  /** Runs, in order, on every valid danmaku before it is sequenced; the first refusal wins. */
  danmakuPolicy?(conn: Conn, danmaku: ValidDanmaku, now: number): DanmakuVerdict;
  /**
   * Puts a danmaku in the room's held queue for a moderator (the moderation
   * extension; the moderation callback's `hold` uses it); the refusal the
   * sender is told.
   */
  holdDanmaku?(conn: Conn, danmaku: ValidDanmaku, why: string, now: number): DanmakuVerdict & { ok: false };
  /**
   * The room's current state for a viewer just welcomed (an active pin, slow
   * mode, room modes) as unsequenced events (seq 0), sent after the history.
   */
  welcomeEvents?(room: string, now: number): v1.IEvent[];
  /** A connection opened (after admission; `conn.since >= 0` for a reconnect that resumes); `ws` to send to it. */
  onOpen?(conn: Conn, ws: Socket): void;
  /** A connection that was opened closed (for any reason). */
  onClose?(conn: Conn): void;
  /** Runs at upgrade, after the token check. Must be synchronous. */
  admit?(identity: Identity, room: string): AdmissionVerdict;
  /** Called once the edge listens. */
  start?(ctx: EdgeContext): void | Promise<void>;
  /** Called at shutdown, before sockets close. */
  stop?(): void | Promise<void>;
}
