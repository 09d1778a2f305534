/**
 * Red packets (红包) in core: the one place a packet is opened, grabbed and
 * closed. Edges (a viewer's `grab_red_packet`) and the HTTP API (a site
 * backend opening or reading a packet) send a `PlayRequest` on
 * `barrage.room.<id>.play` and wait for the reply (`plays.ts` routes it here).
 *
 * Opening: the shares are drawn at once (`red-packet-draw.ts`) and stored
 * with the packet, keyed by the API's Idempotency-Key (a retry answers the
 * same packet), then a `red_packet` control event announces it.
 *
 * Grabbing: grabs of one packet queue in core and are written in batches
 * (one `appendGrabs` per batch, whatever the number of grabbers waiting), so
 * a storm of 20,000 grabbers costs tens of store writes, not 20,000. A grab is
 * answered only once its batch is durable. Each user gets one share: core
 * knows every recorded grab of a packet it holds (read back from the store
 * when it loads the packet), and a batch write that finds its slot taken
 * reads what the store has from there before going on. When the store is
 * unreachable the batch is retried with backoff; a grab waiting longer than
 * `answerTimeoutMs` is answered UNAVAILABLE (sending the grab again is safe:
 * it answers the share, or RED_PACKET_ALREADY_GRABBED with the amount).
 *
 * Progress (grab counts and a few names) is pushed at most once a second as
 * a counter event; the end (emptied, or expired with the refundable rest) is
 * a control event, stored and replayed on resume.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { backoffMs, sleep } from '../../domain/retry.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { playEndActor } from './play-actor.js';
import type { PlayStateStore } from './play-state-store.js';
import { SplitMode, drawShares, splitProblem } from './red-packet-draw.js';
import { LivePacket, redPacketJson } from './red-packet-live.js';
import { RoomWatch, foldText } from './room-watch.js';
import type { GrabOutcome, GrabWaiter } from './red-packet-live.js';
import type { GrabRecord, RedPacketStore, StoredRedPacket } from './red-packet-store.js';

/**
 * Most grabs written in one batch: every grab waiting (up to the shares left)
 * goes in the next write, so a storm takes few store round trips, bounded by
 * count and by size (see `grabBytes`) to stay far under NATS's 1 MiB payload.
 */
export const maxGrabBatch = 2_048;
/** Most bytes (estimated by `grabBytes`) of one batch. */
export const maxGrabBatchBytes = 512 * 1024;
/** An upper bound on a grab's bytes in a stored batch: its id and name JSON-escaped at worst (6 bytes a UTF-16 unit), and the numbers. */
export const grabBytes = (userId: string, name: string): number => (userId.length + name.length) * 6 + 48;
/** A grab still unanswered after this long is answered UNAVAILABLE (the edge gives up at 5 s). */
export const answerTimeoutMs = 4_000;
/** Progress is pushed at most this often while grabs come in. */
export const progressIntervalMs = 1_000;
/** Grabs named in one progress event; the rest are counted. */
export const progressRecentLimit = 20;
/** Longest keyword and greeting. */
export const maxKeywordLength = 32;
export const maxGreetingLength = 100;
/** Expiry bounds (seconds). */
export const minExpiresSeconds = 5;
export const maxExpiresSeconds = 86_400;
/** An ended packet stays in core's memory this long (later reads go to the store). */
const keepEndedMs = 60_000;

/** Options of the red packet service. */
export interface RedPacketServiceOptions {
  bus: Bus;
  sequencer: Sequencer;
  store: RedPacketStore;
  /** Keeps who sent a keyword packet's keyword, so a restarted core still lets them grab. */
  state: PlayStateStore;
  logger: Logger;
  now?: () => number;
}

const fail = (error: v1.ErrorCode, message: string): v1.PlayReply => new v1.PlayReply({ error, message });

