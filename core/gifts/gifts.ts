/**
 * Gifts and super chats in core: the one place a paid event is recorded.
 * Edges (receipts from the widget) and the HTTP API (site backends) both
 * send a `PaidRequest` on `barrage.room.<id>.paid` and wait for the reply,
 * which comes only once the event is durable (`Sequencer.append`). Each paid
 * id is recorded once (`GiftLedger`): a retry, a replayed receipt or the same
 * Idempotency-Key through another edge gets the first answer back marked
 * `duplicate`, and nothing is shown or counted again.
 *
 * Also here: combos (the same user and gift within a window grow one combo,
 * x1..x99), super chat pin times by price tier and their removal by
 * moderators, and the live-session leaderboard pushed at most every second
 * when it changed, and at least every `counterHeartbeatMs` once the room
 * has had a gift (so an overlay that just loaded shows it) while anyone
 * watches. A room with no gift, no pinned super chat and no viewer for
 * `roomIdleMs` is forgotten: its leaderboard starts again from zero.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import { onceInFlight } from '../in-flight.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { tierOf } from '../../domain/config-gifts.js';
import type { GiftConfig } from '../../domain/config-gifts.js';
import type { GiftLedger, LedgerRecord } from './gift-ledger.js';
import { counterHeartbeatMs, defaultRoomIdleMs } from '../sequencing/sequencer.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';
import { backoffMs, sleep } from '../../domain/retry.js';

/** Longest Idempotency-Key a site may send to the gifts API (visible ASCII), as docs/api.md promises. */
export const maxIdempotencyKeyLength = 200;
/**
 * Longest paid id core accepts. Ids are namespaced, `k:<Idempotency-Key>`
 * from the API and `r:<receipt jti>` from edges, so the limit is the longest
 * key plus its prefix: a 199- or 200-character key must not become an id
 * core refuses.
 */
export const maxPaidIdLength = maxIdempotencyKeyLength + 2;

/** How far before a stale claim's time a takeover looks for the stored event (clocks of two cores differ). */
const takeoverMarginMs = 60_000;

/** Combos stop growing here; the next gift starts a new combo. */
export const maxCombo = 99;
/** The leaderboard is pushed at most this often when it changes. */
export const leaderboardIntervalMs = 1_000;

interface Gifter {
  user: v1.IUser;
  cents: number;
  gifts: number;
}

interface Combo {
  id: string;
  count: number;
  lastAt: number;
}

class RoomGifts {
  readonly gifters = new Map<string, Gifter>();
  totalCents = 0;
  totalGifts = 0;
  changed = false;
  lastPushAt = 0;
  readonly combos = new Map<string, Combo>();
  /** Super chats still pinned: id to the time the pin ends (ms). */
  readonly pinned = new Map<string, number>();
  comboSerial = 0;
  /** When the room last had a paid event (ms), for idle eviction. */
  lastPaidAt = 0;
}

/** Options of the gift service. */
export interface GiftServiceOptions {
  bus: Bus;
  sequencer: Sequencer;
  ledger: GiftLedger;
  config: GiftConfig;
  logger: Logger;
  now?: () => number;
  /** A room with no gift, no pin and no viewer for this long is forgotten (default 10 minutes). */
  roomIdleMs?: number;
}

