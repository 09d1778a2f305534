/**
 * Moderation at the edge, as an `EdgeExtension`:
 * - `moderate` frames from moderators, hosts and admins become control events
 *   on the room's ingress (others get FORBIDDEN); hold decisions go to core;
 * - admission refuses banned users and, for viewers, closed rooms (the state
 *   is loaded from the store before the first upgrade is admitted);
 * - the danmaku policy refuses the timed-out (MUTED with retry_after), the
 *   banned (socket closed, 4502), slow mode (SLOW_MODE with retry_after, per
 *   viewer on this edge), the room modes (ROOM_MODE), and runs the word filter
 *   (global rules, then the room's): block, replace with *, or hold;
 * - state changes from the store close banned users' sockets (4502) and, when
 *   a room closes, its viewers' sockets (4503); held danmaku are forwarded to
 *   the room's moderators on this edge.
 *
 * Moderators, hosts and admins are exempt from the policy: they keep the room.
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { Roles } from '../core/auth.js';
import type { Identity, RoleName } from '../core/auth.js';
import { actionEvent, isActionRefusal, isEmoteOnly, mayModerate } from '../core/moderation.js';
import type { ModerationOptions } from '../core/moderation.js';
import type { RoomModeration } from '../core/moderation-state.js';
import { globalFilter } from '../core/moderation-store.js';
import type { ModerationStore, ModerationWatcher } from '../core/moderation-store.js';
import { subjects } from '../core/subjects.js';
import type { Subscription } from '../core/bus.js';
import { WordFilter, mask } from '../core/word-filter.js';
import { CloseCode } from './close-codes.js';
import { onMacrotask, roleToWire } from './connection.js';
import type { Conn, Socket } from './connection.js';
import type { AdmissionVerdict, DanmakuVerdict, EdgeContext, EdgeExtension, FrameHandler } from './extensions.js';
import type { ValidDanmaku } from './validate.js';

const holdTimeoutMs = 2_000;
/** Slow-mode timestamps kept per room before old ones are swept. */
const slowSweepSize = 10_000;
const ok: DanmakuVerdict = { ok: true };

interface CompiledRules {
  action: v1.FilterAction;
  filter: WordFilter;
}

const rank = (role: RoleName): number => Roles.indexOf(role);
const privileged = (identity: Identity): boolean => rank(identity.role) >= rank('moderator');

/** Options of the edge's moderation. */
export interface EdgeModerationOptions {
  store: ModerationStore;
  options: ModerationOptions;
}

/** The moderation extension; see the file comment. */
export class EdgeModeration implements EdgeExtension, ModerationWatcher {
  readonly name = 'moderation';
  readonly frames: EdgeExtension['frames'];
  private ctx: EdgeContext | undefined;
  private loaded = false;
  private readonly states = new Map<string, RoomModeration>();
  private readonly filters = new Map<string, CompiledRules>();
  private global: CompiledRules | undefined;
  /** Per room: user id -> when their last danmaku passed slow mode. */
  private readonly lastSend = new Map<string, Map<string, number>>();
  private heldSub: Subscription | undefined;
  private holds = 0;

  constructor(private readonly deps: EdgeModerationOptions) {
    this.frames = { moderate: this.onModerate };
  }

  async start(ctx: EdgeContext): Promise<void> {
    this.ctx = ctx;
    await this.deps.store.watch(this);
    this.loaded = true;
    this.heldSub = ctx.bus.subscribe(subjects.heldAll, (data) => this.onHeld(data));
  }

  stop(): void {
    this.heldSub?.unsubscribe();
    this.loaded = false;
  }

  // ------------------------------------------------------------------ state from the store

  onState(state: RoomModeration): void {
    const prev = this.states.get(state.room);
    if (prev && prev.seq >= state.seq) return;
    this.states.set(state.room, state);
    if (state.slowSeconds === 0) this.lastSend.delete(state.room);
    const ctx = this.ctx;
    if (!ctx) return;
    const newBans = [...state.bans].filter((u) => !prev?.bans.has(u));
    const closing = state.closed && !prev?.closed;
    if (newBans.length === 0 && !closing) return;
    const banned = new Set(newBans);
    for (const ws of ctx.socketsOf(state.room)) {
      const { identity } = ws.getUserData();
      if (privileged(identity)) continue;
      if (banned.has(identity.userId) && identity.role !== 'guest') ctx.closeSocket(ws, CloseCode.Banned);
      else if (closing) ctx.closeSocket(ws, CloseCode.RoomClosed);
    }
  }

