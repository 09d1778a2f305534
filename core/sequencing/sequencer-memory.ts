/**
 * The single-process sequencer: per-room seq counters and rings of retained
 * events held in memory. What `barrage start` runs; lost on restart.
 *
 * A room with no event and no viewer for `roomIdleMs` is forgotten, so rooms
 * used once (or room ids a guest makes up) cost nothing for good. Its seq
 * must not start over, or a viewer coming back with an old seq would be
 * told it missed nothing: every room created after an eviction continues
 * from the highest seq any forgotten room reached (one number, `floor`), so
 * every seq it hands out is above anything a client of a forgotten room saw.
 */
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import {
  PresenceSum,
  RoomLog,
  answerHistory,
  defaultRoomIdleMs,
  idleSweepMs,
  onlineEvent,
  onlineTickMs,
  newEpoch,
  paidIdOf,
} from './sequencer.js';
import type { Sequencer, SequencerOptions } from './sequencer.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';
import { EventClass, classOf } from '../../domain/event-kind.js';
import { observeMs } from '../../domain/latency.js';

/** Assigns per-room sequence numbers in memory and answers history requests over the bus. */
export class MemorySequencer implements Sequencer {
  private readonly rooms = new Map<string, RoomLog>();
  private readonly presence: PresenceSum;
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** The highest seq of any forgotten room: where new rooms start. */
  private floor = 0;
  /**
   * This process's epoch: every room's seq starts again after a restart, so
   * a seq from before it (a viewer resuming across the restart) must not be
   * taken for one of ours.
   */
  readonly epoch = newEpoch();

  constructor(
    private readonly bus: Bus,
    private readonly options: SequencerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.presence = new PresenceSum(this.now);
  }

  start(): void {
    this.subs.push(
      this.bus.subscribe(subjects.ingressAll, (data, subject) => this.onIngress(data, subject)),
      this.bus.serve(subjects.historyAll, (data, subject) => this.onHistory(data, subject)),
      this.bus.subscribe(subjects.presence, (data) => this.onPresence(data)),
    );
    this.timer = setInterval(() => this.pushOnline(), onlineTickMs);
    this.timer.unref();
    this.sweeper = setInterval(() => this.evictIdle(), idleSweepMs);
    this.sweeper.unref();
  }

  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
  }

  seqOf(room: string): number {
    return this.rooms.get(room)?.seq ?? this.floor;
  }

  online(room: string): number {
    return this.presence.count(room);
  }

  /** Searches the room's retained events (the only store in one process). */
  async findPaid(room: string, paidId: string, sinceMs: number): Promise<v1.Event | undefined> {
    const log = this.rooms.get(room);
    if (!log) return undefined;
    for (const item of log.items()) {
      if (item.chat) continue;
      const event = v1.Event.decode(item.bytes);
      if (Number(event.tsMs) >= sinceMs && paidIdOf(event) === paidId) return event;
    }
    return undefined;
  }

  /** Rooms held in memory (tests). */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Forgets rooms with no event and no viewer for `roomIdleMs`; see the file comment. */
  evictIdle(now = this.now()): void {
    const idleMs = this.options.roomIdleMs ?? defaultRoomIdleMs;
    for (const [id, log] of this.rooms) {
      if (now - log.lastActiveAt < idleMs || this.presence.has(id)) continue;
      this.rooms.delete(id);
      if (log.seq > this.floor) this.floor = log.seq;
    }
  }

  private room(id: string): RoomLog {
    let log = this.rooms.get(id);
    if (!log) this.rooms.set(id, (log = new RoomLog(this.options.retainEvents, this.floor)));
    return log;
  }

  private onIngress(data: Uint8Array, subject: string): void {
    const receivedAt = performance.now();
    const roomId = roomOfSubject(subject);
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch (err) {
      this.options.logger.warn({ err, room: roomId }, 'dropping undecodable ingress event');
      return;
    }
    const hops = this.options.latency?.hops;
    // The edge stamped the time it received the frame; sequencing stamps core's own.
    if (hops && event.tsMs) observeMs(hops.ingress, this.now() - Number(event.tsMs));
    this.sequence(roomId, event);
    // Nothing to wait for in memory: decode, sequence, encode and hand to the bus.
    if (hops) observeMs(hops.store, performance.now() - receivedAt);
  }

  /** In one process an event is as durable as it gets once sequenced. */
  async append(room: string, event: v1.Event): Promise<number> {
    return this.sequence(room, event);
  }

  private sequence(roomId: string, event: v1.Event): number {
    const log = this.room(roomId);
    event.seq = log.seq + 1;
    event.room = roomId;
    event.tsMs = this.now();
    log.lastActiveAt = event.tsMs;
    if (event.danmaku) event.danmaku.id = event.seq.toString(36);
    const bytes = v1.Event.encode(event).finish();
    log.push({ seq: event.seq, bytes, chat: classOf(event) === EventClass.Chat });
    this.bus.publish(subjects.events(roomId), bytes);
    return event.seq;
  }

  private onHistory(data: Uint8Array, subject: string): Uint8Array {
    return answerHistory(this.rooms.get(roomOfSubject(subject)), v1.HistoryRequest.decode(data), {
      joinHistory: this.options.joinHistory,
      epoch: this.epoch,
      emptySeq: this.floor,
    });
  }

  private onPresence(data: Uint8Array): void {
    if (!this.presence.addEncoded(data)) this.options.logger.warn('dropping undecodable presence report');
  }

  private pushOnline(): void {
    this.presence.due((room, count, now) => {
      this.bus.publish(subjects.events(room), onlineEvent(room, this.seqOf(room), count, now));
      return true;
    });
  }
}
