/**
 * Plays at the edge, as an `EdgeExtension`: a viewer's `grab_red_packet`.
 *
 * Guests are refused (READ_ONLY), grabs cost the same per-connection budget
 * as danmaku (`BARRAGE_DANMAKU_RATE` / `BARRAGE_DANMAKU_BURST`, a bucket of its own
 * so grabbing does not silence chat), and the rest is core's: the edge asks
 * core on `barrage.room.<id>.play` and answers the viewer with a
 * `PlayAnswer`, the share or the reason. When core does not answer in time
 * the answer is UNAVAILABLE with a retry hint; grabbing again is safe (one
 * share per user, whatever the number of tries or edges).
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { subjects } from '../domain/subjects.js';
import { onMacrotask, roleToWire } from './connection.js';
import type { Conn, Socket } from './connection.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';
import { fullBucket, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';

/** How long the edge waits for core's answer to a grab (core answers UNAVAILABLE itself after 4 s). */
export const playTimeoutMs = 5_000;
/** Longest play id accepted in a frame. */
const maxPlayIdLength = 64;

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

  const onGrab = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const conn = ws.getUserData();
    const id = frame.grabRedPacket?.id ?? '';
    if (conn.identity.role === 'guest') {
      return answer(c, ws, id.slice(0, maxPlayIdLength), ErrorCode.ERROR_CODE_READ_ONLY, 'guests can only read; sign in to grab');
    }
    if (id === '' || id.length > maxPlayIdLength) {
      return answer(c, ws, '', ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `a red packet id is 1-${maxPlayIdLength} characters`);
    }
    const { danmakuPerSecond, danmakuBurst } = c.config;
    let bucket = buckets.get(conn);
    if (!bucket) buckets.set(conn, (bucket = fullBucket(danmakuBurst, now)));
    const wait = take(bucket, danmakuPerSecond, danmakuBurst, now);
    if (wait > 0) {
      c.metrics.rateLimited.inc({ limit: 'plays' });
      return answer(c, ws, id, ErrorCode.ERROR_CODE_RATE_LIMITED, 'grabbing too fast', { retryAfterMs: wait });
    }
    const { identity } = conn;
    const request = v1.PlayRequest.encode({
      user: { id: identity.userId, name: identity.name, role: roleToWire[identity.role] },
      member: identity.member,
      grabRedPacket: { id },
    }).finish();
    const reply = (r: v1.PlayReply | undefined): void => {
      if (conn.closed) return;
      if (!r) return answer(c, ws, id, ErrorCode.ERROR_CODE_UNAVAILABLE, 'grab not confirmed yet; grab again', { retryAfterMs: 1000 });
      answer(c, ws, id, r.error, r.message, {
        amountCents: r.amountCents,
        ...(r.error === ErrorCode.ERROR_CODE_UNAVAILABLE ? { retryAfterMs: 1000 } : {}),
      });
    };
    c.bus.request(subjects.play(conn.room), request, playTimeoutMs).then(
      (data) => {
        let r: v1.PlayReply | undefined;
        try {
          r = v1.PlayReply.decode(data);
        } catch (err) {
          c.log.error({ err }, 'undecodable play reply');
        }
        onMacrotask(reply, r);
      },
      (err: unknown) => {
        c.log.warn({ err: (err as Error).message, room: conn.room }, 'grab not answered by core');
        onMacrotask(reply, undefined);
      },
    );
  };

  return { name: 'plays', frames: { grabRedPacket: onGrab } };
}