/** A stable hash of what a paid request asks for, to tell a retry from a reused id. */
export function fingerprintOf(req: v1.IPaidRequest): string {
  const parts = [req.user?.id ?? '', req.giftId ?? '', req.count ?? 0, req.text ?? '', req.priceCents ?? 0];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

const fail = (error: v1.ErrorCode, message: string): v1.PaidReply => new v1.PaidReply({ error, message });

/** Records gifts and super chats once, durably; keeps combos, pins and the leaderboard. */
export class GiftService {
  private readonly rooms = new Map<string, RoomGifts>();
  /** Paid ids being recorded by this core: a concurrent retry waits for the same answer. */
  private readonly inflight = new Map<string, Promise<v1.PaidReply>>();
  /** Recorded here but not yet written to the ledger (it was unreachable): checked before the ledger. */
  private readonly unwritten = new Map<string, LedgerRecord>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private stopped = false;
  /** Recorded, duplicates answered, refused, and found stored by a dead core (adopted). */
  readonly stats = { recorded: 0, duplicates: 0, refused: 0, adopted: 0 };

  constructor(private readonly options: GiftServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    const { bus } = this.options;
    this.subs.push(
      bus.serve(subjects.paidAll, async (data, subject) => {
        const reply = await this.record(roomOfSubject(subject), v1.PaidRequest.decode(data));
        return v1.PaidReply.encode(reply).finish();
      }),
      bus.serve(subjects.removeSuperChatAll, async (data, subject) => {
        const req = v1.RemoveSuperChat.decode(data);
        return v1.PaidReply.encode(await this.removeSuperChat(roomOfSubject(subject), req.id, req.byUserId)).finish();
      }),
    );
    this.timer = setInterval(() => this.tick(), leaderboardIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
  }

  private room(id: string): RoomGifts {
    let room = this.rooms.get(id);
    if (!room) this.rooms.set(id, (room = new RoomGifts()));
    return room;
  }

  /**
   * Records one gift or super chat and answers once it is durable; a paid id
   * seen before is answered with the first result and `duplicate: true`.
   */
  async record(room: string, req: v1.PaidRequest): Promise<v1.PaidReply> {
    const refusal = this.validate(req);
    if (refusal) {
      this.stats.refused++;
      return refusal;
    }
    const key = `${room}/${req.id}`;
    const fingerprint = req.fingerprint || fingerprintOf(req);
    return onceInFlight(
      this.inflight,
      key,
      () => this.recordOnce(room, key, req, fingerprint),
      () => this.stats.duplicates++,
    );
  }

  private validate(req: v1.PaidRequest): v1.PaidReply | undefined {
    const { config } = this.options;
    if (!req.id || req.id.length > maxPaidIdLength) {
      return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `a paid event needs an id of 1-${maxPaidIdLength} characters`);
    }
    if (!req.user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a paid event needs a user');
    if (req.giftId) {
      if (!config.gifts.has(req.giftId)) return fail(ErrorCode.ERROR_CODE_GIFT_UNKNOWN, `no gift "${req.giftId}" in the catalogue`);
      if (req.count < 1 || req.count > config.maxGiftCount) {
        return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `count must be 1 to ${config.maxGiftCount}`);
      }
      return undefined;
    }
    const text = (req.text ?? '').trim();
    if (text === '') return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a super chat needs text (or send a gift id)');
    if ([...text].length > config.superChatMaxText) {
      return fail(ErrorCode.ERROR_CODE_TEXT_TOO_LONG, `super chat text is longer than ${config.superChatMaxText} characters`);
    }
    if (!tierOf(config.superChatTiers, req.priceCents)) {
      const min = config.superChatTiers[0]?.minCents ?? 0;
      return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `a super chat costs at least ${min} cents`);
    }
    return undefined;
  }

  private duplicateOf(record: LedgerRecord, fingerprint: string): v1.PaidReply {
    this.stats.duplicates++;
    return new v1.PaidReply({
      seq: record.seq,
      duplicate: true,
      conflict: record.fingerprint !== fingerprint,
      event: v1.Event.decode(record.event),
    });
  }

  private async recordOnce(room: string, key: string, req: v1.PaidRequest, fingerprint: string): Promise<v1.PaidReply> {
    const local = this.unwritten.get(key);
    if (local) return this.duplicateOf(local, fingerprint);
    let claim;
    try {
      claim = await this.options.ledger.claim(key);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, room }, 'gift ledger unavailable');
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'gift ledger unavailable; retry with the same id');
    }
    if (claim.kind === 'done') return this.duplicateOf(claim.record, fingerprint);
    if (claim.kind === 'busy') return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'this gift is being recorded; retry with the same id');
    if (claim.takenOverFrom !== undefined) {
      // A dead core may have stored it before it could mark it done: look first.
      let stored: v1.Event | undefined;
      try {
        stored = await this.options.sequencer.findPaid(room, req.id, claim.takenOverFrom - takeoverMarginMs);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, room }, 'cannot read stored paid events to settle a takeover');
        return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'this gift is being recorded; retry with the same id');
      }
      if (stored) return this.adopt(room, key, stored, fingerprint);
    }
    const event = this.buildEvent(room, req);
    const seq = await this.options.sequencer.append(room, event);
    this.count(room, event);
    const record: LedgerRecord = { seq, event: v1.Event.encode(event).finish(), fingerprint };
    this.unwritten.set(key, record);
    void this.writeLedger(key, record);
    this.stats.recorded++;
    return new v1.PaidReply({ seq, event });
  }

  /**
   * Takes over a paid event a dead core stored but never marked done: this
   * core counts it (its leaderboard never saw it), marks it done with this
   * request's fingerprint (a retry carries the same request), and answers
   * with it as recorded.
   */
  private adopt(room: string, key: string, event: v1.Event, fingerprint: string): v1.PaidReply {
    this.count(room, event);
    const record: LedgerRecord = { seq: Number(event.seq), event: v1.Event.encode(event).finish(), fingerprint };
    this.unwritten.set(key, record);
    void this.writeLedger(key, record);
    this.stats.adopted++;
    return new v1.PaidReply({ seq: record.seq, event });
  }

  /** Writes a record to the ledger, retrying until it is there (the local map answers retries meanwhile). */
  private async writeLedger(key: string, record: LedgerRecord): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.options.ledger.complete(key, record);
        this.unwritten.delete(key);
        return;
      } catch (err) {
        if (attempt === 0) this.options.logger.warn({ err: (err as Error).message }, 'writing the gift ledger failed; retrying');
        await sleep(backoffMs(attempt, 100, 2_000));
      }
    }
  }

  private buildEvent(roomId: string, req: v1.PaidRequest): v1.Event {
    const { config } = this.options;
    const now = this.now();
    const user = { id: req.user?.id ?? '', name: req.user?.name || (req.user?.id ?? ''), role: req.user?.role ?? 0 };
    const room = this.room(roomId);
    if (!req.giftId) {
      const tier = tierOf(config.superChatTiers, req.priceCents);
      const pinSeconds = tier?.pinSeconds ?? 0;
      if (pinSeconds > 0) room.pinned.set(req.id, now + pinSeconds * 1000);
      return new v1.Event({
        room: roomId,
        superChat: {
          id: req.id,
          user,
          text: req.text.trim(),
          priceCents: req.priceCents,
          pinSeconds,
          color: req.color || (tier?.color ?? 0),
        },
      });
    }
    const gift = config.gifts.get(req.giftId);
    const comboKey = `${user.id}\u0000${req.giftId}`;
    let combo = room.combos.get(comboKey);
    if (!combo || now - combo.lastAt > config.comboWindowMs || combo.count >= maxCombo) {
      combo = { id: `${user.id}:${req.giftId}:${now.toString(36)}:${(++room.comboSerial).toString(36)}`, count: 0, lastAt: now };
      room.combos.set(comboKey, combo);
    }
    combo.count++;
    combo.lastAt = now;
    return new v1.Event({
      room: roomId,
      gift: {
        id: req.id,
        user,
        giftId: req.giftId,
        name: gift?.name ?? req.giftId,
        count: req.count,
        priceCents: gift?.priceCents ?? 0,
        combo: combo.count,
        comboId: combo.id,
        imageUrl: gift?.imageUrl ?? '',
        tier: gift?.tier ?? 1,
      },
    });
  }

  /** Adds a recorded event to the room's leaderboard. */
  private count(roomId: string, event: v1.Event): void {
    const room = this.room(roomId);
    const paid = event.gift ?? event.superChat;
    if (!paid?.user) return;
    const units = event.gift ? (event.gift.count ?? 0) : 0;
    const cents = event.gift ? Number(event.gift.priceCents ?? 0) * units : Number(event.superChat?.priceCents ?? 0);
    let gifter = room.gifters.get(paid.user.id ?? '');
    if (!gifter) room.gifters.set(paid.user.id ?? '', (gifter = { user: paid.user, cents: 0, gifts: 0 }));
    gifter.cents += cents;
    gifter.gifts += units;
    room.totalCents += cents;
    room.totalGifts += units;
    room.changed = true;
    room.lastPaidAt = this.now();
  }

  /**
   * Unpins a super chat before its time (a moderator's action): stores a
   * `super_chat_removed` control event. NOT_FOUND when it is not pinned.
   * The moderation side calls this through `barrage.room.<id>.scrm`.
   */
  async removeSuperChat(roomId: string, id: string, byUserId: string): Promise<v1.PaidReply> {
    const room = this.rooms.get(roomId);
    const until = room?.pinned.get(id);
    if (!room || until === undefined || until <= this.now()) {
      return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such super chat pinned in this room');
    }
    room.pinned.delete(id);
    const event = new v1.Event({ room: roomId, superChatRemoved: { id, byUserId } });
    const seq = await this.options.sequencer.append(roomId, event);
    return new v1.PaidReply({ seq, event });
  }

  /** The room's leaderboard as pushed (top entries and totals). */
  leaderboard(roomId: string): v1.Leaderboard {
    const room = this.rooms.get(roomId);
    if (!room) return new v1.Leaderboard({ entries: [], totalCents: 0, totalGifts: 0 });
    const top = [...room.gifters.values()]
      .sort((a, b) => b.cents - a.cents || b.gifts - a.gifts)
      .slice(0, this.options.config.leaderboardSize)
      .map((g) => ({ user: g.user, totalCents: g.cents, gifts: g.gifts }));
    return new v1.Leaderboard({ entries: top, totalCents: room.totalCents, totalGifts: room.totalGifts });
  }

  /** A new live session: the room's leaderboard starts from zero (pushed empty at the next tick). */
  resetRoom(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.gifters.clear();
    room.totalCents = 0;
    room.totalGifts = 0;
    room.changed = true;
  }

  /** Rooms held (tests). */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Pushes changed leaderboards (and the others as a heartbeat to watched rooms); forgets old combos, pins and idle rooms. */
  private tick(): void {
    const now = this.now();
    const idleMs = this.options.roomIdleMs ?? defaultRoomIdleMs;
    for (const [id, room] of this.rooms) {
      for (const [k, c] of room.combos) if (now - c.lastAt > this.options.config.comboWindowMs) room.combos.delete(k);
      for (const [k, until] of room.pinned) if (until <= now) room.pinned.delete(k);
      if (!room.changed) {
        if (this.options.sequencer.online(id) === 0) {
          if (now - room.lastPaidAt >= idleMs && room.pinned.size === 0 && room.combos.size === 0) this.rooms.delete(id);
          continue;
        }
        if (room.totalGifts === 0 || now - room.lastPushAt < counterHeartbeatMs) continue;
      }
      room.changed = false;
      room.lastPushAt = now;
      // A counter: it carries the latest seq without taking one (not stored, not replayed).
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(id),
        room: id,
        tsMs: now,
        leaderboard: this.leaderboard(id),
      }).finish();
      this.options.bus.publish(subjects.events(id), event);
    }
  }
}
