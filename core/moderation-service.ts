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
 * With several cores each follows the feed and writes the same states (the
 * store keeps the newest by seq); hold requests are answered by one core
 * (a queue group); automatic slow mode may be announced once per core in the
 * worst case (idempotent: the state is the same).
 */
import type { Logger } from 'pino';
import { v1 } from '../proto/index.js';
import type { Bus, Subscription } from './bus.js';
import type { ModerationOptions } from './moderation.js';
import { applyControl, changesState, emptyModeration, prune } from './moderation-state.js';
import type { RoomModeration } from './moderation-state.js';
import type { ModerationStore } from './moderation-store.js';
import { roomOfSubject, subjects } from './subjects.js';

/** Held danmaku kept per room (oldest dropped first). */
const maxHeldPerRoom = 200;
/** Held danmaku older than this are dropped. */
const heldTtlMs = 30 * 60_000;
/** Chat rate is measured over this many one-second ticks. */
const rateWindow = 3;
/** Who automatic actions are by, in the audit log. */
export const systemActor: v1.IUser = { id: 'system', name: 'automatic slow mode', role: v1.Role.ROLE_ADMIN };

interface CoreRoom {
  state: RoomModeration;
  /** Applies run one after another per room. */
  chain: Promise<void>;
  /** Danmaku counted in the current tick and the last few. */
  count: number;
  counts: number[];
  calmSince: number;
  /** No automatic change is proposed again before this time (the last one is on its way). */
  quietUntil: number;
  held: Map<string, v1.IHeld>;
}

/** Options of the service. */
export interface ModerationServiceOptions extends ModerationOptions {
  logger: Logger;
  now?: () => number;
}

/** Core-side moderation; see the file comment. */
export class ModerationService {
  private readonly rooms = new Map<string, CoreRoom>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly bus: Bus,
    private readonly store: ModerationStore,
    private readonly options: ModerationServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
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

  /** Resolves once every state change seen so far has been stored (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.rooms.values()].map((r) => r.chain));
  }

  private room(id: string): CoreRoom {
    let room = this.rooms.get(id);
    if (!room) {
      const created: CoreRoom = {
        state: emptyModeration(id),
        chain: Promise.resolve(),
        count: 0,
        counts: [],
        calmSince: 0,
        quietUntil: 0,
        held: new Map(),
      };
      // The first thing done for a room is reading its stored state.
      created.chain = this.store.getState(id).then(
        (stored) => {
          if (stored && stored.seq > created.state.seq) created.state = stored;
        },
        (err: unknown) => this.options.logger.warn({ err, room: id }, 'reading moderation state failed'),
      );
      this.rooms.set(id, (room = created));
    }
    return room;
  }

  private onEvent(data: Uint8Array, subject: string): void {
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch {
      return;
    }
    if (event.kind === 'danmaku') {
      this.room(roomOfSubject(subject)).count++;
      return;
    }
    if (!changesState(event)) return;
    const room = this.room(roomOfSubject(subject));
    room.chain = room.chain.then(async () => {
      if (!applyControl(room.state, event)) return;
      prune(room.state, this.now());
      try {
        await this.store.putState(room.state);
      } catch (err) {
        this.options.logger.error({ err, room: room.state.room, seq: room.state.seq }, 'storing moderation state failed');
      }
    });
  }

  // ------------------------------------------------------------------ held danmaku

  private onHeld(data: Uint8Array, subject: string): void {
    let held: v1.Held;
    try {
      held = v1.Held.decode(data);
    } catch {
      return;
    }
    const room = this.room(roomOfSubject(subject));
    if (held.resolved) {
      room.held.delete(held.holdId);
      return;
    }
    room.held.set(held.holdId, held);
    if (room.held.size > maxHeldPerRoom) room.held.delete(room.held.keys().next().value as string);
  }

  private onHoldRequest(data: Uint8Array, subject: string): Uint8Array {
    const id = roomOfSubject(subject);
    const room = this.room(id);
    const now = this.now();
    for (const [holdId, h] of room.held) if (now - Number(h.tsMs) > heldTtlMs) room.held.delete(holdId);
    let request: v1.HoldRequest;
    try {
      request = v1.HoldRequest.decode(data);
    } catch {
      return v1.HoldReply.encode({ found: false }).finish();
    }
    const decision = request.decision;
    if (!decision) return v1.HoldReply.encode({ found: true, held: [...room.held.values()] }).finish();
    const holdId = decision.holdId ?? '';
    const held = room.held.get(holdId);
    if (!held) return v1.HoldReply.encode({ found: false }).finish();
    room.held.delete(holdId);
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

  // ------------------------------------------------------------------ automatic slow mode

  private tick(): void {
    const { autoSlowRate, autoSlowSeconds, autoSlowCalmMs } = this.options;
    const now = this.now();
    for (const [id, room] of this.rooms) {
      room.counts.push(room.count);
      room.count = 0;
      if (room.counts.length > rateWindow) room.counts.shift();
      if (autoSlowRate === 0 || now < room.quietUntil) continue;
      const rate = room.counts.reduce((a, b) => a + b, 0) / room.counts.length;
      const s = room.state;
      if (s.slowSeconds === 0 && rate >= autoSlowRate) {
        room.quietUntil = now + 3_000;
        room.calmSince = 0;
        this.announce(id, autoSlowSeconds, `Chat is busy: slow mode is on, one danmaku every ${autoSlowSeconds} s.`);
      } else if (s.slowAutomatic && rate < autoSlowRate / 2) {
        if (room.calmSince === 0) room.calmSince = now;
        if (now - room.calmSince >= autoSlowCalmMs) {
          room.quietUntil = now + 3_000;
          room.calmSince = 0;
          this.announce(id, 0, 'Chat has calmed down: slow mode is off.');
        }
      } else {
        room.calmSince = 0;
      }
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
