/**
 * Moderation at the edge, as an `EdgeExtension`:
 * - `moderate` frames from moderators, hosts and admins become control events
 *   on the room's ingress (others get FORBIDDEN); hold decisions go to core;
 *   a ban or time-out past the room's limit is refused with LIMIT_REACHED;
 * - admission refuses banned users and, for viewers, closed rooms (the state
 *   is loaded from the store, and the filters compiled, before the first
 *   upgrade is admitted);
 * - the danmaku policy refuses the timed-out (MUTED with retry_after), the
 *   banned (socket closed, 4502), slow mode (SLOW_MODE with retry_after, per
 *   viewer on this edge), the room modes (ROOM_MODE), and runs the word filter
 *   (global rules, then the room's): block, replace with *, or hold (at most
 *   `maxHeldPerUser` of a user's danmaku wait at once; then LIMIT_REACHED);
 * - state changes from the store close banned users' sockets (4502) and, when
 *   a room closes, its viewers' sockets (4503); held danmaku and reported
 *   danmaku's entries (`Reported`, from core's report service) are forwarded
 *   to the room's moderators on this edge, and a moderator's `resolve_report`
 *   goes to core.
 *
 * Memory is bounded by what the site decides, never by what visitors do:
 * - `states` holds only rooms whose state restricts or shows something (an
 *   active ban, time-out or pin, slow mode, a room mode, closed); a state at
 *   its defaults acts like none and is dropped, and a sweep drops what runs
 *   out. So it holds at most the rooms the site or its moderators acted on,
 *   each with at most `BARRAGE_MAX_BANS_PER_ROOM` bans and time-outs. It must
 *   cover rooms this edge does not host: a viewer may join one at any time.
 * - `filters` holds the rooms the site set rules for (by API key).
 * - `lastSend` holds, per room in slow mode, the viewers who sent within the
 *   interval (at most an hour); swept.
 * - `moderators` and the held counts: rooms where a moderator was admitted, and
 *   this edge's danmaku waiting for a decision (at most `maxHeldPerUser` per
 *   user per room, for at most `heldTtlMs`).
 *
 * Moderators, hosts and admins are exempt from the policy: they keep the room.
 */
import { ErrorCode, v1 } from '../proto/index.js';
import { Roles } from '../domain/auth.js';
import type { Identity, RoleName } from '../domain/auth.js';
import { actionEvent, heldTtlMs, isActionRefusal, limitRefusal, maxHeldPerUser, mayModerate } from '../domain/moderation.js';
import { isEmoteOnly } from '../domain/emotes.js';
import type { ModerationOptions } from '../domain/moderation.js';
import { isDefaultModeration, nextExpiry, prune } from '../domain/moderation-state.js';
import type { RoomModeration } from '../domain/moderation-state.js';
import { globalFilter } from '../domain/moderation-store.js';
import type { ModerationStore, ModerationWatcher } from '../domain/moderation-store.js';
import { roomOfSubject, subjects } from '../domain/subjects.js';
import type { Subscription } from '../domain/bus.js';
import { WordFilter, mask } from '../domain/word-filter.js';
import { CloseCode } from '../domain/close-codes.js';
import { danmakuOf, onMacrotask, roleToWire } from './connection.js';
import { askCore, notConfirmed } from './ask-core.js';
import type { Conn, Socket } from './connection.js';
import type { AdmissionVerdict, DanmakuVerdict, EdgeContext, EdgeExtension, FrameHandler } from './extensions.js';
import type { ValidDanmaku } from './validate.js';

const holdTimeoutMs = 2_000;
/** Slow-mode timestamps kept per room before old ones are swept. */
const slowSweepSize = 10_000;
/** How often expired state, slow-mode timestamps and stale held counts are swept. */
const sweepMs = 30_000;
/** An admitted socket is open within this long (the upgrade opens it synchronously; this is generous). */
const openGraceMs = 5_000;
const ok: DanmakuVerdict = { ok: true };

interface CompiledRules {
  action: v1.FilterAction;
  filter: WordFilter;
}

/** The privileged sockets of a room on this edge, found by walking its sockets only after a privileged admission. */
interface RoomModerators {
  sockets: Set<Socket>;
  /** The last time a moderator, host or admin was admitted to the room. */
  admittedAt: number;
  /** The last time the room's sockets were walked for them. */
  walkedAt: number;
}

