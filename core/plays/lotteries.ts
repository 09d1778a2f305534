/**
 * Lotteries (天选时刻) in core: opened by a site backend
 * (`POST /api/v1/rooms/:room/lotteries`), entered once per user by sending a
 * danmaku containing the keyword, sending the named gift, or pressing "join"
 * (`join_lottery{id}`), and drawn at the end by the verifiable procedure of
 * `lottery-draw.ts`: the `lottery` event publishes the seed's SHA-256, the
 * `lottery_result` event the seed, the entrants' hash and the winners; the
 * API lists the entrants, so anyone can re-derive the winners.
 *
 * Lotteries (with their secret seed) and entrants are kept in the
 * play-state store (NATS KV clustered): an entry is answered once stored,
 * and a restarted core reloads open lotteries with their entrants and draws
 * them on time (at once if their time passed). Keyword and gift entries made
 * while no core ran are not seen.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { playEndActor } from './play-actor.js';
import { InFlight, fromBase64, readStored, resumeWithRetry, saveRecord, storeRecord, toBase64 } from './play-resume.js';
import type { PlayStateStore } from './play-state-store.js';
import { drawWinners, entrantsHash, newSeed, sortEntrants } from './lottery-draw.js';
import { RoomWatch, foldText } from './room-watch.js';

/** Limits of a lottery. */
export const lotteryLimits = {
  maxPrize: 100,
  maxWinners: 1_000,
  minDurationS: 5,
  maxDurationS: 86_400,
  maxKeyword: 32,
  /** Entrants one lottery takes (more are refused LIMIT_REACHED). */
  maxEntrants: 1_000_000,
} as const;
/** Entrant counts are pushed at most this often. */
export const progressIntervalMs = 1_000;
const keepEndedMs = 3_600_000;

/** A lottery as stored: written at the start, replaced at the end. The seed stays in core's store until the draw. */
interface LotteryRecord {
  fingerprint: string;
  /** The `CreateLottery`, protobuf in base64. */
  spec: string;
  /** Hex. */
  seed: string;
  seedSha256: string;
  by: { id: string; name: string; role: number };
  openedAtMs: number;
  endsAtMs: number;
  /** Seq of the `lottery` event (0 until announced). */
  openedSeq: number;
  ended: boolean;
  /** The `LotteryResult`, protobuf in base64, once drawn. */
  result?: string;
}

/** An entrant as stored (the user id is the entry's key). */
interface StoredEntrant {
  name: string;
}

interface OpenLottery {
  room: string;
  id: string;
  record: LotteryRecord;
  spec: v1.CreateLottery;
  seed: Buffer;
  entrants: Map<string, string>;
  changed: boolean;
  ended: boolean;
  result: v1.ILotteryResult | undefined;
  sorted: string[] | undefined;
  timer: NodeJS.Timeout | undefined;
  unwatch: (() => void) | undefined;
  inflight: InFlight;
  announcing: Promise<void> | undefined;
}

const fail = (error: v1.ErrorCode, message: string): v1.PlayReply => new v1.PlayReply({ error, message });
const entryNames: Record<number, string> = {
  [v1.LotteryEntry.LOTTERY_ENTRY_ANY]: 'any',
  [v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD]: 'keyword',
  [v1.LotteryEntry.LOTTERY_ENTRY_GIFT]: 'gift',
};

/** Why a lottery cannot be opened, or undefined. */
export function lotteryProblem(spec: v1.ICreateLottery, knownGift: (id: string) => boolean): string | undefined {
  const prize = (spec.prize ?? '').trim();
  if (!prize || [...prize].length > lotteryLimits.maxPrize) return `prize must be 1-${lotteryLimits.maxPrize} characters`;
  const winners = spec.winners ?? 0;
  if (winners < 1 || winners > lotteryLimits.maxWinners) return `winners must be 1 to ${lotteryLimits.maxWinners}`;
  const duration = spec.durationS ?? 0;
  if (duration < lotteryLimits.minDurationS || duration > lotteryLimits.maxDurationS) {
    return `duration_s must be ${lotteryLimits.minDurationS} to ${lotteryLimits.maxDurationS}`;
  }
  if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD) {
    const keyword = (spec.keyword ?? '').trim();
    if (!keyword || [...keyword].length > lotteryLimits.maxKeyword) return `keyword must be 1-${lotteryLimits.maxKeyword} characters`;
  } else if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_GIFT) {
    if (!knownGift(spec.giftId ?? '')) return `gift "${spec.giftId ?? ''}" is not in the catalogue`;
  } else if (spec.entry !== v1.LotteryEntry.LOTTERY_ENTRY_ANY) return 'entry must be any, keyword or gift';
  return undefined;
}

