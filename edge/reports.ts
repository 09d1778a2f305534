/**
 * The `report` frame at the edge, as an `EdgeExtension`: a viewer (not a
 * guest) asks the room's moderators to look at a danmaku. The edge checks
 * the frame, limits each user to `perMinute` reports per room (a bucket of as
 * many, refilled over a minute; shared by the user's sockets on this edge),
 * and asks core, which counts reporters and holds (core/reports/reports.ts);
 * core's answer becomes an `Ack` (the `client_msg_id`) or an `Error`.
 *
 * Memory: one bucket per (room, user) that reported in the last minute;
 * swept once full again.
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { subjects } from '../domain/subjects.js';
import { maxReportDetail } from '../domain/reports.js';
import { userOf } from './connection.js';
import { askCore, notConfirmed } from './ask-core.js';
import type { EdgeContext, EdgeExtension, FrameHandler } from './extensions.js';
import { fullBucket, refill, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';

const requestTimeoutMs = 2_000;
const sweepMs = 60_000;
/** Longest client_msg_id echoed back, as for danmaku. */
const maxClientMsgId = 64;

/** The report extension. `perMinute`: reports one user may send per room per minute (`BARRAGE_REPORTS_PER_MINUTE`). */
export function reportsExtension(options: { perMinute: number }): EdgeExtension {
  const perSecond = options.perMinute / 60;
  const burst = options.perMinute;
  const buckets = new Map<string, BucketState>();
  let sweeper: NodeJS.Timeout | undefined;

  const onReport: FrameHandler = (ctx, ws, frame, now) => {
    const conn = ws.getUserData();
    const report = frame.report as v1.Report;
    const clientMsgId = report.clientMsgId.slice(0, maxClientMsgId);
    const { identity } = conn;
    if (identity.role === 'guest') return ctx.sendError(ws, ErrorCode.ERROR_CODE_READ_ONLY, 'guests cannot report; sign in', clientMsgId);
    if (!report.danmakuId) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'danmaku_id is required', clientMsgId);
    if ([...report.detail].length > maxReportDetail) {
      return ctx.sendError(ws, ErrorCode.ERROR_CODE_TEXT_TOO_LONG, `detail is at most ${maxReportDetail} characters`, clientMsgId);
    }
    const key = `${conn.room}\n${identity.userId}`;
    let bucket = buckets.get(key);
    if (!bucket) buckets.set(key, (bucket = fullBucket(burst, now)));
    const wait = take(bucket, perSecond, burst, now);
    if (wait > 0) {
      ctx.metrics.rateLimited.inc({ limit: 'report' });
      return ctx.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, 'reporting too often', clientMsgId, wait);
    }
    const request = v1.ReportRequest.encode({ report: { ...report, clientMsgId }, reporter: userOf(identity) }).finish();
    askCore(
      ctx,
      conn,
      { subject: subjects.report(conn.room), body: request, timeoutMs: requestTimeoutMs, what: 'report' },
      v1.ReportReply.decode,
      (reply) => {
        if (!reply) ctx.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, notConfirmed, clientMsgId);
        else if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) ctx.sendError(ws, reply.error, reply.message, clientMsgId);
        else ctx.send(ws, v1.ServerFrame.encode({ ack: { clientMsgId } }).finish());
      },
    );
  };

  return {
    name: 'reports',
    frames: { report: onReport },
    start(ctx: EdgeContext) {
      void ctx;
      sweeper = setInterval(() => {
        const now = Date.now();
        for (const [key, bucket] of buckets) {
          refill(bucket, perSecond, burst, now);
          if (bucket.tokens >= burst) buckets.delete(key);
        }
      }, sweepMs);
      sweeper.unref();
    },
    stop() {
      clearInterval(sweeper);
      buckets.clear();
    },
  };
}