/** A stable hash of what a create request asks for, to tell a retry from a reused Idempotency-Key. */
export function createFingerprint(room: string, req: v1.ICreateRedPacket, sender: string): string {
  const parts = [
    room,
    sender,
    req.totalCents,
    req.count,
    req.mode,
    req.expiresS,
    req.minCents,
    req.membersOnly,
    req.keyword,
    req.greeting,
  ].map((p) => String(p ?? ''));
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/** The packet id of an Idempotency-Key in a room: the same key always names the same packet. */
export function packetIdOf(room: string, idempotencyKey: string): string {
  return createHash('sha256').update(`${room}\u0000${idempotencyKey}`).digest('hex').slice(0, 24);
}

/** Opens, grabs and closes red packets, once each, durably. */
export class RedPacketService {
  private readonly live = new Map<string, LivePacket>();
  private readonly loading = new Map<string, Promise<LivePacket | undefined>>();
  /** Rooms whose danmaku are watched for keywords. */
  private readonly watch: RoomWatch;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Counts for /metrics and tests. */
  readonly stats = { opened: 0, grabbed: 0, refused: 0, batches: 0, conflicts: 0, storeErrors: 0, ended: 0 };

  constructor(private readonly options: RedPacketServiceOptions) {
    this.now = options.now ?? Date.now;
    this.watch = new RoomWatch(options.bus);
  }

  start(): void {
    this.timer = setInterval(() => this.pushProgress(), progressIntervalMs);
    this.timer.unref();
    void this.resumeUnended();
  }

  stop(): void {
    this.stopped = true;
    this.watch.stop();
    clearInterval(this.timer);
    for (const live of this.live.values()) clearTimeout(live.timer);
  }

  /** Why a create request cannot be opened, or undefined. */
  static problemOf(req: v1.ICreateRedPacket): string | undefined {
    const total = Number(req.totalCents ?? 0);
    const min = Number(req.minCents || 1);
    const split = splitProblem(total, req.count ?? 0, min);
    if (split) return split;
    const expires = req.expiresS || 60;
    if (expires < minExpiresSeconds || expires > maxExpiresSeconds) {
      return `expires_s must be ${minExpiresSeconds} to ${maxExpiresSeconds}`;
    }
    if ([...(req.keyword ?? '')].length > maxKeywordLength) return `keyword is longer than ${maxKeywordLength} characters`;
    if ((req.keyword ?? '') !== '' && (req.keyword ?? '').trim() === '') return 'keyword is blank';
    if ([...(req.greeting ?? '')].length > maxGreetingLength) return `greeting is longer than ${maxGreetingLength} characters`;
    return undefined;
  }

  /** Opens a packet (once per Idempotency-Key) and announces it. */
  async create(room: string, req: v1.CreateRedPacket, sender: v1.IUser | undefined): Promise<v1.PlayReply> {
    const problem = RedPacketService.problemOf(req);
    if (problem) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, problem);
    if (!req.idempotencyKey) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'an Idempotency-Key is required');
    const now = this.now();
    const count = req.count;
    const total = Number(req.totalCents);
    const min = Number(req.minCents || 1);
    const mode = req.mode === v1.RedPacketMode.RED_PACKET_MODE_EQUAL ? SplitMode.Equal : SplitMode.Random;
    const fingerprint = req.fingerprint || createFingerprint(room, req, sender?.id ?? '');
    const packet: StoredRedPacket = {
      room,
      id: packetIdOf(room, req.idempotencyKey),
      fingerprint,
      sender: { id: sender?.id ?? '', name: sender?.name || (sender?.id ?? '') },
      totalCents: total,
      count,
      mode,
      minCents: min,
      createdAtMs: now,
      expiresAtMs: now + (req.expiresS || 60) * 1000,
      membersOnly: req.membersOnly,
      keyword: req.keyword.trim(),
      greeting: req.greeting,
      shares: drawShares(total, count, min, mode),
      openedSeq: 0,
    };
    let stored;
    try {
      stored = await this.options.store.create(packet);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, room }, 'red packet store unavailable');
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'red packet store unavailable; retry with the same Idempotency-Key');
    }
    const opened = stored.packet;
    if (!stored.created && opened.fingerprint !== fingerprint) {
      return new v1.PlayReply({ conflict: true, message: 'this Idempotency-Key opened a different red packet' });
    }
    const live = await this.load(room, opened.id, opened);
    if (!live) return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'red packet store unavailable; retry with the same Idempotency-Key');
    // Announced once: a retry of a create whose announcement was lost (a crash) announces it now.
    if (live.packet.openedSeq === 0) {
      const seq = await this.options.sequencer.append(
        room,
        new v1.Event({ room, redPacket: this.openedEvent(live.packet), actor: { ...live.packet.sender } }),
      );
      live.packet.openedSeq = seq;
      await this.persist(live.packet);
      if (stored.created) this.stats.opened++;
    }
    return new v1.PlayReply({ duplicate: !stored.created, json: JSON.stringify(this.json(live)) });
  }

  private openedEvent(p: StoredRedPacket): v1.IRedPacket {
    return {
      id: p.id,
      sender: { id: p.sender.id, name: p.sender.name },
      totalCents: p.totalCents,
      count: p.count,
      mode: p.mode === SplitMode.Equal ? v1.RedPacketMode.RED_PACKET_MODE_EQUAL : v1.RedPacketMode.RED_PACKET_MODE_RANDOM,
      expiresAtMs: p.expiresAtMs,
      membersOnly: p.membersOnly,
      keyword: p.keyword,
      greeting: p.greeting,
    };
  }

  private json(live: LivePacket): Record<string, unknown> {
    const grabs = [...live.byUser.values()].sort((a, b) => a.slot - b.slot);
    return redPacketJson(live.packet, grabs, this.now());
  }

  /** The packet as the API shows it, with one page of its grabs. */
  async read(room: string, id: string, page?: { offset: number; limit: number }): Promise<v1.PlayReply> {
    const held = this.live.get(`${room}/${id}`);
    if (held) {
      const grabs = [...held.byUser.values()].sort((a, b) => a.slot - b.slot);
      return new v1.PlayReply({ json: JSON.stringify(redPacketJson(held.packet, grabs, this.now(), page)) });
    }
    try {
      const packet = await this.options.store.get(room, id);
      if (!packet) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such red packet in this room');
      const grabs = await this.options.store.grabs(room, id);
      return new v1.PlayReply({ json: JSON.stringify(redPacketJson(packet, grabs, this.now(), page)) });
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, room }, 'red packet store unavailable');
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'red packet store unavailable; retry');
    }
  }

  /** The packet in memory, read from the store (with every grab recorded) when core does not hold it. */
  private async load(room: string, id: string, known?: StoredRedPacket): Promise<LivePacket | undefined> {
    const key = `${room}/${id}`;
    const held = this.live.get(key);
    if (held) return held;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          const packet = known ?? (await this.options.store.get(room, id));
          if (!packet) return undefined;
          const live = new LivePacket(packet);
          live.apply(await this.options.store.grabs(room, id), progressRecentLimit);
          if (packet.keyword && packet.endedSeq === undefined) {
            for (const user of (await this.options.state.entries('keyword', room, id)).keys()) live.eligible.add(user);
          }
          live.changed = false;
          live.recent = [];
          live.more = 0;
          this.adopt(key, live);
          return live;
        } finally {
          this.loading.delete(key);
        }
      })();
      this.loading.set(key, pending);
    }
    return pending.catch((err: unknown) => {
      this.options.logger.warn({ err: (err as Error).message, room }, 'red packet store unavailable');
      return undefined;
    });
  }

  /** Holds a loaded packet: its expiry timer and, for a keyword packet, the room's danmaku watch. */
  private adopt(key: string, live: LivePacket): void {
    this.live.set(key, live);
    if (live.packet.endedSeq !== undefined) {
      setTimeout(() => this.live.delete(key), keepEndedMs).unref();
      return;
    }
    const wait = Math.max(0, live.packet.expiresAtMs - this.now());
    live.timer = setTimeout(() => void this.end(live), wait + 5);
    live.timer.unref();
    if (live.packet.keyword) this.watchKeyword(live);
  }

  private watchKeyword(live: LivePacket): void {
    const keyword = foldText(live.packet.keyword);
    live.unwatch = this.watch.watch(live.packet.room, (event) => {
      const id = event.danmaku?.user?.id;
      if (!id || live.eligible.has(id) || !foldText(event.danmaku?.text ?? '').includes(keyword)) return;
      live.eligible.add(id);
      // Kept for a restarted core; this core goes by its memory either way.
      const { room, id: packetId } = live.packet;
      this.options.state.enter('keyword', room, packetId, id, 1, true).catch((err: unknown) => {
        this.options.logger.warn({ err: (err as Error).message, room }, 'red packet keyword eligibility not stored');
      });
    });
  }

  /** One viewer's grab: the share, or why not. */
  async grab(room: string, id: string, user: v1.IUser | undefined, member: boolean): Promise<v1.PlayReply> {
    if (!user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a grab needs a user');
    if (!/^[0-9a-f]{1,64}$/.test(id)) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such red packet in this room');
    const live = await this.load(room, id);
    if (!live) {
      // Unknown, or the store could not say: only a readable store tells NOT_FOUND.
      try {
        if (!(await this.options.store.get(room, id))) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such red packet in this room');
      } catch {
        // Fall through.
      }
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'red packet store unavailable; grab again');
    }
    const mine = live.byUser.get(user.id);
    if (mine) return this.reply(live, { kind: 'already', amountCents: mine.amountCents });
    const now = this.now();
    if (live.closedAt(now)) return this.reply(live, live.next >= live.packet.count ? { kind: 'empty' } : { kind: 'expired' });
    if (live.packet.membersOnly && !member) {
      this.stats.refused++;
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, 'this red packet is for members only');
    }
    if (live.packet.keyword && !live.eligible.has(user.id)) {
      this.stats.refused++;
      return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, `send a danmaku with "${live.packet.keyword}" first`);
    }
    const outcome = await new Promise<GrabOutcome>((resolve) => {
      const waiter: GrabWaiter = {
        userId: user.id ?? '',
        name: user.name || (user.id ?? ''),
        at: now,
        answered: false,
        answer(o) {
          if (waiter.answered) return;
          waiter.answered = true;
          resolve(o);
        },
      };
      live.queue.push(waiter);
      if (!live.draining) void this.drain(live);
    });
    return this.reply(live, outcome);
  }

  private reply(live: LivePacket, outcome: GrabOutcome): v1.PlayReply {
    switch (outcome.kind) {
      case 'granted':
        this.stats.grabbed++;
        return new v1.PlayReply({ amountCents: outcome.amountCents });
      case 'already':
        return new v1.PlayReply({
          error: ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
          message: 'you grabbed this red packet already',
          amountCents: outcome.amountCents,
        });
      case 'empty':
        return fail(ErrorCode.ERROR_CODE_RED_PACKET_EMPTY, `all ${live.packet.count} shares are taken`);
      case 'expired':
        return fail(ErrorCode.ERROR_CODE_PLAY_EXPIRED, 'this red packet has expired');
      case 'unavailable':
        return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'grab not confirmed yet; grab again');
    }
  }

  /** Writes queued grabs in batches until the queue is empty; one drain per packet at a time. */
  private async drain(live: LivePacket): Promise<void> {
    live.draining = true;
    try {
      while (live.queue.length > 0 && !this.stopped) {
        const now = this.now();
        if (live.closedAt(now)) {
          for (const w of live.queue.splice(0)) {
            const mine = live.byUser.get(w.userId);
            w.answer(
              mine
                ? { kind: 'already', amountCents: mine.amountCents }
                : live.next >= live.packet.count
                  ? { kind: 'empty' }
                  : { kind: 'expired' },
            );
          }
          break;
        }
        const batch: GrabWaiter[] = [];
        const later: GrabWaiter[] = [];
        const inBatch = new Set<string>();
        let bytes = 0;
        for (const w of live.queue) {
          const mine = live.byUser.get(w.userId);
          if (w.answered) continue;
          if (mine) w.answer({ kind: 'already', amountCents: mine.amountCents });
          else if (inBatch.has(w.userId) || batch.length >= maxGrabBatch || bytes >= maxGrabBatchBytes) later.push(w);
          else if (live.next + batch.length >= live.packet.count) w.answer({ kind: 'empty' });
          else {
            inBatch.add(w.userId);
            batch.push(w);
            bytes += grabBytes(w.userId, w.name);
          }
        }
        live.queue = later;
        if (batch.length === 0) continue;
        const start = live.next;
        const records: GrabRecord[] = batch.map((w, i) => ({
          userId: w.userId,
          name: w.name,
          slot: start + i,
          amountCents: live.packet.shares[start + i] ?? 0,
          atMs: now,
        }));
        await this.writeBatch(live, start, records, batch);
        if (live.next >= live.packet.count) void this.end(live);
      }
    } finally {
      live.draining = false;
    }
  }

  /** Writes one batch until it is stored, or until the store shows its slots taken (then reads what is there). */
  private async writeBatch(live: LivePacket, start: number, records: GrabRecord[], batch: GrabWaiter[]): Promise<void> {
    const { store, logger } = this.options;
    const { room, id } = live.packet;
    for (let attempt = 0; !this.stopped; attempt++) {
      let written: boolean;
      try {
        written = await store.appendGrabs(room, id, start, records);
      } catch (err) {
        this.stats.storeErrors++;
        if (attempt === 0) logger.warn({ err: (err as Error).message, room }, 'writing red packet grabs failed; retrying');
        const now = this.now();
        for (const w of batch) if (now - w.at >= answerTimeoutMs) w.answer({ kind: 'unavailable' });
        for (const w of live.queue) if (now - w.at >= answerTimeoutMs) w.answer({ kind: 'unavailable' });
        await sleep(backoffMs(attempt, 50, 1_000));
        continue;
      }
      this.stats.batches++;
      if (written) {
        live.apply(records, progressRecentLimit);
        for (const [i, w] of batch.entries()) w.answer({ kind: 'granted', amountCents: records[i]?.amountCents ?? 0 });
        return;
      }
      // The slot is taken: our own write whose answer was lost, or another writer. The store says which.
      this.stats.conflicts++;
      let stored: GrabRecord[];
      try {
        stored = await store.grabs(room, id, start);
      } catch (err) {
        logger.warn({ err: (err as Error).message, room }, 'reading red packet grabs failed; retrying');
        await sleep(backoffMs(attempt, 50, 1_000));
        continue;
      }
      live.apply(stored, progressRecentLimit);
      // Whoever is recorded now has that share; the others wait for the next batch.
      for (const w of batch) {
        const mine = live.byUser.get(w.userId);
        if (mine) w.answer({ kind: 'granted', amountCents: mine.amountCents });
        else if (!w.answered) live.queue.unshift(w);
      }
      return;
    }
  }

  /** Closes a packet once: a `red_packet_ended` event with what was grabbed and what is refundable. */
  private end(live: LivePacket): Promise<void> {
    if (!live.ending) {
      live.ending = (async () => {
        clearTimeout(live.timer);
        // Wait for the batch being written: its grabs belong in the result.
        while (live.draining && !this.stopped) await sleep(10);
        if (live.packet.endedSeq !== undefined || this.stopped) return;
        live.unwatch?.();
        const { room, id, count, totalCents } = live.packet;
        const expired = live.next < count;
        const lucky = live.luckiest;
        const event = new v1.Event({
          room,
          actor: playEndActor,
          redPacketEnded: {
            id,
            grabbed: live.next,
            count,
            grabbedCents: live.grabbedCents,
            refundableCents: totalCents - live.grabbedCents,
            ...(lucky ? { luckiest: { user: { id: lucky.userId, name: lucky.name }, amountCents: lucky.amountCents } } : {}),
            expired,
          },
        });
        // The last progress first, so a viewer's counts agree with the end.
        this.pushProgress(live);
        live.packet.endedSeq = await this.options.sequencer.append(room, event);
        this.stats.ended++;
        await this.persist(live.packet);
        setTimeout(() => this.live.delete(`${room}/${id}`), keepEndedMs).unref();
      })();
    }
    return live.ending;
  }

  /** Writes the packet's mutable fields, retrying until stored. */
  private async persist(packet: StoredRedPacket): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.options.store.update(packet);
        return;
      } catch (err) {
        if (attempt === 0) this.options.logger.warn({ err: (err as Error).message }, 'writing a red packet failed; retrying');
        await sleep(backoffMs(attempt, 100, 2_000));
      }
    }
  }

  /** Packets a previous core left open: held again, so they end (and announce it) when they expire. */
  private async resumeUnended(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        for (const packet of await this.options.store.unended()) await this.load(packet.room, packet.id, packet);
        return;
      } catch (err) {
        if (attempt === 0) this.options.logger.warn({ err: (err as Error).message }, 'reading open red packets failed; retrying');
        await sleep(backoffMs(attempt, 200, 5_000));
      }
    }
  }

  /** Pushes a progress counter for packets with new grabs (or for `only`). */
  private pushProgress(only?: LivePacket): void {
    for (const live of only ? [only] : this.live.values()) {
      if (!live.changed) continue;
      live.changed = false;
      const { room, id, count } = live.packet;
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(room),
        room,
        tsMs: this.now(),
        redPacketProgress: {
          id,
          grabbed: live.next,
          count,
          grabbedCents: live.grabbedCents,
          recent: live.recent.map((g) => ({ user: { id: g.userId, name: g.name }, amountCents: g.amountCents })),
          more: live.more,
        },
      }).finish();
      live.recent = [];
      live.more = 0;
      this.options.bus.publish(subjects.events(room), event);
    }
  }

  /** Packets held in memory (tests). */
  get heldCount(): number {
    return this.live.size;
  }
}