/** A danmaku this edge held, until it is decided or dropped. */
interface MyHold {
  room: string;
  key: string;
  at: number;
}

const rank = (role: RoleName): number => Roles.indexOf(role);
const privileged = (identity: Identity): boolean => rank(identity.role) >= rank('moderator');
const heldKey = (room: string, user: string): string => `${room}\n${user}`;

/** Options of the edge's moderation. */
export interface EdgeModerationOptions {
  store: ModerationStore;
  options: ModerationOptions;
  now?: () => number;
}

/** The moderation extension; see the file comment. */
export class EdgeModeration implements EdgeExtension, ModerationWatcher {
  readonly name = 'moderation';
  readonly frames: EdgeExtension['frames'];
  private ctx: EdgeContext | undefined;
  private loaded = false;
  private readonly now: () => number;
  /** Rooms whose state is not at its defaults. */
  private readonly states = new Map<string, RoomModeration>();
  /** When something in a room's state runs out next. */
  private readonly expiries = new Map<string, number>();
  private readonly filters = new Map<string, CompiledRules>();
  private global: CompiledRules | undefined;
  /** The latest rules asked for per room (or the global key) while a build is under way; older builds are discarded. */
  private readonly building = new Map<string, number>();
  private builds = 0;
  private readonly buildsDone = new Set<Promise<void>>();
  /** Per room in slow mode: user id -> when their last danmaku passed. */
  private readonly lastSend = new Map<string, Map<string, number>>();
  private readonly moderators = new Map<string, RoomModerators>();
  /** Danmaku this edge held, by hold id; and how many per room and user. */
  private readonly myHolds = new Map<string, MyHold>();
  private readonly heldCounts = new Map<string, number>();
  /** Rooms with danmaku this edge held -> how many: resolutions of other rooms are not decoded. */
  private readonly holdRooms = new Map<string, number>();
  private heldSub: Subscription | undefined;
  private reportedSub: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private holds = 0;

  constructor(private readonly deps: EdgeModerationOptions) {
    this.frames = { moderate: this.onModerate };
    this.now = deps.now ?? Date.now;
  }

