/**
 * What the edge does with each client frame: frame-rate limit, size and
 * decode checks, then danmaku (validated, policed, rate-limited and sent to
 * core), ping and resume; other kinds go to the extension that owns them.
 * Bad input never throws into uWebSockets.js: it becomes an Error frame or a
 * documented close.
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { observeMs } from '../domain/latency.js';
import { subjects } from '../domain/subjects.js';
import { CloseCode } from '../domain/close-codes.js';
import { danmakuOf, extraOf } from './connection.js';
import type { Conn, Socket } from './connection.js';
import type { EdgeContext, EdgeExtension, ExtensionFrameKind, FrameHandler } from './extensions.js';
import type { IpBudgets } from './ip-budget.js';
import { take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { isRefusal, validateDanmaku } from './validate.js';
import type { ValidDanmaku } from './validate.js';
import { ModerationHook } from './moderation-hook.js';
import type { HookOutcome } from './moderation-hook.js';
import type { ModerationHookConfig } from '../domain/config.js';

/** Longest epoch a client may send back (the server's are about 10 characters). */
export const maxEpochLength = 64;
/** Undecodable frames tolerated per connection before closing it. */
const maxBadFrames = 10;
/** Frames over the frame limit tolerated per 10 s before closing for flood. */
const strikeWindowMs = 10_000;
/** RATE_LIMITED errors are sent at most this often per connection. */
const rateErrorIntervalMs = 1_000;
/** Frames this many times the limit close the socket with 1009 (sent by us, a clean close). */
export const closeFrameFactor = 4;

/** A danmaku waiting for the moderation callback's verdict. */
interface Asked {
  ws: Socket;
  conn: Conn;
  danmaku: ValidDanmaku;
  now: number;
  receivedAt: number;
}

/** The JSON the moderation callback is sent for one danmaku (docs/integration.md). */
export function hookBody(conn: Conn, d: ValidDanmaku, now: number, edgeId: string): string {
  const { identity } = conn;
  return JSON.stringify({
    room: conn.room,
    user: { id: identity.userId, name: identity.name, role: identity.role },
    text: d.text,
    mode: d.mode,
    color: d.color,
    size: d.size,
    client_msg_id: d.clientMsgId,
    ts_ms: now,
    edge: edgeId,
  });
}

/** Handles client frames for one edge. */
export class MessageHandler {
  private readonly handlers = new Map<ExtensionFrameKind, FrameHandler>();
  private readonly policies: EdgeExtension[];
  private readonly holder: EdgeExtension | undefined;
  /** The site's moderation callback, when `BARRAGE_MODERATION_HOOK_URL` is set. */
  readonly hook: ModerationHook<Asked> | undefined;

  constructor(
    private readonly ctx: EdgeContext,
    extensions: readonly EdgeExtension[],
    private readonly ipBudgets: IpBudgets,
    private readonly resume: (ws: Socket, afterSeq: number, epoch: string) => void,
    hook?: Readonly<ModerationHookConfig>,
  ) {
    for (const ext of extensions) {
      for (const [kind, handler] of Object.entries(ext.frames ?? {}) as Array<[ExtensionFrameKind, FrameHandler]>) {
        if (this.handlers.has(kind)) throw new Error(`two extensions handle ${kind} frames`);
        this.handlers.set(kind, handler);
      }
    }
    this.policies = extensions.filter((e) => e.danmakuPolicy !== undefined);
    this.holder = extensions.find((e) => e.holdDanmaku !== undefined);
    this.hook =
      hook?.url === undefined
        ? undefined
        : new ModerationHook<Asked>({
            url: hook.url,
            timeoutMs: hook.timeoutMs,
            policy: hook.policy,
            concurrency: hook.concurrency,
            maxQueued: hook.maxQueued,
            batchMax: hook.batchMax,
            ...(hook.secret !== undefined ? { secret: hook.secret } : {}),
            onOutcome: this.onHookOutcome,
          });
  }

