/**
 * The sequencer gives every event of a room its place: a seq number that
 * every edge agrees on, the time, and an id. It answers joins (recent chat)
 * and resumes (all events after a seq) and sums the viewer counts edges
 * report into one online count per room.
 *
 * Two implementations: `MemorySequencer` (single process, state in memory)
 * and `JetStreamSequencer` (many processes, events stored in a JetStream
 * stream). This file holds the interface and the parts both share: the
 * retained-event ring, the history answer and the presence sum.
 */
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { v1 } from '../../proto/index.js';
import { encodeHistoryReply } from '../../domain/history-wire.js';
import type { CoreLatency } from '../../domain/latency.js';

/** Sequences room events and answers history requests over the bus. */
export interface Sequencer {
  /** Subscribes to the bus; resolves when the sequencer is taking events. */
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  /** The latest seq of a room this sequencer knows (0 before its first event). */
  seqOf(room: string): number;
  /**
   * Sequences a paid or control event of `room` and resolves with its seq
   * once it is durable (stored in JetStream, or in memory in single-process
   * mode). Never rejects for a passing failure: it keeps trying until stored.
   */
  append(room: string, event: v1.Event): Promise<number>;
  /** Viewers of a room as the edges last reported them (0 for a room nobody watches). */
  online(room: string): number;
  /**
   * The stored paid event (gift or super chat) with id `paidId` in `room`,
   * stored at or after `sinceMs`, if any: how a core that takes over a dead
   * core's claim on a paid id finds out whether it was stored already.
   */
  findPaid(room: string, paidId: string, sinceMs: number): Promise<v1.Event | undefined>;
}

/** The id of a paid event (gift or super chat), or undefined for other kinds. */
export function paidIdOf(event: v1.Event): string | undefined {
  return event.gift?.id ?? event.superChat?.id ?? undefined;
}

/** Options both sequencers take. */
export interface SequencerOptions {
  /** Events kept per room for resume. */
  retainEvents: number;
  /** Chat events a joining viewer is shown. */
  joinHistory: number;
  logger: Logger;
  now?: () => number;
  /**
   * A room with no event and no viewer for this long is forgotten (its ring
   * freed; clustered, it is read from the stream again when needed).
   * Default 10 minutes.
   */
  roomIdleMs?: number;
  /** Where the `ingress` and `store` hops are recorded (domain/latency.ts); none in tests that do not look. */
  latency?: CoreLatency;
}

/** Default of `SequencerOptions.roomIdleMs`. */
export const defaultRoomIdleMs = 600_000;
/** How often idle rooms are looked for. */
export const idleSweepMs = 30_000;

/**
 * Every counter is pushed to a room at least this often, changed or not, so
 * a viewer who just arrived (an OBS source reloading) sees it within this time.
 */
export const counterHeartbeatMs = 2_000;

/** One retained event, kept encoded. */
export interface Retained {
  seq: number;
  bytes: Uint8Array;
  /** Chat is what a joining viewer is shown; paid and control only replay on resume. */
  chat: boolean;
}

/** A bounded ring of a room's latest events, oldest first. */
export class RoomLog {
  /** The latest seq retained (or known) for the room. */
  seq: number;
  /** When the room last had an event (ms since the epoch), for idle eviction. */
  lastActiveAt = 0;
  private readonly ring: Array<Retained | undefined>;
  private head = 0; // index of the next write
  size = 0;

  /** `startSeq`: the seq the room continues from (0 for a room never seen). */
  constructor(capacity: number, startSeq = 0) {
    this.ring = new Array<Retained | undefined>(capacity);
    this.seq = startSeq;
  }

  push(item: Retained): void {
    this.ring[this.head] = item;
    this.head = (this.head + 1) % this.ring.length;
    if (this.size < this.ring.length) this.size++;
    if (item.seq > this.seq) this.seq = item.seq;
  }

  /** The `i`-th retained event, oldest first (0 <= i < size). */
  at(i: number): Retained {
    const cap = this.ring.length;
    return this.ring[(this.head - this.size + i + cap) % cap] as Retained;
  }

  /** Oldest first. */
  *items(): IterableIterator<Retained> {
    const cap = this.ring.length;
    for (let i = 0; i < this.size; i++) yield this.ring[(this.head - this.size + i + cap) % cap] as Retained;
  }

  oldestSeq(): number {
    return this.size === 0 ? this.seq + 1 : this.at(0).seq;
  }
}

/**
 * Answers a `HistoryRequest` from a room's ring: on resume every event after
 * `afterSeq` when the ring still covers it (`recovered`), otherwise the last
 * `joinHistory` chat events.
 */
