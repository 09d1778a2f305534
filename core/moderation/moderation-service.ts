/**
 * Core's part of moderation:
 * - follows every room's sequenced events and, for each control event that
 *   changes a room's moderation state, applies it and stores the state
 *   (`ModerationStore`), which is how every edge learns it;
 * - keeps the danmaku the word filter held, and answers hold requests
 *   (approve: the danmaku goes to the room; reject: it is dropped; both are
 *   audited as a `hold_decision` event);
 * - turns slow mode on by itself when a room's chat rate passes the
 *   threshold, and off again when the room has been calm, telling the room.
 *
 * Bounded work and memory:
 * - State changes are applied in memory at once and written coalesced: while
 *   a room's write is under way, later changes wait and are written together
 *   once it ends. A burst of N bans costs a few writes, not N writes of a
 *   growing state (which was O(N²)).
 * - A room is "active" while it has chat in the rate window, held danmaku,
 *   an automatic slow mode to lift, or a write to finish; the one-second tick
 *   walks active rooms only. A room idle for `roomIdleMs` is forgotten
 *   (its state is in the store, read again if the room comes back).
 * - Held danmaku: at most `maxHeldPerRoom` per room and `maxHeldPerUser` per
 *   user (the user's oldest goes first), dropped after `heldTtlMs`; each drop
 *   is published as a rejection, so moderators' lists and edges' counts follow.
 *
 * With several cores each follows the feed and writes the same states (the
 * store keeps the newest by seq); hold requests are answered by one core
 * (a queue group); automatic slow mode may be announced once per core in the
 * worst case (idempotent: the state is the same).
 */
import type { Logger } from 'pino';
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { EventClass, classOfField, eventKindField } from '../../domain/event-kind.js';
import { heldTtlMs, maxHeldPerUser, stateLimitsOf } from '../../domain/moderation.js';
import type { ModerationOptions } from '../../domain/moderation.js';
import { applyControl, changesState, emptyModeration, entryCount, prune } from '../../domain/moderation-state.js';
import type { RoomModeration, StateLimits } from '../../domain/moderation-state.js';
import type { ModerationStore } from '../../domain/moderation-store.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';

/** Held danmaku kept per room (oldest dropped first). */
export const maxHeldPerRoom = 200;
/** Chat rate is measured over this many one-second ticks. */
const rateWindow = 3;
/** A failed state write is tried again after this long. */
const retryWriteMs = 1_000;
/** Who automatic actions are by, in the audit log. */
export const systemActor: v1.IUser = { id: 'system', name: 'automatic slow mode', role: v1.Role.ROLE_ADMIN };
/** Who undoes an action past the room's limit, in the audit log. */
const limitActor: v1.IUser = { id: 'system', name: 'moderation limit', role: v1.Role.ROLE_ADMIN };

interface CoreRoom {
  id: string;
  state: RoomModeration;
  /** Events that came while the stored state was being read (undefined once it is). */
  pending: v1.Event[] | undefined;
  /** A write is under way. */
  writing: boolean;
  /** The state changed since the last write started. */
  dirty: boolean;
  /** No write is tried before this time (the last one failed). */
  retryAt: number;
  /** Danmaku counted in the current tick and the last few. */
  count: number;
  counts: number[];
  calmSince: number;
  /** No automatic change is proposed again before this time (the last one is on its way). */
  quietUntil: number;
  /** Held danmaku by hold id, oldest first. */
  held: Map<string, v1.Held>;
  /** Each user's held ids, oldest first. */
  heldByUser: Map<string, string[]>;
}

/** Options of the service. */
export interface ModerationServiceOptions extends ModerationOptions {
  logger: Logger;
  now?: () => number;
  /** A room with nothing going on for this long is forgotten (`BARRAGE_ROOM_IDLE_SECONDS`; default 10 minutes). */
  roomIdleMs?: number;
}