  onMessage(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const { config, metrics } = this.ctx;
    const conn = ws.getUserData();
    // Closing (by us): what is still in the socket's buffer is not read, let alone answered.
    if (conn.closedByServer) return;
    const receivedAt = performance.now();
    const now = Date.now();
    if (!this.admitFrame(ws, conn, now)) return;
    // Every frame, not only danmaku: a moderator whose token expired must not keep moderating.
    if (conn.identity.exp !== 0 && conn.identity.exp * 1000 < now) return this.ctx.closeSocket(ws, CloseCode.TokenExpired);
    if (!isBinary) {
      metrics.framesIn.inc({ kind: 'text' });
      return this.onBadFrame(ws, conn, ErrorCode.ERROR_CODE_BAD_FRAME, 'frames must be binary protobuf ClientFrame');
    }
    if (message.byteLength > config.maxFrameBytes) {
      metrics.framesIn.inc({ kind: 'too_large' });
      if (message.byteLength > config.maxFrameBytes * closeFrameFactor) return this.ctx.closeSocket(ws, CloseCode.TooBig);
      return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_FRAME_TOO_LARGE, `frame larger than ${config.maxFrameBytes} bytes`);
    }
    let frame: v1.ClientFrame;
    try {
      // Decoding copies every string out of uWS's buffer, which is only valid during this call.
      frame = v1.ClientFrame.decode(new Uint8Array(message));
    } catch (err) {
      const utf8 = (err as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA';
      metrics.framesIn.inc({ kind: 'undecodable' });
      return this.onBadFrame(
        ws,
        conn,
        utf8 ? ErrorCode.ERROR_CODE_INVALID_UTF8 : ErrorCode.ERROR_CODE_BAD_FRAME,
        utf8 ? 'text is not valid UTF-8' : 'not a ClientFrame',
      );
    }
    metrics.framesIn.inc({ kind: frame.kind ?? 'unknown' });
    switch (frame.kind) {
      case 'sendDanmaku':
        return this.onSendDanmaku(ws, conn, frame.sendDanmaku as v1.SendDanmaku, now, receivedAt);
      case 'ping':
        this.ctx.send(ws, v1.ServerFrame.encode({ pong: { clientTsMs: frame.ping?.clientTsMs ?? 0, serverTsMs: now } }).finish());
        return;
      case 'resume': {
        const resume = frame.resume as v1.Resume;
        if (resume.room !== '' && resume.room !== conn.room) {
          return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'resume is for another room; connect to that room');
        }
        const lastSeq = Number(resume.lastSeq);
        if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) {
          return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'last_seq must be a seq number');
        }
        const wait = this.costly(conn, extraOf(conn, config, now).resume, config.resumePerMinute / 60, config.resumeBurst, now, 'resume');
        if (wait > 0) return this.rateError(ws, conn, 'too many resumes; reconnect with since= instead', now, wait);
        if (resume.epoch.length > maxEpochLength) {
          return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'epoch is longer than any this server hands out');
        }
        return this.resume(ws, lastSeq, resume.epoch);
      }
      case 'moderate': {
        const wait = this.costly(
          conn,
          extraOf(conn, config, now).moderate,
          config.moderatePerSecond,
          config.moderateBurst,
          now,
          'moderate',
        );
        if (wait > 0) return this.rateError(ws, conn, 'moderating too fast', now, wait);
        const handler = this.handlers.get(frame.kind);
        if (handler) return handler(this.ctx, ws, frame, now);
        return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_UNKNOWN_FRAME, `${frame.kind} is not supported by this server`);
      }
      case 'like':
      case 'sendGift':
      case 'grabRedPacket':
      case 'report':
      case 'vote':
      case 'joinLottery':
      case 'startPoll':
      case 'startLottery': {
        const handler = this.handlers.get(frame.kind);
        if (handler) return handler(this.ctx, ws, frame, now);
        return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_UNKNOWN_FRAME, `${frame.kind} is not supported by this server`);
      }
      default:
        return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_UNKNOWN_FRAME, 'frame kind unknown to this server');
    }
  }

  private onSendDanmaku(ws: Socket, conn: Conn, msg: v1.SendDanmaku, now: number, receivedAt: number): void {
    const { config, metrics } = this.ctx;
    const clientMsgId = msg.clientMsgId ?? '';
    const { identity } = conn;
    if (identity.role === 'guest') {
      return this.ctx.sendError(ws, ErrorCode.ERROR_CODE_READ_ONLY, 'guests can only read; sign in to send', clientMsgId);
    }
    const result = validateDanmaku(msg, config);
    if (isRefusal(result)) return this.ctx.sendError(ws, result.code, result.message, clientMsgId);
    // The rate limit comes before the policies: a held or refused danmaku costs
    // its sender like a sent one, so holds cannot flood the moderators.
    const wait = take(conn.danmaku, config.danmakuPerSecond, config.danmakuBurst, now);
    if (wait > 0) {
      metrics.rateLimited.inc({ limit: 'danmaku' });
      // One error per interval: a client hammering the button gets told, not flooded.
      const extra = extraOf(conn, config, now);
      if (now - extra.lastRateErrorAt >= rateErrorIntervalMs) {
        extra.lastRateErrorAt = now;
        this.ctx.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, 'sending too fast', clientMsgId, wait);
      }
      return;
    }
    for (const ext of this.policies) {
      const verdict = (ext.danmakuPolicy as NonNullable<EdgeExtension['danmakuPolicy']>)(conn, result, now);
      if (!verdict.ok) {
        if (verdict.close !== undefined) return this.ctx.closeSocket(ws, verdict.close);
        return this.ctx.sendError(ws, verdict.code, verdict.message, clientMsgId, verdict.retryAfterMs ?? 0);
      }
      if (verdict.text !== undefined) result.text = verdict.text;
    }
    if (this.hook)
      return this.hook.check(conn.room, hookBody(conn, result, now, config.edgeId), { ws, conn, danmaku: result, now, receivedAt });
    this.publishDanmaku(conn, result, now, receivedAt);
  }

  private publishDanmaku(conn: Conn, d: ValidDanmaku, now: number, receivedAt: number): void {
    const event = v1.Event.encode({ room: conn.room, tsMs: now, danmaku: danmakuOf(conn, d) }).finish();
    this.ctx.bus.publish(subjects.ingress(conn.room), event);
    observeMs(this.ctx.metrics.latency.hops.ingress, performance.now() - receivedAt);
  }

  /**
   * The callback's verdict (or the policy's) on a danmaku: published, with
   * the replacement text if it passes the same checks as a viewer's text;
   * refused with its reason; or held for a moderator. A sender that left
   * meanwhile is told nothing, but what it sent is still published or held.
   */
  private readonly onHookOutcome = (asked: Asked, outcome: HookOutcome): void => {
    const { ws, conn, danmaku, now, receivedAt } = asked;
    const { metrics } = this.ctx;
    let verdict = outcome.verdict;
    let failure = outcome.failure;
    if (verdict.action === 'replace') {
      const checked = validateDanmaku({ ...danmaku, text: verdict.text }, this.ctx.config);
      if (isRefusal(checked)) {
        failure = 'bad_answer';
        verdict = this.hook?.policyVerdict() ?? { action: 'allow' };
      } else danmaku.text = checked.text;
    }
    metrics.moderationHook.inc({ action: verdict.action, failure: failure ?? 'none' });
    metrics.moderationHookSeconds.observe(outcome.ms / 1000);
    const tell = (code: v1.ErrorCode, message: string): void => {
      if (!conn.closed) this.ctx.sendError(ws, code, message, danmaku.clientMsgId);
    };
    switch (verdict.action) {
      case 'allow':
      case 'replace':
        return this.publishDanmaku(conn, danmaku, now, receivedAt);
      case 'reject':
        return tell(ErrorCode.ERROR_CODE_MODERATION_HOOK_REJECTED, verdict.reason || 'refused by the moderation callback');
      case 'hold': {
        const why = failure ? `moderation callback: no answer (${failure})` : `moderation callback: ${verdict.reason || 'hold'}`;
        const held = this.holder?.holdDanmaku?.(conn, danmaku, why, Date.now());
        return held ? tell(held.code, held.message) : tell(ErrorCode.ERROR_CODE_UNAVAILABLE, 'not published: moderation is unavailable');
      }
    }
  };

  /**
   * A WebSocket ping or pong (uWS answers pings itself): it costs a frame of
   * the connection's and the address's budget like any frame, so a ping
   * flood is closed like a frame flood.
   */
  onControlFrame(ws: Socket): void {
    const conn = ws.getUserData();
    if (!conn.closedByServer) this.admitFrame(ws, conn, Date.now());
  }

  /** Takes a frame from the connection's and the address's budgets; false (handled) when over. */
  private admitFrame(ws: Socket, conn: Conn, now: number): boolean {
    const { config, metrics } = this.ctx;
    if (take(conn.frames, config.framesPerSecond, config.framesBurst, now) > 0) {
      this.onFrameFlood(ws, conn, now);
      return false;
    }
    if (conn.ip && this.ipBudgets.frame(conn.ip, now) > 0) {
      // Shared by everyone behind the address: drop and tell, never close for it.
      metrics.rateLimited.inc({ limit: 'ip_frames' });
      this.rateError(ws, conn, 'too many frames from this address', now, Math.ceil(1000 / this.ipBudgets.limits.framesPerSecond));
      return false;
    }
    return true;
  }

  /**
   * Takes one costly action from the connection's bucket and then the
   * address's; 0 when allowed, else milliseconds to wait (counted by `limit`).
   */
  private costly(conn: Conn, bucket: BucketState, perSecond: number, burst: number, now: number, limit: string): number {
    let wait = take(bucket, perSecond, burst, now);
    if (wait === 0 && conn.ip) wait = this.ipBudgets.costly(conn.ip, now);
    if (wait > 0) this.ctx.metrics.rateLimited.inc({ limit });
    return wait;
  }

  /** RATE_LIMITED, at most once per interval per connection. */
  private rateError(ws: Socket, conn: Conn, message: string, now: number, retryAfterMs: number): void {
    const extra = extraOf(conn, this.ctx.config, now);
    if (now - extra.lastRateErrorAt < rateErrorIntervalMs) return;
    extra.lastRateErrorAt = now;
    this.ctx.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, message, '', retryAfterMs);
  }

  private onBadFrame(ws: Socket, conn: Conn, code: v1.ErrorCode, message: string): void {
    if (++extraOf(conn, this.ctx.config, Date.now()).badFrames > maxBadFrames) return this.ctx.closeSocket(ws, CloseCode.BadProtocol);
    this.ctx.sendError(ws, code, message);
  }

  private onFrameFlood(ws: Socket, conn: Conn, now: number): void {
    const { config, metrics } = this.ctx;
    metrics.rateLimited.inc({ limit: 'frames' });
    const extra = extraOf(conn, config, now);
    if (now - extra.strikeWindowStart > strikeWindowMs) {
      extra.strikeWindowStart = now;
      extra.strikes = 0;
    }
    if (++extra.strikes > config.framesBurst) return this.ctx.closeSocket(ws, CloseCode.Flood);
    if (now - extra.lastRateErrorAt >= rateErrorIntervalMs) {
      extra.lastRateErrorAt = now;
      this.ctx.sendError(ws, ErrorCode.ERROR_CODE_RATE_LIMITED, 'too many frames', '', Math.ceil(1000 / config.framesPerSecond));
    }
  }
}
