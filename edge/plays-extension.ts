/**
 * Plays at the edge, as an `EdgeExtension`: a viewer's `grab_red_packet`,
 * `vote` and `join_lottery`, and a host's or admin's `start_poll` and
 * `start_lottery` (anyone else: FORBIDDEN).
 *
 * Guests are refused (READ_ONLY), play frames cost the same per-connection budget
 * as danmaku (`BARRAGE_DANMAKU_RATE` / `BARRAGE_DANMAKU_BURST`, a bucket of its own
 * so grabbing does not silence chat), and the rest is core's: the edge asks
 * core on `barrage.room.<id>.play` and answers the viewer with a
 * `PlayAnswer`, the share or the reason. When core does not answer in time
 * the answer is UNAVAILABLE with a retry hint; grabbing again is safe (one
 * share per user, whatever the number of tries or edges).
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { subjects } from '../domain/subjects.js';
import { roleToWire } from './connection.js';
import { askCore } from './ask-core.js';
import type { Conn, Socket } from './connection.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';
import { fullBucket, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';

/** How long the edge waits for core's answer to a grab (core answers UNAVAILABLE itself after 4 s). */
export const playTimeoutMs = 5_000;
/** Longest play id accepted in a frame. */
const maxPlayIdLength = 64;

/** The id of a play a start frame opened, from core's JSON answer ('' if it has none). */
function startedId(reply: v1.PlayReply): string {
  if (!reply.json) return '';
  try {
    const id = (JSON.parse(reply.json) as { id?: unknown }).id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

/** Builds the plays extension. */
export function playsExtension(): EdgeExtension {
  const buckets = new WeakMap<Conn, BucketState>();

  const answer = (
    c: EdgeContext,
    ws: Socket,
    playId: string,
    error: v1.ErrorCode,
    message: string,
    extra: Partial<v1.IPlayAnswer> = {},
  ): void => {
    c.send(ws, v1.ServerFrame.encode({ playAnswer: { playId, error, message, ...extra } }).finish());
  };

  /**
   * Checks a play frame (guest, id, rate) and forwards it to core as `request`;
   * the viewer gets core's answer as a PlayAnswer for `playId`.
   */
  const forward = (c: EdgeContext, ws: Socket, playId: string, now: number, request: v1.IPlayRequest, what: string): void => {
    const conn = ws.getUserData();
    if (conn.identity.role === 'guest') {
      return answer(c, ws, playId.slice(0, maxPlayIdLength), ErrorCode.ERROR_CODE_READ_ONLY, `guests can only read; sign in to ${what}`);
    }
    if (playId.length > maxPlayIdLength) {
      return answer(c, ws, '', ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `a play id is 1-${maxPlayIdLength} characters`);
    }
    const { danmakuPerSecond, danmakuBurst } = c.config;
    let bucket = buckets.get(conn);
    if (!bucket) buckets.set(conn, (bucket = fullBucket(danmakuBurst, now)));
    const wait = take(bucket, danmakuPerSecond, danmakuBurst, now);
    if (wait > 0) {
      c.metrics.rateLimited.inc({ limit: 'plays' });
      return answer(c, ws, playId, ErrorCode.ERROR_CODE_RATE_LIMITED, `${what}: too fast`, { retryAfterMs: wait });
    }
    const { identity } = conn;
    const encoded = v1.PlayRequest.encode({
      ...request,
      user: { id: identity.userId, name: identity.name, role: roleToWire[identity.role] },
      member: identity.member,
    }).finish();
    const ask = { subject: subjects.play(conn.room), body: encoded, timeoutMs: playTimeoutMs, what: `play frame (${what})` };
    askCore(c, conn, ask, v1.PlayReply.decode, (r) => {
      if (!r)
        return answer(c, ws, playId, ErrorCode.ERROR_CODE_UNAVAILABLE, `${what}: not confirmed yet; try again`, { retryAfterMs: 1000 });
      answer(c, ws, playId || startedId(r), r.error, r.message, {
        amountCents: r.amountCents,
        ...(r.error === ErrorCode.ERROR_CODE_UNAVAILABLE ? { retryAfterMs: 1000 } : {}),
      });
    });
  };

  const onGrab = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const id = frame.grabRedPacket?.id ?? '';
    if (id === '') return answer(c, ws, '', ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a red packet id is required');
    forward(c, ws, id, now, { grabRedPacket: { id } }, 'grab');
  };

  const onVote = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const pollId = frame.vote?.pollId ?? '';
    if (pollId === '') return answer(c, ws, '', ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a poll id is required');
    forward(c, ws, pollId, now, { vote: { pollId, option: frame.vote?.option ?? 0 } }, 'vote');
  };

  const onJoin = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const id = frame.joinLottery?.id ?? '';
    if (id === '') return answer(c, ws, '', ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a lottery id is required');
    forward(c, ws, id, now, { joinLottery: { id } }, 'join');
  };

  /** A host's or admin's start of a play (anyone else: FORBIDDEN; a guest: READ_ONLY). */
  const starter =
    (what: string, request: (frame: v1.ClientFrame) => v1.IPlayRequest) =>
    (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
      const { role } = ws.getUserData().identity;
      if (role !== 'host' && role !== 'admin' && role !== 'guest') {
        return answer(c, ws, '', ErrorCode.ERROR_CODE_FORBIDDEN, `only the host or an admin may ${what}`);
      }
      forward(c, ws, '', now, request(frame), what);
    };

  // A play from the socket has no idempotency key: each start opens one.
  const onStartPoll = starter('start a poll', (frame) => ({ createPoll: { ...frame.startPoll, idempotencyKey: '' } }));
  const onStartLottery = starter('start a lottery', (frame) => ({ createLottery: { ...frame.startLottery, idempotencyKey: '' } }));

  return {
    name: 'plays',
    frames: { grabRedPacket: onGrab, vote: onVote, joinLottery: onJoin, startPoll: onStartPoll, startLottery: onStartLottery },
  };
}