export function answerHistory(log: RoomLog | undefined, request: v1.HistoryRequest, options: HistoryOptions): Uint8Array {
  const { epoch } = options;
  // A position is (epoch, seq): seq numbers of another epoch say nothing about this one.
  const resume = request.resume && (request.epoch === '' || request.epoch === epoch);
  if (!log || log.size === 0) {
    // A room nobody has spoken in (or forgotten while idle): a resume from
    // its latest seq, or from 0 in a room never seen, has missed nothing.
    const seq = log?.seq ?? options.emptySeq ?? 0;
    const after = Number(request.afterSeq);
    return encodeHistoryReply({ events: [], recovered: resume && (after === 0 ? seq === 0 : after === seq), seq, epoch });
  }
  const after = Number(request.afterSeq);
  const covered = after >= log.oldestSeq() - 1 && after <= log.seq;
  // Indexes into the ring, no iterator or copies per event: a guest can ask for this.
  const picked: Uint8Array[] = [];
  if (resume && covered) {
    let first = log.size;
    while (first > 0 && log.at(first - 1).seq > after) first--;
    for (let i = first; i < log.size; i++) picked.push(log.at(i).bytes);
    return encodeHistoryReply({ events: picked, recovered: true, seq: log.seq, epoch });
  }
  for (let i = log.size - 1; i >= 0 && picked.length < options.joinHistory; i--) {
    const item = log.at(i);
    if (item.chat) picked.push(item.bytes);
  }
  return encodeHistoryReply({ events: picked.reverse(), recovered: false, seq: log.seq, epoch });
}

/** How a sequencer answers history requests. */
export interface HistoryOptions {
  /** Chat events a joining viewer is shown. */
  joinHistory: number;
  /** The sequencer's epoch: a resume from another epoch is answered as a join. */
  epoch: string;
  /** The seq of a room the sequencer holds nothing for (0 unless rooms were forgotten). */
  emptySeq?: number;
}

/** A new epoch: random, short, ASCII (it travels in URLs as `epoch=`). */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** How long an edge's presence report counts without a newer one. */
const presenceTtlMs = 5_000;

interface RoomPresence {
  edges: Map<string, { count: number; at: number }>;
  lastCount: number;
  lastPushAt: number;
}

/** Sums edges' presence reports per room and decides when to push an online count. */
export class PresenceSum {
  private readonly rooms = new Map<string, RoomPresence>();

  constructor(private readonly now: () => number) {}

  /** Records an encoded report; false (and nothing recorded) when it does not decode. */
  addEncoded(data: Uint8Array): boolean {
    let report: v1.EdgePresence;
    try {
      report = v1.EdgePresence.decode(data);
    } catch {
      return false;
    }
    this.add(report);
    return true;
  }

  /** Records one edge's report. */
  add(report: v1.EdgePresence): void {
    const at = this.now();
    for (const [room, count] of Object.entries(report.rooms)) {
      let p = this.rooms.get(room);
      if (!p) this.rooms.set(room, (p = { edges: new Map(), lastCount: -1, lastPushAt: 0 }));
      p.edges.set(report.edgeId, { count, at });
    }
  }

  /** The viewers of `room` in the reports still fresh. */
  count(room: string): number {
    const p = this.rooms.get(room);
    if (!p) return 0;
    const now = this.now();
    let count = 0;
    for (const r of p.edges.values()) if (now - r.at <= presenceTtlMs) count += r.count;
    return count;
  }

  /** True while any edge reports the room (even with 0 viewers, until its report goes stale). */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** Calls `push` for each room whose count changed or was last pushed 2 s ago. */
  due(push: (room: string, count: number, now: number) => boolean): void {
    const now = this.now();
    for (const [room, p] of this.rooms) {
      let count = 0;
      for (const [edge, r] of p.edges) {
        if (now - r.at > presenceTtlMs) p.edges.delete(edge);
        else count += r.count;
      }
      if (count === p.lastCount && now - p.lastPushAt < counterHeartbeatMs) continue;
      if (count === 0 && p.edges.size === 0) {
        this.rooms.delete(room);
        if (p.lastCount <= 0) continue;
      }
      // A room whose seq is not known yet is tried again next tick.
      if (!push(room, count, now)) continue;
      p.lastCount = count;
      p.lastPushAt = now;
    }
  }
}

/** How often online counts are considered for a push. */
export const onlineTickMs = 1_000;

/**
 * An online-count event. Counters carry the room's latest seq without taking
 * a new one: they are not replayed, so they must not look like a gap.
 */
export function onlineEvent(room: string, seq: number, count: number, now: number): Uint8Array {
  return v1.Event.encode({ seq, room, tsMs: now, online: { count } }).finish();
}
