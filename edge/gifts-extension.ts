/**
 * Gifts and likes at the edge, as an `EdgeExtension`.
 *
 * `send_gift`: the receipt is verified here (signature, lifetime, room,
 * user: synchronous, before any await), then core is asked to record it
 * (request/reply on `barrage.room.<id>.paid`, not fire-and-forget: the edge
 * to core hop is at-most-once NATS). The viewer gets `Ack{seq}` only once core
 * says the gift is durable; `RECEIPT_REPLAYED` when the receipt was already
 * used (through any edge); `UNAVAILABLE` when core did not answer in time, in
 * which case sending the same receipt again is safe.
 *
 * `like`: taps are clamped per frame and per connection (the edge's token
 * bucket, `rate-limit.ts`, bursting to two seconds' worth; taps over it are
 * dropped without an error, so a fast tapper is never flooded with errors),
 * summed per room, and reported to core every `likeFlushMs`.
 */
import { ErrorCode, v1 } from '../proto/index.js';
import type { GiftConfig } from '../domain/config-gifts.js';
import { ReceiptError, verifyReceipt } from '../domain/receipts.js';
import { subjects } from '../domain/subjects.js';
import { userOf } from './connection.js';
import { askCore } from './ask-core.js';
import type { Conn, Socket } from './connection.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';
import { fullBucket, takeUpTo } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';

/** How long the edge waits for core to record a gift before telling the viewer to retry. */
export const paidTimeoutMs = 5_000;

/** Builds the gifts-and-likes extension. */
export function giftsExtension(config: GiftConfig): EdgeExtension {
  let ctx: EdgeContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  const likeBuckets = new WeakMap<Conn, BucketState>();
  const toldReadOnly = new WeakSet<Conn>();
  let pending = new Map<string, number>();

  const flushLikes = (): void => {
    if (!ctx || pending.size === 0) return;
    const rooms: Record<string, number> = {};
    for (const [room, n] of pending) rooms[room] = n;
    pending = new Map();
    ctx.bus.publish(subjects.likes, v1.EdgeLikes.encode({ edgeId: ctx.config.edgeId, rooms }).finish());
  };

  const onLike = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const conn = ws.getUserData();
    if (conn.identity.role === 'guest') {
      // Once per connection: a guest tapping the button is told, not flooded.
      if (!toldReadOnly.has(conn)) {
        toldReadOnly.add(conn);
        c.sendError(ws, ErrorCode.ERROR_CODE_READ_ONLY, 'guests can only read; sign in to like');
      }
      return;
    }
    const asked = Math.min(frame.like?.count || 1, config.likeMaxPerFrame);
    let bucket = likeBuckets.get(conn);
    const burst = config.likeRate * 2;
    if (!bucket) likeBuckets.set(conn, (bucket = fullBucket(burst, now)));
    const taken = takeUpTo(bucket, config.likeRate, burst, now, asked);
    if (taken < asked) c.metrics.rateLimited.inc({ limit: 'likes' }, asked - taken);
    if (taken > 0) pending.set(conn.room, (pending.get(conn.room) ?? 0) + taken);
  };

  const onGift = (c: EdgeContext, ws: Socket, frame: v1.ClientFrame, now: number): void => {
    const conn = ws.getUserData();
    const msg = frame.sendGift as v1.SendGift;
    const clientMsgId = (msg.clientMsgId ?? '').slice(0, 64);
    if (conn.identity.role === 'guest') {
      return c.sendError(ws, ErrorCode.ERROR_CODE_READ_ONLY, 'guests can only read; sign in to send gifts', clientMsgId);
    }
    let receipt;
    try {
      receipt = verifyReceipt(
        config.receiptSecret,
        msg.receipt ?? '',
        { room: conn.room, userId: conn.identity.userId, maxTtlSeconds: config.receiptMaxTtlSeconds },
        now,
      );
    } catch (err) {
      const message = err instanceof ReceiptError ? err.message : 'receipt invalid';
      return c.sendError(ws, ErrorCode.ERROR_CODE_RECEIPT_INVALID, message, clientMsgId);
    }
    const ackId = clientMsgId || receipt.jti;
    const request = v1.PaidRequest.encode({
      id: `r:${receipt.jti}`,
      user: { ...userOf(conn.identity), name: receipt.name ?? conn.identity.name },
      giftId: receipt.giftId ?? '',
      count: receipt.count,
      text: receipt.text ?? '',
      priceCents: receipt.priceCents,
    }).finish();
    const answer = (reply: v1.PaidReply | undefined): void => {
      if (!reply) {
        return c.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, 'gift not confirmed yet; send the same receipt again', ackId, 1000);
      }
      if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) {
        return c.sendError(ws, reply.error, reply.message, ackId, reply.error === ErrorCode.ERROR_CODE_UNAVAILABLE ? 1000 : 0);
      }
      if (reply.duplicate) {
        return c.sendError(
          ws,
          ErrorCode.ERROR_CODE_RECEIPT_REPLAYED,
          `receipt already used: recorded once as seq ${reply.seq}, not shown again`,
          ackId,
        );
      }
      c.send(ws, v1.ServerFrame.encode({ ack: { clientMsgId: ackId, seq: reply.seq } }).finish());
    };
    askCore(
      c,
      conn,
      { subject: subjects.paid(conn.room), body: request, timeoutMs: paidTimeoutMs, what: 'gift' },
      v1.PaidReply.decode,
      answer,
    );
  };

  return {
    name: 'gifts',
    frames: { like: onLike, sendGift: onGift },
    start(context) {
      ctx = context;
      timer = setInterval(flushLikes, config.likeFlushMs);
    },
    stop() {
      clearInterval(timer);
      flushLikes();
    },
  };
}