  async start(ctx: EdgeContext): Promise<void> {
    this.ctx = ctx;
    await this.deps.store.watch(this);
    // Admitting viewers before the rules are compiled would let blocked words through.
    await this.filtersBuilt();
    this.loaded = true;
    this.heldSub = ctx.bus.subscribe(subjects.heldAll, (data, subject) => this.onHeld(data, subject));
    this.reportedSub = ctx.bus.subscribe(subjects.reportedAll, (data, subject) => this.onReported(data, subject));
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  stop(): void {
    this.heldSub?.unsubscribe();
    this.reportedSub?.unsubscribe();
    clearInterval(this.sweeper);
    this.loaded = false;
  }

  // ------------------------------------------------------------------ state from the store

  onState(state: RoomModeration): void {
    const room = state.room;
    const prev = this.states.get(room);
    if (prev && prev.seq >= state.seq) return;
    const now = this.now();
    if (isDefaultModeration(state, now)) {
      // Lifts only: nobody to close. A state at its defaults is the same as none.
      this.states.delete(room);
      this.expiries.delete(room);
      this.lastSend.delete(room);
      return;
    }
    this.states.set(room, state);
    this.expiries.set(room, nextExpiry(state));
    if (state.slowSeconds === 0) this.lastSend.delete(room);
    const ctx = this.ctx;
    if (!ctx) return;
    // One pass over the bans, no copies: a room may hold thousands.
    let banned: Set<string> | undefined;
    for (const [user, until] of state.bans) {
      if (until > now && !((prev?.bans.get(user) ?? 0) > now)) (banned ??= new Set()).add(user);
    }
    const closing = state.closed && !prev?.closed;
    if (!banned && !closing) return;
    for (const ws of ctx.socketsOf(room)) {
      const { identity } = ws.getUserData();
      if (privileged(identity)) continue;
      if (banned?.has(identity.userId) && identity.role !== 'guest') ctx.closeSocket(ws, CloseCode.Banned);
      else if (closing) ctx.closeSocket(ws, CloseCode.RoomClosed);
    }
  }

  onFilter(room: string, rules: v1.FilterRules): void {
    const id = ++this.builds;
    if (rules.terms.length === 0 && rules.patterns.length === 0) {
      this.building.delete(room);
      this.setFilter(room, undefined);
      return;
    }
    // The old rules stay in force until the new ones are compiled; a newer PUT wins over an older build.
    this.building.set(room, id);
    const done: Promise<void> = WordFilter.build(rules.terms, rules.patterns)
      .catch(async (err: unknown) => {
        // Checked by the API before storing; a bad pattern here (rules from an older version) leaves the terms working.
        this.ctx?.log.error({ err, room }, 'filter patterns invalid; using the terms only');
        return WordFilter.build(rules.terms);
      })
      .then(
        (filter) => {
          if (this.building.get(room) !== id) return;
          this.building.delete(room);
          this.setFilter(room, filter.empty ? undefined : { action: rules.action, filter });
        },
        (err: unknown) => this.ctx?.log.error({ err, room }, 'filter rules could not be compiled; the previous ones stay'),
      )
      .finally(() => this.buildsDone.delete(done));
    this.buildsDone.add(done);
  }

  private setFilter(room: string, compiled: CompiledRules | undefined): void {
    if (room === globalFilter) this.global = compiled;
    else if (compiled) this.filters.set(room, compiled);
    else this.filters.delete(room);
  }

  /** Resolves once every filter compile started so far has ended (start, tests and benchmarks). */
  async filtersBuilt(): Promise<void> {
    while (this.buildsDone.size > 0) await Promise.all([...this.buildsDone]);
  }

  /** The state this edge holds for a room: undefined when it is at its defaults (tests and the API). */
  stateOf(room: string): RoomModeration | undefined {
    return this.states.get(room);
  }

  /** How many rooms' states, slow-mode tables and filters this edge holds (tests and metrics). */
  get sizes(): { states: number; lastSend: number; filters: number; moderators: number; holds: number } {
    return {
      states: this.states.size,
      lastSend: this.lastSend.size,
      filters: this.filters.size,
      moderators: this.moderators.size,
      holds: this.myHolds.size,
    };
  }

  /**
   * Every `sweepMs` (public for tests): drops what ran out in each state whose
   * next expiry has passed (and the state, once at its defaults), slow-mode
   * timestamps older than the interval, and stale bookkeeping.
   */
  sweep(): void {
    const now = this.now();
    for (const [room, at] of this.expiries) {
      if (at > now) continue;
      const state = this.states.get(room);
      if (!state) {
        this.expiries.delete(room);
        continue;
      }
      prune(state, now);
      if (isDefaultModeration(state, now)) {
        this.states.delete(room);
        this.expiries.delete(room);
      } else {
        this.expiries.set(room, nextExpiry(state));
      }
    }
    for (const [room, slow] of this.lastSend) {
      const seconds = this.states.get(room)?.slowSeconds ?? 0;
      const horizon = now - seconds * 1000;
      if (seconds > 0) for (const [user, at] of slow) if (at <= horizon) slow.delete(user);
      if (seconds === 0 || slow.size === 0) this.lastSend.delete(room);
    }
    for (const [room, mods] of this.moderators) {
      for (const ws of mods.sockets) if (ws.getUserData().closed) mods.sockets.delete(ws);
      if (mods.sockets.size === 0 && now - mods.admittedAt > openGraceMs) this.moderators.delete(room);
    }
    // Core drops held danmaku after heldTtlMs and says so; this catches a notice that never came.
    for (const [holdId, hold] of this.myHolds) if (now - hold.at > heldTtlMs + sweepMs) this.forgetHold(holdId);
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
    if (privileged(identity)) {
      // Held danmaku go to this room's privileged sockets; they are looked for only after one is admitted.
      const now = this.now();
      const mods = this.moderators.get(room);
      if (mods) mods.admittedAt = now;
      else this.moderators.set(room, { sockets: new Set(), admittedAt: now, walkedAt: 0 });
      return { ok: true };
    }
    const s = this.states.get(room);
    if (!s) return { ok: true };
    if (identity.role !== 'guest' && (s.bans.get(identity.userId) ?? 0) > this.now()) {
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
      if ((s.bans.get(identity.userId) ?? 0) > now) {
        return { ok: false, code: ErrorCode.ERROR_CODE_BANNED, message: 'banned', close: CloseCode.Banned };
      }
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
      if (rules.action === v1.FilterAction.FILTER_ACTION_HOLD) return this.holdDanmaku(conn, danmaku, found.matched, now);
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

  /** Holds `danmaku` for a moderator (`matched` says why: the filter's match, or the callback's reason), at most `maxHeldPerUser` per user. */
  readonly holdDanmaku = (conn: Conn, danmaku: ValidDanmaku, matched: string, now: number): DanmakuVerdict & { ok: false } => {
    const key = heldKey(conn.room, conn.identity.userId);
    if ((this.heldCounts.get(key) ?? 0) >= maxHeldPerUser) {
      return {
        ok: false,
        code: ErrorCode.ERROR_CODE_LIMIT_REACHED,
        message: `${maxHeldPerUser} of your danmaku already wait for a moderator; wait for their decision`,
      };
    }
    this.hold(conn, danmaku, matched, now, key);
    return { ok: false, code: ErrorCode.ERROR_CODE_HELD, message: 'held for a moderator to approve' };
  };

  private hold(conn: Conn, d: ValidDanmaku, matched: string, now: number, key: string): void {
    const ctx = this.ctx as EdgeContext;
    const holdId = `${ctx.config.edgeId}-${now.toString(36)}-${(++this.holds).toString(36)}`;
    this.myHolds.set(holdId, { room: conn.room, key, at: now });
    this.heldCounts.set(key, (this.heldCounts.get(key) ?? 0) + 1);
    this.holdRooms.set(conn.room, (this.holdRooms.get(conn.room) ?? 0) + 1);
    const held = v1.Held.encode({
      holdId,
      room: conn.room,
      danmaku: danmakuOf(conn, d),
      matched,
      tsMs: now,
    }).finish();
    ctx.bus.publish(subjects.held(conn.room), held);
  }

  private forgetHold(holdId: string): void {
    const hold = this.myHolds.get(holdId);
    if (!hold) return;
    this.myHolds.delete(holdId);
    const left = (this.heldCounts.get(hold.key) ?? 1) - 1;
    if (left > 0) this.heldCounts.set(hold.key, left);
    else this.heldCounts.delete(hold.key);
    const inRoom = (this.holdRooms.get(hold.room) ?? 1) - 1;
    if (inRoom > 0) this.holdRooms.set(hold.room, inRoom);
    else this.holdRooms.delete(hold.room);
  }

  /**
   * Held danmaku (and their resolutions) go to the room's moderators on this
   * edge. Costs nothing for rooms without one (no decode, no walk), and walks
   * a room's sockets only in the moments after a moderator was admitted.
   */
  private onHeld(data: Uint8Array, subject: string): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const room = roomOfSubject(subject);
    const mods = this.moderators.get(room);
    if (!mods && !this.holdRooms.has(room)) return;
    let held: v1.Held;
    try {
      held = v1.Held.decode(data);
    } catch {
      return;
    }
    if (held.resolved) this.forgetHold(held.holdId);
    if (mods) this.toModerators(ctx, room, mods, v1.ServerFrame.encode({ held }).finish());
  }

  /** A reported danmaku's entry changed: the room's moderators on this edge are told (nobody else). */
  private onReported(data: Uint8Array, subject: string): void {
    const ctx = this.ctx;
    const room = roomOfSubject(subject);
    const mods = this.moderators.get(room);
    if (!ctx || !mods) return;
    let reported: v1.Reported;
    try {
      reported = v1.Reported.decode(data);
    } catch {
      return;
    }
    this.toModerators(ctx, room, mods, v1.ServerFrame.encode({ reported }).finish());
  }

  /** Sends `frame` to the room's moderators, hosts and admins on this edge. */
  private toModerators(ctx: EdgeContext, room: string, mods: RoomModerators, frame: Uint8Array): void {
    const now = this.now();
    if (mods.admittedAt + openGraceMs >= mods.walkedAt) {
      mods.walkedAt = now;
      for (const ws of ctx.socketsOf(room)) if (privileged(ws.getUserData().identity)) mods.sockets.add(ws);
    }
    if (mods.sockets.size === 0) return;
    onMacrotask(() => {
      for (const ws of mods.sockets) {
        if (ws.getUserData().closed) mods.sockets.delete(ws);
        else ctx.send(ws, frame);
      }
    });
  }

  /**
   * A moderator, host or admin who opens a socket is sent what waits for them: the room's held
   * danmaku and open reports (as `held` and `reported` frames), so a console opened late misses
   * nothing made before it. Asked of core; nothing is sent when it does not answer.
   */
  onOpen(conn: Conn, ws: Socket): void {
    const ctx = this.ctx;
    if (!ctx || !privileged(conn.identity)) return;
    const room = conn.room;
    const send = (frames: Uint8Array[]): void => {
      if (frames.length === 0) return;
      onMacrotask(() => {
        if (conn.closed) return;
        for (const frame of frames) ctx.send(ws, frame);
      });
    };
    ctx.bus.request(subjects.hold(room), v1.HoldRequest.encode({}).finish(), holdTimeoutMs).then(
      (data) => send(v1.HoldReply.decode(data).held.map((held) => v1.ServerFrame.encode({ held }).finish())),
      () => undefined,
    );
    ctx.bus.request(subjects.report(room), v1.ReportRequest.encode({}).finish(), holdTimeoutMs).then(
      (data) => send(v1.ReportReply.decode(data).reports.map((reported) => v1.ServerFrame.encode({ reported }).finish())),
      () => undefined,
    );
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
    if (action === 'resolveReport') return this.resolveReport(ctx, ws, conn, m, actor);
    const event = actionEvent(conn.room, m, actor, this.deps.options);
    if (isActionRefusal(event)) return ctx.sendError(ws, event.code, event.message);
    const full = limitRefusal(this.states.get(conn.room), event, this.deps.options, this.now());
    if (full) return ctx.sendError(ws, full.code, full.message);
    ctx.bus.publish(subjects.ingress(conn.room), v1.Event.encode(event).finish());
  };

  /** Super chats are paid state kept by core's gift service; it stores the removal as an event. */
  private removeSuperChat(ctx: EdgeContext, ws: Socket, conn: Conn, m: v1.RemoveSuperChat): void {
    if (!m.id) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'remove_super_chat needs the super chat id');
    const body = v1.RemoveSuperChat.encode({ id: m.id, byUserId: conn.identity.userId }).finish();
    askCore(
      ctx,
      conn,
      { subject: subjects.removeSuperChat(conn.room), body, timeoutMs: holdTimeoutMs, what: 'super chat removal' },
      v1.PaidReply.decode,
      (reply) => answerRefusal(ctx, ws, reply),
    );
  }

  /** Reports are counted and resolved by core (core/reports/reports.ts); its refusal is the moderator's answer. */
  private resolveReport(ctx: EdgeContext, ws: Socket, conn: Conn, m: v1.Moderate, actor: v1.IUser): void {
    const resolve = m.resolveReport as v1.ResolveReport;
    if (!resolve.reportId) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'report_id is required');
    const body = v1.ReportRequest.encode({ resolve, actor, reason: m.reason }).finish();
    askCore(
      ctx,
      conn,
      { subject: subjects.report(conn.room), body, timeoutMs: holdTimeoutMs, what: 'report resolution' },
      v1.ReportReply.decode,
      (reply) => answerRefusal(ctx, ws, reply),
    );
  }

  private decide(ctx: EdgeContext, ws: Socket, conn: Conn, m: v1.Moderate, actor: v1.IUser): void {
    const decision = m.hold as v1.HoldDecision;
    if (!decision.holdId) return ctx.sendError(ws, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'hold_id is required');
    const body = v1.HoldRequest.encode({ decision, actor, reason: m.reason }).finish();
    askCore(
      ctx,
      conn,
      { subject: subjects.hold(conn.room), body, timeoutMs: holdTimeoutMs, what: 'hold decision' },
      v1.HoldReply.decode,
      (reply) => {
        if (!reply) ctx.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, notConfirmed);
        else if (!reply.found) ctx.sendError(ws, ErrorCode.ERROR_CODE_NOT_FOUND, 'no such held danmaku (decided already or expired)');
      },
    );
  }
}

/** A moderation request core answered with nothing to say unless it refused: its refusal, or UNAVAILABLE if it did not answer. */
function answerRefusal(ctx: EdgeContext, ws: Socket, reply: { error: v1.ErrorCode; message: string } | undefined): void {
  if (!reply) ctx.sendError(ws, ErrorCode.ERROR_CODE_UNAVAILABLE, notConfirmed);
  else if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) ctx.sendError(ws, reply.error, reply.message);
}
