/**
 * Lotteries (天选时刻) in core: opened by a site backend
 * (`POST /api/v1/rooms/:room/lotteries`), entered once per user by sending a
 * danmaku containing the keyword, sending the named gift, or pressing "join"
 * (`join_lottery{id}`), and drawn at the end by the verifiable procedure of
 * `lottery-draw.ts`: the `lottery` event publishes the seed's SHA-256, the
 * `lottery_result` event the seed, the entrants' hash and the winners; the
 * API lists the entrants, so anyone can re-derive the winners.
 *
 * Entrants live in core memory: a core restart loses open lotteries
 * (docs/api.md).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { playEndActor } from './play-actor.js';
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

interface OpenLottery {
  room: string;
  id: string;
  fingerprint: string;
  spec: v1.CreateLottery;
  seed: Buffer;
  seedSha256: string;
  openedAtMs: number;
  endsAtMs: number;
  entrants: Map<string, string>;
  changed: boolean;
  ended: boolean;
  result: v1.ILotteryResult | undefined;
  sorted: string[] | undefined;
  timer: NodeJS.Timeout | undefined;
  unwatch: (() => void) | undefined;
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

/** Runs lotteries. */
export class LotteryService {
  private readonly lotteries = new Map<string, OpenLottery>();
  private readonly watch: RoomWatch;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly options: { bus: Bus; sequencer: Sequencer; logger: Logger; knownGift: (id: string) => boolean; now?: () => number },
  ) {
    this.now = options.now ?? Date.now;
    this.watch = new RoomWatch(options.bus);
  }

  start(): void {
    this.timer = setInterval(() => this.pushProgress(), progressIntervalMs);
    this.timer.unref();
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
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([spec.prize, spec.winners, spec.durationS, spec.entry, spec.keyword, spec.giftId, spec.membersOnly]))
      .digest('base64url');
    const { seed, seedSha256 } = newSeed();
    const id = spec.idempotencyKey
      ? createHash('sha256').update(`${room}\u0000lottery\u0000${spec.idempotencyKey}`).digest('hex').slice(0, 24)
      : seedSha256.slice(0, 24);
    const existing = this.lotteries.get(`${room}/${id}`);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        return new v1.PlayReply({ conflict: true, message: 'this Idempotency-Key opened a different lottery' });
      }
      return new v1.PlayReply({ duplicate: true, json: JSON.stringify(this.json(existing)) });
    }
    const now = this.now();
    const lottery: OpenLottery = {
      room,
      id,
      fingerprint,
      spec,
      seed,
      seedSha256,
      openedAtMs: now,
      endsAtMs: now + spec.durationS * 1000,
      entrants: new Map(),
      changed: false,
      ended: false,
      result: undefined,
      sorted: undefined,
      timer: undefined,
      unwatch: undefined,
    };
    this.lotteries.set(`${room}/${id}`, lottery);
    await this.options.sequencer.append(
      room,
      new v1.Event({
        room,
        actor: { id: by?.id || 'api', name: by?.name || by?.id || 'api', role: by?.role ?? v1.Role.ROLE_VIEWER },
        lottery: {
          id,
          prize: spec.prize.trim(),
          winners: spec.winners,
          endsAtMs: lottery.endsAtMs,
          entry: spec.entry,
          keyword: spec.keyword.trim(),
          giftId: spec.giftId,
          membersOnly: spec.membersOnly,
          seedSha256,
        },
      }),
    );
    // Entries by what viewers do count from the moment it opened.
    if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD) {
      const keyword = foldText(spec.keyword.trim());
      lottery.unwatch = this.watch.watch(room, (e) => {
        if (e.danmaku?.user && foldText(e.danmaku.text ?? '').includes(keyword)) this.enter(lottery, e.danmaku.user);
      });
    } else if (spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_GIFT) {
      lottery.unwatch = this.watch.watch(room, (e) => {
        if (e.gift?.user && e.gift.giftId === spec.giftId) this.enter(lottery, e.gift.user);
      });
    }
    lottery.timer = setTimeout(() => void this.end(lottery), lottery.endsAtMs - now + 5);
    lottery.timer.unref();
    return new v1.PlayReply({ json: JSON.stringify(this.json(lottery)) });
  }

  /** Enters a user seen in the room (keyword or gift); members-only lotteries read the member badge. */
  private enter(lottery: OpenLottery, user: v1.IUser): void {
    if (!user.id || lottery.ended || this.now() >= lottery.endsAtMs || lottery.entrants.has(user.id)) return;
    if (lottery.spec.membersOnly && !(user.badges ?? []).includes('member')) return;
    if (lottery.entrants.size >= lotteryLimits.maxEntrants) return;
    lottery.entrants.set(user.id, user.name || user.id);
    lottery.changed = true;
  }

  /** A viewer's `join_lottery`. */
  join(room: string, id: string, user: v1.IUser | null | undefined, member: boolean): v1.PlayReply {
    if (!user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'an entry needs a user');
    const lottery = this.lotteries.get(`${room}/${id}`);
    if (!lottery) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such lottery in this room');
    if (lottery.ended || this.now() >= lottery.endsAtMs) return fail(ErrorCode.ERROR_CODE_PLAY_EXPIRED, 'this lottery has ended');
    if (lottery.entrants.has(user.id)) return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you entered already');
    if (lottery.spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD) {
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, `enter by sending a danmaku with "${lottery.spec.keyword.trim()}"`);
    }
    if (lottery.spec.entry === v1.LotteryEntry.LOTTERY_ENTRY_GIFT) {
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, `enter by sending the gift "${lottery.spec.giftId}"`);
    }
    if (lottery.spec.membersOnly && !member) return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, 'this lottery is for members only');
    if (lottery.entrants.size >= lotteryLimits.maxEntrants) return fail(ErrorCode.ERROR_CODE_LIMIT_REACHED, 'this lottery is full');
    lottery.entrants.set(user.id, user.name || user.id);
    lottery.changed = true;
    return new v1.PlayReply({});
  }

  /** The lottery as `GET /api/v1/rooms/:room/lotteries/:id` shows it (with every entrant once drawn). */
  read(room: string, id: string): v1.PlayReply {
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
      opened_at_ms: l.openedAtMs,
      ends_at_ms: l.endsAtMs,
      status: l.ended ? 'drawn' : 'open',
      seed_sha256: l.seedSha256,
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
    setTimeout(() => this.lotteries.delete(`${l.room}/${l.id}`), keepEndedMs).unref();
  }

  private pushProgress(only?: OpenLottery): void {
    for (const l of only ? [only] : this.lotteries.values()) {
      if (!l.changed) continue;
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
