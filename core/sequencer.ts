/**
 * The sequencer gives every event of a room its place: a seq number that
 * every edge agrees on, the time, and an id. It keeps a bounded window of
 * recent events per room to answer joins (recent chat) and resumes (all
 * events after a seq), and sums the viewer counts edges report.
 *
 * This is the single-process sequencer; it holds its state in memory.
 */
import type { Logger } from 'pino';
import { v1 } from '../proto/index.js';
import type { Bus, Subscription } from './bus.js';
import { roomOfSubject, subjects } from './subjects.js';

/** How long an edge's presence report counts without a newer one. */
const presenceTtlMs = 5_000;
/** Online counts are pushed when they change, and at least this often. */
const onlineMaxIntervalMs = 2_000;
const onlineTickMs = 1_000;

interface Retained {
  seq: number;
  bytes: Uint8Array;
  /** Chat is what a joining viewer is shown; paid and control only replay on resume. */
  chat: boolean;
}

class RoomLog {
  seq = 0;
  private readonly ring: Array<Retained | undefined>;
  private head = 0; // index of the next write
  size = 0;

  constructor(capacity: number) {
    this.ring = new Array<Retained | undefined>(capacity);
  }

  push(item: Retained): void {
    this.ring[this.head] = item;
    this.head = (this.head + 1) % this.ring.length;
    if (this.size < this.ring.length) this.size++;
  }

  /** Oldest first. */
  *items(): IterableIterator<Retained> {
    const cap = this.ring.length;
    for (let i = 0; i < this.size; i++) yield this.ring[(this.head - this.size + i + cap) % cap] as Retained;
  }

  oldestSeq(): number {
    const first = this.items().next();
    return first.done ? this.seq + 1 : first.value.seq;
  }
}

interface RoomPresence {
  edges: Map<string, { count: number; at: number }>;
  lastCount: number;
  lastPushAt: number;
}

/** Options of the sequencer. */
export interface SequencerOptions {
  /** Events kept per room for resume. */
  retainEvents: number;
  /** Chat events a joining viewer is shown. */
  joinHistory: number;
  logger: Logger;
  now?: () => number;
}

/** Assigns per-room sequence numbers and answers history requests over the bus. */
export class Sequencer {
  private readonly rooms = new Map<string, RoomLog>();
  private readonly presence = new Map<string, RoomPresence>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly bus: Bus,
    private readonly options: SequencerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.subs.push(
      this.bus.subscribe(subjects.ingressAll, (data, subject) => this.onIngress(data, subject)),
      this.bus.serve(subjects.historyAll, (data, subject) => this.onHistory(data, subject)),
      this.bus.subscribe(subjects.presence, (data) => this.onPresence(data)),
    );
    this.timer = setInterval(() => this.pushOnline(), onlineTickMs);
    this.timer.unref();
  }

  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
  }

  /** The latest seq of a room (0 before its first event). */
  seqOf(room: string): number {
    return this.rooms.get(room)?.seq ?? 0;
  }

  private room(id: string): RoomLog {
    let log = this.rooms.get(id);
    if (!log) this.rooms.set(id, (log = new RoomLog(this.options.retainEvents)));
    return log;
  }

  private onIngress(data: Uint8Array, subject: string): void {
    const roomId = roomOfSubject(subject);
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch (err) {
      this.options.logger.warn({ err, room: roomId }, 'dropping undecodable ingress event');
      return;
    }
    const log = this.room(roomId);
    event.seq = ++log.seq;
    event.room = roomId;
    event.tsMs = this.now();
    if (event.danmaku) event.danmaku.id = event.seq.toString(36);
    const bytes = v1.Event.encode(event).finish();
    log.push({ seq: event.seq, bytes, chat: event.kind === 'danmaku' });
    this.bus.publish(subjects.events(roomId), bytes);
  }

  private onHistory(data: Uint8Array, subject: string): Uint8Array {
    const roomId = roomOfSubject(subject);
    const request = v1.HistoryRequest.decode(data);
    const log = this.rooms.get(roomId);
    const reply = new v1.HistoryReply({ seq: log?.seq ?? 0, recovered: false, events: [] });
    if (!log) {
      // A room nobody has spoken in: a resume from seq 0 has missed nothing.
      reply.recovered = request.resume && request.afterSeq === 0;
      return v1.HistoryReply.encode(reply).finish();
    }
    const after = request.afterSeq;
    const covered = after >= log.oldestSeq() - 1 && after <= log.seq;
    if (request.resume && covered) {
      reply.recovered = true;
      for (const item of log.items()) if (item.seq > after) reply.events.push(v1.Event.decode(item.bytes));
    } else {
      const chat: Retained[] = [];
      for (const item of log.items()) if (item.chat) chat.push(item);
      for (const item of chat.slice(Math.max(0, chat.length - this.options.joinHistory))) {
        reply.events.push(v1.Event.decode(item.bytes));
      }
    }
    return v1.HistoryReply.encode(reply).finish();
  }

  private onPresence(data: Uint8Array): void {
    let report: v1.EdgePresence;
    try {
      report = v1.EdgePresence.decode(data);
    } catch (err) {
      this.options.logger.warn({ err }, 'dropping undecodable presence report');
      return;
    }
    const at = this.now();
    for (const [room, count] of Object.entries(report.rooms)) {
      let p = this.presence.get(room);
      if (!p) this.presence.set(room, (p = { edges: new Map(), lastCount: -1, lastPushAt: 0 }));
      p.edges.set(report.edgeId, { count, at });
    }
  }

  private pushOnline(): void {
    const now = this.now();
    for (const [room, p] of this.presence) {
      let count = 0;
      for (const [edge, r] of p.edges) {
        if (now - r.at > presenceTtlMs) p.edges.delete(edge);
        else count += r.count;
      }
      if (count === p.lastCount && now - p.lastPushAt < onlineMaxIntervalMs) continue;
      if (count === 0 && p.edges.size === 0) {
        this.presence.delete(room);
        if (p.lastCount <= 0) continue;
      }
      p.lastCount = count;
      p.lastPushAt = now;
      // Counters carry the room's latest seq without taking a new one: they
      // are not replayed, so they must not look like a gap.
      const event = v1.Event.encode({ seq: this.seqOf(room), room, tsMs: now, online: { count } }).finish();
      this.bus.publish(subjects.events(room), event);
    }
  }
}