/** What the lottery service runs on. */
export interface LotteryServiceOptions {
  bus: Bus;
  sequencer: Sequencer;
  store: PlayStateStore;
  logger: Logger;
  knownGift: (id: string) => boolean;
  now?: () => number;
}

/** Runs lotteries. */
export class LotteryService {
  private readonly lotteries = new Map<string, OpenLottery>();
  private readonly watch: RoomWatch;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Settles once the stored lotteries are loaded (requests wait for it). */
  private ready: Promise<void> = Promise.resolve();

  constructor(private readonly options: LotteryServiceOptions) {
    this.now = options.now ?? Date.now;
    this.watch = new RoomWatch(options.bus);
  }

  start(): void {
    this.timer = setInterval(() => this.pushProgress(), progressIntervalMs);
    this.timer.unref();
    this.ready = resumeWithRetry(
      () => this.resume(),
      () => this.stopped,
      this.options.logger,
      'lotteries',
    );
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.watch.stop();
    for (const l of this.lotteries.values()) clearTimeout(l.timer);
  }

  /** Opens a lottery; the same idempotency key answers the same lottery. */
  async create(room: string, spec: v1.CreateLottery, by?: v1.IUser | null): Promise<v1.PlayReply> {
    const problem = lotteryProblem(spec, this.options.knownGift);
    if (problem) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, problem);
    await this.ready;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([spec.prize, spec.winners, spec.durationS, spec.entry, spec.keyword, spec.giftId, spec.membersOnly]))
      .digest('base64url');
    const { seed, seedSha256 } = newSeed();
    const id = spec.idempotencyKey
      ? createHash('sha256').update(`${room}\u0000lottery\u0000${spec.idempotencyKey}`).digest('hex').slice(0, 24)
      : seedSha256.slice(0, 24);
    const now = this.now();
    const record: LotteryRecord = {
      fingerprint,
      spec: toBase64(v1.CreateLottery.encode(spec).finish()),
      seed: seed.toString('hex'),
      seedSha256,
      by: { id: by?.id || 'api', name: by?.name || by?.id || 'api', role: by?.role ?? v1.Role.ROLE_VIEWER },
      openedAtMs: now,
      endsAtMs: now + spec.durationS * 1000,
      openedSeq: 0,
      ended: false,
    };
    const stored = await storeRecord(this.options.store, 'lottery', room, id, record, this.options.logger);
    if (stored instanceof v1.PlayReply) return stored;
    const lottery = this.lotteries.get(`${room}/${id}`) ?? this.hold(room, id, stored.record, new Map());
    if (!lottery.record.openedSeq) await (lottery.announcing ??= this.announce(lottery));
    return new v1.PlayReply({ duplicate: !stored.created, json: JSON.stringify(this.json(lottery)) });
  }

  /** Holds a lottery in memory (new, or read from the store with its entrants), its end timer and its room watch. */
  private hold(room: string, id: string, record: LotteryRecord, stored: Map<string, StoredEntrant>): OpenLottery {
    const spec = v1.CreateLottery.decode(fromBase64(record.spec));
    const lottery: OpenLottery = {
      room,
      id,
      record,
      spec,
      seed: Buffer.from(record.seed, 'hex'),
      entrants: new Map([...stored].map(([userId, e]) => [userId, e.name])),
      changed: stored.size > 0,
      ended: record.ended,
      result: record.result ? v1.LotteryResult.decode(fromBase64(record.result)) : undefined,
      sorted: undefined,
      timer: undefined,
      unwatch: undefined,
      inflight: new InFlight(),
      announcing: undefined,
    };
    this.lotteries.set(`${room}/${id}`, lottery);
    if (lottery.ended) {
      lottery.sorted = sortEntrants(lottery.entrants.keys());
      this.forgetLater(lottery, record.endsAtMs + keepEndedMs - this.now());
      return lottery;
    }
    // Entries by what viewers do count from the moment it opened.
    if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD) {
      const keyword = foldText(spec.keyword.trim());
      lottery.unwatch = this.watch.watch(room, (e) => {
        if (e.danmaku?.user && foldText(e.danmaku.text ?? '').includes(keyword)) void this.enter(lottery, e.danmaku.user);
      });
    } else if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_GIFT) {
      lottery.unwatch = this.watch.watch(room, (e) => {
        if (e.gift?.user && e.gift.giftId === spec.giftId) void this.enter(lottery, e.gift.user);
      });
    }
    lottery.timer = setTimeout(() => void this.end(lottery), Math.max(0, record.endsAtMs - this.now()) + 5);
    lottery.timer.unref();
    return lottery;
  }

  /** Sends the `lottery` event and stores its seq. */
  private async announce(l: OpenLottery): Promise<void> {
    const { room, record, spec } = l;
    l.record.openedSeq = await this.options.sequencer.append(
      room,
      new v1.Event({
        room,
        actor: { ...record.by },
        lottery: {
          id: l.id,
          prize: spec.prize.trim(),
          winners: spec.winners,
          endsAtMs: record.endsAtMs,
          entry: spec.entry,
          keyword: spec.keyword.trim(),
          giftId: spec.giftId,
          membersOnly: spec.membersOnly,
          seedSha256: record.seedSha256,
        },
      }),
    );
    await this.save(l);
  }

  private async save(l: OpenLottery): Promise<void> {
    await saveRecord(this.options.store, 'lottery', l.room, l.id, l.record, this.options.logger);
  }

  /** Loads the stored lotteries: open ones go on (drawn at once when their time passed), drawn ones stay readable. */
  private async resume(): Promise<void> {
    const held = (room: string, id: string): boolean => this.lotteries.has(`${room}/${id}`);
    await readStored<LotteryRecord, StoredEntrant>(
      this.options.store,
      'lottery',
      keepEndedMs,
      this.now(),
      held,
      (room, id, record, entries) => {
        const l = this.hold(room, id, record, entries);
        if (!l.ended && !record.openedSeq) void (l.announcing ??= this.announce(l));
      },
    );
  }

  /**
   * Enters a user: in memory at once (so a second entry is refused), then
   * stored; a failed or lost write takes the entry back. Answers whether it
   * is stored (undefined: the user had entered already).
   */
  private async admit(l: OpenLottery, user: v1.IUser & { id: string }): Promise<boolean | undefined> {
    if (l.entrants.has(user.id)) return undefined;
    const name = user.name || user.id;
    l.entrants.set(user.id, name);
    l.changed = true;
    const entry: StoredEntrant = { name };
    try {
      if (await l.inflight.track(this.options.store.enter('lottery', l.room, l.id, user.id, entry, true))) return true;
      l.entrants.delete(user.id); // another core stored it first
      l.changed = true;
      return undefined;
    } catch (err) {
      l.entrants.delete(user.id);
      l.changed = true;
      this.options.logger.warn({ err: (err as Error).message, room: l.room }, 'lottery entry not stored');
      return false;
    }
  }

  /** Enters a user seen in the room (keyword or gift); members-only lotteries read the member badge. */
  private async enter(lottery: OpenLottery, user: v1.IUser): Promise<void> {
    if (!user.id || lottery.ended || this.now() >= lottery.record.endsAtMs || lottery.entrants.has(user.id)) return;
    if (lottery.spec.membersOnly && !(user.badges ?? []).includes('member')) return;
    if (lottery.entrants.size >= lotteryLimits.maxEntrants) return;
    await this.admit(lottery, { ...user, id: user.id });
  }

  /** A viewer's `join_lottery`. */
  async join(room: string, id: string, user: v1.IUser | null | undefined, member: boolean): Promise<v1.PlayReply> {
    if (!user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'an entry needs a user');
    await this.ready;
    const lottery = this.lotteries.get(`${room}/${id}`);
    if (!lottery) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such lottery in this room');
    if (lottery.ended || this.now() >= lottery.record.endsAtMs) return fail(ErrorCode.ERROR_CODE_PLAY_EXPIRED, 'this lottery has ended');
    if (lottery.entrants.has(user.id)) return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you entered already');
    if (lottery.spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD) {
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, `enter by sending a danmaku with "${lottery.spec.keyword.trim()}"`);
    }
    if (lottery.spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_GIFT) {
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, `enter by sending the gift "${lottery.spec.giftId}"`);
    }
    if (lottery.spec.membersOnly && !member) return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, 'this lottery is for members only');
    if (lottery.entrants.size >= lotteryLimits.maxEntrants) return fail(ErrorCode.ERROR_CODE_LIMIT_REACHED, 'this lottery is full');
    const stored = await this.admit(lottery, { ...user, id: user.id });
    if (stored === undefined) return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you entered already');
    if (!stored) return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'your entry was not recorded; join again');
    return new v1.PlayReply({});
  }

  /** The lottery as `GET /api/v1/rooms/:room/lotteries/:id` shows it (with every entrant once drawn). */
  async read(room: string, id: string): Promise<v1.PlayReply> {
    await this.ready;
    const lottery = this.lotteries.get(`${room}/${id}`);
    if (!lottery) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such lottery in this room');
    return new v1.PlayReply({ json: JSON.stringify(this.json(lottery)) });
  }

  private json(l: OpenLottery): Record<string, unknown> {
    return {
      id: l.id,
      room: l.room,
      prize: l.spec.prize.trim(),
      winners_count: l.spec.winners,
      entry: entryNames[l.spec.entry] ?? 'any',
      keyword: l.spec.keyword.trim(),
      gift_id: l.spec.giftId,
      members_only: l.spec.membersOnly,
      opened_at_ms: l.record.openedAtMs,
      ends_at_ms: l.record.endsAtMs,
      status: l.ended && l.result ? 'drawn' : 'open',
      seed_sha256: l.record.seedSha256,
      entrants_count: l.entrants.size,
      ...(l.result && l.sorted
        ? {
            seed: l.result.seed,
            entrants_sha256: l.result.entrantsSha256,
            entrants: l.sorted,
            winners: (l.result.winners ?? []).map((w) => ({ id: w.id, name: w.name })),
          }
        : {}),
    };
  }

  private async end(l: OpenLottery): Promise<void> {
    if (l.ended || this.stopped) return;
    l.ended = true;
    l.unwatch?.();
    // Entries answered "done" are drawn from; the opening goes out before the draw.
    await l.inflight.settled();
    await l.announcing;
    if (this.stopped) return;
    this.pushProgress(l);
    const sorted = sortEntrants(l.entrants.keys());
    const winners = drawWinners(l.seed, sorted, l.spec.winners);
    l.sorted = sorted;
    l.result = {
      id: l.id,
      seed: l.seed.toString('hex'),
      entrantsSha256: entrantsHash(sorted),
      entrants: sorted.length,
      winners: winners.map((id) => ({ id, name: l.entrants.get(id) ?? id })),
    };
    await this.options.sequencer.append(l.room, new v1.Event({ room: l.room, actor: playEndActor, lotteryResult: l.result }));
    // Stored after the event: a crash between the two announces the draw again (the same draw) rather than never.
    l.record.ended = true;
    l.record.result = toBase64(v1.LotteryResult.encode(l.result).finish());
    await this.save(l);
    this.forgetLater(l, keepEndedMs);
  }

  private forgetLater(l: OpenLottery, afterMs: number): void {
    setTimeout(
      () => {
        this.lotteries.delete(`${l.room}/${l.id}`);
        this.options.store.forget('lottery', l.room, l.id).catch(() => undefined);
      },
      Math.max(0, afterMs),
    ).unref();
  }

  private pushProgress(only?: OpenLottery): void {
    for (const l of only ? [only] : this.lotteries.values()) {
      if (!l.changed || (l.ended && !only)) continue;
      l.changed = false;
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(l.room),
        room: l.room,
        tsMs: this.now(),
        lotteryProgress: { id: l.id, entrants: l.entrants.size },
      }).finish();
      this.options.bus.publish(subjects.events(l.room), event);
    }
  }
}