  onFilter(room: string, rules: v1.FilterRules): void {
    let filter: WordFilter;
    try {
      filter = new WordFilter(rules.terms, rules.patterns);
    } catch (err) {
      // Checked by the API before storing; a bad pattern here leaves the terms working.
      this.ctx?.log.error({ err, room }, 'filter patterns invalid; using the terms only');
      filter = new WordFilter(rules.terms);
    }
    const compiled = filter.empty ? undefined : { action: rules.action, filter };
    if (room === globalFilter) this.global = compiled;
    else if (compiled) this.filters.set(room, compiled);
    else this.filters.delete(room);
  }

  /** The state this edge holds for a room (tests and the API). */
  stateOf(room: string): RoomModeration | undefined {
    return this.states.get(room);
  }

  /** An active pin, slow mode and room modes, for a viewer just welcomed (who missed the events that set them). */
  welcomeEvents(room: string, now: number): v1.IEvent[] {
    const s = this.states.get(room);
    if (!s) return [];
    const events: v1.IEvent[] = [];
    const at = { room, seq: 0, tsMs: now };
    if (s.pin && s.pinUntilMs > now) {
      events.push({ ...at, pin: { ...s.pin, seconds: Math.ceil((s.pinUntilMs - now) / 1000) } });
    }
    if (s.slowSeconds > 0) events.push({ ...at, slowMode: { seconds: s.slowSeconds, automatic: s.slowAutomatic } });
    if (s.danmakuOff || s.membersOnly || s.emoteOnly) {
      events.push({ ...at, roomMode: { danmakuOff: s.danmakuOff, membersOnly: s.membersOnly, emoteOnly: s.emoteOnly } });
    }
    return events;
  }

  // ------------------------------------------------------------------ admission and policy

  admit(identity: Identity, room: string): AdmissionVerdict {
    if (!this.loaded)
      return { ok: false, status: '503 Service Unavailable', reason: 'moderation_loading', message: 'starting; retry shortly' };
    const s = this.states.get(room);
    if (!s || privileged(identity)) return { ok: true };
    if (identity.role !== 'guest' && s.bans.has(identity.userId)) {
      return { ok: false, status: '403 Forbidden', reason: 'banned', message: 'banned from this room' };
    }
    if (s.closed) return { ok: false, status: '403 Forbidden', reason: 'room_closed', message: 'room closed' };
    return { ok: true };
  }

  /** An arrow: the edge calls policies unbound. */
  readonly danmakuPolicy = (conn: Conn, danmaku: ValidDanmaku, now: number): DanmakuVerdict => {
    const { identity } = conn;
    if (privileged(identity)) return ok;
    const s = this.states.get(conn.room);
    let slow: Map<string, number> | undefined;
    if (s) {
      if (s.closed) return { ok: false, code: ErrorCode.ERROR_CODE_ROOM_CLOSED, message: 'room closed', close: CloseCode.RoomClosed };
      if (s.bans.has(identity.userId)) return { ok: false, code: ErrorCode.ERROR_CODE_BANNED, message: 'banned', close: CloseCode.Banned };
      const until = s.mutes.get(identity.userId);
      if (until !== undefined && until > now) {
        return { ok: false, code: ErrorCode.ERROR_CODE_MUTED, message: 'timed out in this room', retryAfterMs: until - now };
      }
      if (s.danmakuOff) return { ok: false, code: ErrorCode.ERROR_CODE_ROOM_MODE, message: 'danmaku are off in this room' };
      if (s.membersOnly && !identity.member) {
        return { ok: false, code: ErrorCode.ERROR_CODE_ROOM_MODE, message: 'this room is members only' };
      }
      if (s.emoteOnly && !isEmoteOnly(danmaku.text, this.deps.options.emotes)) {
        return { ok: false, code: ErrorCode.ERROR_CODE_ROOM_MODE, message: 'this room is emote only' };
      }
      if (s.slowSeconds > 0) {
        slow = this.lastSend.get(conn.room);
        if (!slow) this.lastSend.set(conn.room, (slow = new Map()));
        const last = slow.get(identity.userId);
        const wait = last === undefined ? 0 : last + s.slowSeconds * 1000 - now;
        if (wait > 0)
          return {
            ok: false,
            code: ErrorCode.ERROR_CODE_SLOW_MODE,
            message: `slow mode: one danmaku every ${s.slowSeconds} s`,
            retryAfterMs: wait,
          };
      }
    }
    let verdict = ok;
    for (const rules of [this.global, this.filters.get(conn.room)]) {
      if (!rules) continue;
      const text = verdict.ok && verdict.text !== undefined ? verdict.text : danmaku.text;
      const found = rules.filter.match(text);
      if (!found) continue;
      if (rules.action === v1.FilterAction.FILTER_ACTION_REPLACE) {
        verdict = { ok: true, text: mask(text, found.ranges) };
        continue;
      }
      if (rules.action === v1.FilterAction.FILTER_ACTION_HOLD) {
        this.hold(conn, danmaku, found.matched, now);
        return { ok: false, code: ErrorCode.ERROR_CODE_HELD, message: 'held for a moderator to approve' };
      }
      return { ok: false, code: ErrorCode.ERROR_CODE_BLOCKED_TEXT, message: 'the text has a blocked word' };
    }
    if (slow) {
      slow.set(identity.userId, now);
      if (slow.size > slowSweepSize) {
        const horizon = now - (s?.slowSeconds ?? 0) * 1000;
        for (const [user, at] of slow) if (at <= horizon) slow.delete(user);
      }
    }
    return verdict;
  };