/** Core-side moderation; see the file comment. */
export class ModerationService {
  private readonly rooms = new Map<string, CoreRoom>();
  /** Rooms the tick looks at. */
  private readonly active = new Set<string>();
  /** Rooms with nothing going on -> since when, oldest first (Map order). */
  private readonly idle = new Map<string, number>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly limits: StateLimits;
  private readonly idleMs: number;
  /** Reads and writes under way, and who waits for none to be. */
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly bus: Bus,
    private readonly store: ModerationStore,
    private readonly options: ModerationServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.limits = stateLimitsOf(options);
    this.idleMs = options.roomIdleMs ?? 600_000;
  }

  start(): void {
    this.subs.push(
      this.bus.subscribe(subjects.events('*'), (data, subject) => this.onEvent(data, subject)),
      this.bus.subscribe(subjects.heldAll, (data, subject) => this.onHeld(data, subject)),
      this.bus.serve(subjects.holdAll, (data, subject) => this.onHoldRequest(data, subject)),
    );
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
  }

  /** Resolves once every state read and write started so far has ended (tests). */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Rooms held in memory, active and idle (tests and metrics). */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Rooms the tick walks (tests and metrics). */
  get activeRoomCount(): number {
    return this.active.size;
  }

  private begin(): void {
    this.inFlight++;
  }

  private end(): void {
    if (--this.inFlight > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private room(id: string): CoreRoom {
    let room = this.rooms.get(id);
    if (!room) {
      const created: CoreRoom = {
        id,
        state: emptyModeration(id),
        pending: [],
        writing: false,
        dirty: false,
        retryAt: 0,
        count: 0,
        counts: [],
        calmSince: 0,
        quietUntil: 0,
        held: new Map(),
        heldByUser: new Map(),
      };
      // The first thing done for a room is reading its stored state; events wait for it.
      this.begin();
      this.store
        .getState(id)
        .then(
          (stored) => {
            if (stored && stored.seq > created.state.seq) created.state = stored;
          },
          (err: unknown) => this.options.logger.warn({ err, room: id }, 'reading moderation state failed'),
        )
        .finally(() => {
          const pending = created.pending ?? [];
          created.pending = undefined;
          for (const event of pending) this.apply(created, event);
          this.end();
        });
      this.rooms.set(id, (room = created));
    }
    this.active.add(id);
    this.idle.delete(id);
    return room;
  }

  private onEvent(data: Uint8Array, subject: string): void {
    // Chat is counted from its bytes: decoding every danmaku to count it would cost more than the rest.
    const field = eventKindField(data);
    if (classOfField(field) === EventClass.Chat) {
      this.room(roomOfSubject(subject)).count++;
      return;
    }
    if (field <= 0) return;
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch {
      return;
    }
    if (!changesState(event)) return;
    const room = this.room(roomOfSubject(subject));
    if (room.pending) room.pending.push(event);
    else this.apply(room, event);
  }

  /** Applies a control event in memory and schedules the write. */
  private apply(room: CoreRoom, event: v1.Event): void {
    const outcome = applyControl(room.state, event, this.limits);
    if (outcome === 'ignored') return;
    if (outcome === 'limit') {
      this.undoPastLimit(room, event);
      return;
    }
    room.dirty = true;
    this.flush(room);
  }

  /**
   * A ban or time-out of a new user reached a full room (two moderators racing
   * past the edges' check): it is not applied, and an unban/unmute by `system`
   * says so to the room and the audit log, so nobody believes it took.
   */
  private undoPastLimit(room: CoreRoom, event: v1.Event): void {
    const user = event.ban?.userId ?? event.mute?.userId ?? '';
    const reason = `the room holds ${entryCount(room.state)} bans and time-outs, the most it may (${this.limits.maxEntries})`;
    this.options.logger.warn({ room: room.id, user, seq: Number(event.seq) }, `moderation action refused: ${reason}`);
    const undo: v1.IEvent = event.ban
      ? { room: room.id, unban: { userId: user }, actor: limitActor, reason }
      : { room: room.id, unmute: { userId: user }, actor: limitActor, reason };
    this.bus.publish(subjects.ingress(room.id), v1.Event.encode(undo).finish());
  }

  /** Writes the room's state, and again as long as it changed during the write. */
  private flush(room: CoreRoom): void {
    if (room.writing || !room.dirty || this.now() < room.retryAt) return;
    room.writing = true;
    this.begin();
    void (async () => {
      try {
        while (room.dirty) {
          room.dirty = false;
          prune(room.state, this.now());
          try {
            // The store encodes the state before its first await; changes made meanwhile go in the next write.
            await this.store.putState(room.state);
          } catch (err) {
            this.options.logger.error({ err, room: room.id, seq: room.state.seq }, 'storing moderation state failed; trying again');
            room.dirty = true;
            room.retryAt = this.now() + retryWriteMs;
            break;
          }
        }
      } finally {
        room.writing = false;
        this.end();
      }
    })();
  }

  // ------------------------------------------------------------------ held danmaku

  private onHeld(data: Uint8Array, subject: string): void {
    let held: v1.Held;
    try {
      held = v1.Held.decode(data);
    } catch {
      return;
    }
    const id = roomOfSubject(subject);
    if (held.resolved) {
      const room = this.rooms.get(id);
      if (room) this.forgetHeld(room, held.holdId);
      return;
    }
    if (!held.holdId) return;
    const room = this.room(id);
    held.tsMs = Number(held.tsMs) || this.now();
    room.held.set(held.holdId, held);
    const user = held.danmaku?.user?.id ?? '';
    const mine = room.heldByUser.get(user);
    if (mine) mine.push(held.holdId);
    else room.heldByUser.set(user, [held.holdId]);
    if ((mine?.length ?? 1) > maxHeldPerUser) this.dropHeld(room, (mine as string[])[0] as string);
    if (room.held.size > maxHeldPerRoom) this.dropHeld(room, room.held.keys().next().value as string);
  }

  /** Removes a held danmaku from the room's lists. Returns it, if it was there. */
  private forgetHeld(room: CoreRoom, holdId: string): v1.Held | undefined {
    const held = room.held.get(holdId);
    if (!held) return undefined;
    room.held.delete(holdId);
    const user = held.danmaku?.user?.id ?? '';
    const mine = room.heldByUser.get(user);
    if (mine) {
      const at = mine.indexOf(holdId);
      if (at >= 0) mine.splice(at, 1);
      if (mine.length === 0) room.heldByUser.delete(user);
    }
    return held;
  }

  /** Drops a held danmaku nobody decided on (over a limit, or too old), and says so as a rejection. */
  private dropHeld(room: CoreRoom, holdId: string): void {
    if (!this.forgetHeld(room, holdId)) return;
    this.bus.publish(subjects.held(room.id), v1.Held.encode({ holdId, room: room.id, resolved: true, approved: false }).finish());
  }

  /** Drops held danmaku older than `heldTtlMs` (oldest first, so this stops at the first young one). */
  private expireHeld(room: CoreRoom, now: number): void {
    for (const [holdId, h] of room.held) {
      if (now - Number(h.tsMs) <= heldTtlMs) break;
      this.dropHeld(room, holdId);
    }
  }

  private onHoldRequest(data: Uint8Array, subject: string): Uint8Array {
    const id = roomOfSubject(subject);
    // Asking about a room is no reason to keep one in memory.
    const room = this.rooms.get(id);
    if (room) this.expireHeld(room, this.now());
    let request: v1.HoldRequest;
    try {
      request = v1.HoldRequest.decode(data);
    } catch {
      return v1.HoldReply.encode({ found: false }).finish();
    }
    const decision = request.decision;
    if (!decision) return v1.HoldReply.encode({ found: true, held: room ? [...room.held.values()] : [] }).finish();
    const holdId = decision.holdId ?? '';
    const held = room ? this.forgetHeld(room, holdId) : undefined;
    if (!held) return v1.HoldReply.encode({ found: false }).finish();
    if (decision.approve && held.danmaku) {
      this.bus.publish(subjects.ingress(id), v1.Event.encode({ room: id, danmaku: { ...held.danmaku, id: '' } }).finish());
    }
    this.bus.publish(
      subjects.ingress(id),
      v1.Event.encode({
        room: id,
        holdDecision: { holdId: decision.holdId, approve: decision.approve },
        actor: request.actor,
        reason: request.reason,
      }).finish(),
    );
    this.bus.publish(
      subjects.held(id),
      v1.Held.encode({ holdId: decision.holdId, room: id, resolved: true, approved: decision.approve }).finish(),
    );
    return v1.HoldReply.encode({ found: true }).finish();
  }

  // ------------------------------------------------------------------ the tick

  /**
   * Every second (public for tests): the chat rate and automatic slow mode,
   * held danmaku expiry and failed writes of active rooms; rooms with nothing
   * left to do become idle, and rooms idle for `roomIdleMs` are forgotten.
   */
  tick(): void {
    const now = this.now();
    for (const id of this.active) {
      const room = this.rooms.get(id);
      if (!room) {
        this.active.delete(id);
        continue;
      }
      room.counts.push(room.count);
      room.count = 0;
      if (room.counts.length > rateWindow) room.counts.shift();
      if (room.held.size > 0) this.expireHeld(room, now);
      if (room.dirty) this.flush(room);
      this.autoSlow(room, now);
      if (this.quiet(room)) {
        this.active.delete(id);
        this.idle.set(id, now);
      }
    }
    for (const [id, since] of this.idle) {
      if (now - since < this.idleMs) break;
      this.idle.delete(id);
      this.rooms.delete(id);
    }
  }

  /** Nothing for the tick to do for this room until something happens in it. */
  private quiet(room: CoreRoom): boolean {
    if (room.count > 0 || room.counts.some((c) => c > 0) || room.held.size > 0) return false;
    if (room.pending || room.writing || room.dirty) return false;
    return !(this.options.autoSlowRate > 0 && room.state.slowAutomatic);
  }

  private autoSlow(room: CoreRoom, now: number): void {
    const { autoSlowRate, autoSlowSeconds, autoSlowCalmMs } = this.options;
    if (autoSlowRate === 0 || room.pending || now < room.quietUntil) return;
    const rate = room.counts.reduce((a, b) => a + b, 0) / room.counts.length;
    const s = room.state;
    if (s.slowSeconds === 0 && rate >= autoSlowRate) {
      room.quietUntil = now + 3_000;
      room.calmSince = 0;
      this.announce(room.id, autoSlowSeconds, `Chat is busy: slow mode is on, one danmaku every ${autoSlowSeconds} s.`);
    } else if (s.slowAutomatic && rate < autoSlowRate / 2) {
      if (room.calmSince === 0) room.calmSince = now;
      if (now - room.calmSince >= autoSlowCalmMs) {
        room.quietUntil = now + 3_000;
        room.calmSince = 0;
        this.announce(room.id, 0, 'Chat has calmed down: slow mode is off.');
      }
    } else {
      room.calmSince = 0;
    }
  }

  private announce(room: string, seconds: number, text: string): void {
    const reason = seconds > 0 ? 'chat rate over the threshold' : 'chat rate back under the threshold';
    this.bus.publish(
      subjects.ingress(room),
      v1.Event.encode({ room, slowMode: { seconds, automatic: true }, actor: systemActor, reason }).finish(),
    );
    this.bus.publish(
      subjects.ingress(room),
      v1.Event.encode({ room, notice: { text, level: 'info' }, actor: systemActor, reason }).finish(),
    );
  }
}