  private hold(conn: Conn, d: ValidDanmaku, matched: string, now: number): void {
    const ctx = this.ctx as EdgeContext;
    const { identity } = conn;
    const held = v1.Held.encode({
      holdId: `${ctx.config.edgeId}-${now.toString(36)}-${(++this.holds).toString(36)}`,
      room: conn.room,
      danmaku: {
        user: { id: identity.userId, name: identity.name, role: roleToWire[identity.role] },
        text: d.text,
        mode: d.mode,
        color: d.color,
        size: d.size,
        clientMsgId: d.clientMsgId,
      },
      matched,
      tsMs: now,
    }).finish();
    ctx.bus.publish(subjects.held(conn.room), held);
  }

  /** Held danmaku (and their resolutions) go to the room's moderators on this edge. */
  private onHeld(data: Uint8Array): void {
    const ctx = this.ctx;
    if (!ctx) return;
    let held: v1.Held;
    try {
      held = v1.Held.decode(data);
    } catch {
      return;
    }
    if (!ctx.hostedRooms().includes(held.room)) return;
    const frame = v1.ServerFrame.encode({ held }).finish();
    onMacrotask(() => {
      for (const ws of ctx.socketsOf(held.room)) if (privileged(ws.getUserData().identity)) ctx.send(ws, frame);
    });
  }

  // ------------------------------------------------------------------ moderate frames

  private readonly onModerate: FrameHandler = (ctx, ws, frame) => {
    const conn = ws.getUserData();
    const m = frame.moderate as v1.Moderate;
    const action = m.action;
    if (!action) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'moderate needs one action');
    const { identity } = conn;
    if (!mayModerate(identity.role, action)) {
      return ctx.sendError(
        ws,
        ErrorCode.ERROR_CODE_FORBIDDEN,
        `a ${identity.role} may not ${action === 'roomClose' ? 'close the room' : 'moderate'}`,
      );
    }
    const actor: v1.IUser = { id: identity.userId, name: identity.name, role: roleToWire[identity.role] };
    if (action === 'hold') return this.decide(ctx, ws, conn, m, actor);
    if (action === 'removeSuperChat') return this.removeSuperChat(ctx, ws, conn, m.removeSuperChat as v1.RemoveSuperChat);
    const event = actionEvent(conn.room, m, actor, this.deps.options);
    if (isActionRefusal(event)) return ctx.sendError(ws, event.code, event.message);
    ctx.bus.publish(subjects.ingress(conn.room), v1.Event.encode(event).finish());
  };

  /** Super chats are paid state kept by core's gift service; it stores the removal as an event. */
  private removeSuperChat(ctx: EdgeContext, ws: Socket, conn: Conn, m: v1.RemoveSuperChat): void {
    if (!m.id) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'remove_super_chat needs the super chat id');
    const request = v1.RemoveSuperChat.encode({ id: m.id, byUserId: conn.identity.userId }).finish();
    ctx.bus.request(subjects.removeSuperChat(conn.room), request, holdTimeoutMs).then(
      (data) => {
        const reply = v1.PaidReply.decode(data);
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) onMacrotask(() => ctx.sendError(ws, reply.error, reply.message));
      },
      () => onMacrotask(() => ctx.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, 'core did not answer; try again')),
    );
  }

  private decide(ctx: EdgeContext, ws: Socket, conn: Conn, m: v1.Moderate, actor: v1.IUser): void {
    const decision = m.hold as v1.HoldDecision;
    if (!decision.holdId) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'hold_id is required');
    const request = v1.HoldRequest.encode({ decision, actor, reason: m.reason }).finish();
    ctx.bus.request(subjects.hold(conn.room), request, holdTimeoutMs).then(
      (data) => {
        if (!v1.HoldReply.decode(data).found) {
          onMacrotask(() => ctx.sendError(ws, ErrorCode.ERROR_CODE_NOT_FOUND, 'no such held danmaku (decided already or expired)'));
        }
      },
      () => onMacrotask(() => ctx.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, 'core did not answer; try again')),
    );
  }
}
