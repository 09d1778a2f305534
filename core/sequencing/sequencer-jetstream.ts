/**
 * The sequencer of many processes: core assigns each room event its seq and
 * stores it in the JetStream stream `BARRAGE_ROOMS` on
 * `barrage.log.<room>.chat|ctl`; the stream republishes every stored event on
 * the room's `.ev` subject, so edges only ever see events that JetStream has
 * stored, in stream order, which is seq order.
 *
 * Agreement: the message id of each stored event is `<room>:<seq>`, and the
 * stream refuses a second message with the same id inside its duplicate
 * window. Two cores that hand out the same seq therefore cannot both store
 * it: the loser is told `duplicate`, rereads the room from the stream and
 * sequences its event again after the stream's latest. The same rereading
 * settles publishes that failed (timeout, lost connection): an event found in
 * the stream under its seq was stored; one not found is sequenced again after
 * the latest, so nothing is stored twice or out of order. A seq number whose
 * publish was lost while a later one was stored is never used (a hole,
 * never a doubled or reordered event).
 *
 * History and resume are answered from a ring per room that is filled from
 * the stream when the room is first needed and kept current from the `.ev`
 * feed, so any core can answer for any room.
 */
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, PubAck, StoredMsg, StreamConfig } from '@nats-io/jetstream';
import { v1 } from '../../proto/index.js';
import { BusStatus } from '../../domain/bus.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { isNoMessage, isStreamNotFound } from '../../domain/bus-nats-errors.js';
import { PresenceSum, RoomLog, answerHistory, defaultRoomIdleMs, idleSweepMs, onlineEvent, onlineTickMs, paidIdOf } from './sequencer.js';
import type { Sequencer, SequencerOptions } from './sequencer.js';
import { logSubjects, roomOfSubject, subjects } from '../../domain/subjects.js';
import { EventClass, classOf } from '../../domain/event-kind.js';
import { backoffMs, sleep } from '../../domain/retry.js';
import { observeMs } from '../../domain/latency.js';

/** Options of the JetStream sequencer. */
export interface JetStreamSequencerOptions extends SequencerOptions {
  /** Stream name; `BARRAGE_ROOMS` unless told. */
  stream?: string;
  /** Stream replicas (3 on a three-node cluster). */
  replicas: number;
  /** How long stored events are kept, in seconds. */
  maxAgeSeconds: number;
  /** How long to wait for JetStream to acknowledge one event. */
  publishTimeoutMs?: number;
}

/** The epoch of a stream created at `created` (an ISO time from JetStream). */
export function epochOfStream(created: string): string {
  return 's' + Date.parse(created).toString(36) + (created.match(/\.(\d+)/)?.[1] ?? '');
}

/** Queue group of cores taking ingress: each event is sequenced by one core. */
const ingressQueue = 'barrage-core';
/** How long a duplicate message id is remembered; longer than any retry here. */
const duplicateWindowMs = 120_000;

interface Pending {
  seq: number;
  bytes: Uint8Array;
  event: v1.Event;
}

const RoomState = { Cold: 0, Loading: 1, Ready: 2, Recovering: 3 } as const;
type RoomState = (typeof RoomState)[keyof typeof RoomState];

class JsRoom {
  state: RoomState = RoomState.Cold;
  /** Last seq this core handed out or saw in the stream. */
  next = 0;
  loaded: Promise<void> | undefined;
  /** Ingress events not yet sequenced, oldest first. */
  readonly waiting: v1.Event[] = [];
  /** Sequenced and sent, acknowledgement not yet back. */
  inflight = 0;
  /** Sent, but refused as duplicate or failed: settled by rereading the stream. */
  readonly unresolved: Pending[] = [];
  /** Feed events that arrived while the room was loading. */
  readonly feedBuffer: v1.Event[] = [];
  /** When the room was last used (an event or a history request), for idle eviction. */
  lastActiveAt = 0;
  constructor(
    readonly id: string,
    readonly log: RoomLog,
  ) {}
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The stream subject each sequenced class is stored under (paid has its own, so gifts get their own retention). */
const logClass = { chat: 'chat', paid: 'paid', control: 'ctl', counter: 'ctl' } as const satisfies Record<EventClass, string>;

/**
 * Sequences room events into JetStream; see the file comment for the design.
 *
 * It takes two dependencies from the wiring: any `Bus` for what is pub/sub
 * (ingress, the `.ev` feed, history, presence) and a NATS connection for
 * JetStream (storing, reading back, the stream's configuration). Usually the
 * connection is the one under the `NatsBus`, so a core keeps one connection.
 */
export class JetStreamSequencer implements Sequencer {
  /** Events this core stored; refused duplicates; events sequenced again after a failure. */
  readonly stats = { stored: 0, duplicates: 0, failures: 0, resequenced: 0 };
  private readonly rooms = new Map<string, JsRoom>();
  /** Callers of `append` waiting for their event to be stored, by event. */
  private readonly durable = new WeakMap<v1.Event, (seq: number) => void>();
  private readonly presence: PresenceSum;
  private readonly subs: Subscription[] = [];
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;
  private readonly stream: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * The stream's epoch, the same on every core: made from the stream's
   * creation time, so a stream that is lost and made again (and starts every
   * room's seq over) is a new epoch, and a resume from the old one is not
   * taken for recovered.
   */
  epoch = '';

  constructor(
    private readonly bus: Bus,
    private readonly nc: NatsConnection,
    private readonly options: JetStreamSequencerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.presence = new PresenceSum(this.now);
    this.stream = options.stream ?? 'BARRAGE_ROOMS';
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 3_000 });
  }

  /** The stream's configuration: chat and control of a room under per-subject limits, republished to `.ev`. */
  streamConfig(): Partial<StreamConfig> & { name: string } {
    return {
      name: this.stream,
      subjects: [logSubjects.all],
      storage: StorageType.File,
      num_replicas: this.options.replicas,
      max_msgs_per_subject: this.options.retainEvents,
      max_age: nanos(this.options.maxAgeSeconds * 1000),
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(duplicateWindowMs),
      allow_direct: true,
      republish: { src: logSubjects.all, dest: 'barrage.room.{{wildcard(1)}}.ev' },
    };
  }

  /** Creates or updates the stream (retrying until JetStream answers), then takes ingress. */
  async start(): Promise<void> {
    const log = this.options.logger;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        this.jsm = await jetstreamManager(this.nc, { timeout: 5_000 });
        const config = this.streamConfig();
        let info;
        try {
          await this.jsm.streams.info(this.stream);
          info = await this.jsm.streams.update(this.stream, config);
        } catch (err) {
          if (!isStreamNotFound(err)) throw err;
          info = await this.jsm.streams.add(config);
        }
        this.epoch = epochOfStream(info.created);
        break;
      } catch (err) {
        log.warn({ err: (err as Error).message, attempt }, 'JetStream not ready; retrying');
        await sleep(backoffMs(attempt, 200, 2_000));
      }
    }
    this.subs.push(
      this.bus.subscribe(subjects.ingressAll, (data, subject) => this.onIngress(data, subject), { queue: ingressQueue }),
      this.bus.subscribe('barrage.room.*.ev', (data, subject) => this.onFeed(data, subject)),
      this.bus.serve(subjects.historyAll, (data, subject) => this.onHistory(data, subject)),
      this.bus.subscribe(subjects.presence, (data) => this.onPresence(data)),
    );
    this.timer = setInterval(() => this.pushOnline(), onlineTickMs);
    this.timer.unref();
    this.sweeper = setInterval(() => this.evictIdle(), idleSweepMs);
    this.sweeper.unref();
    log.info({ stream: this.stream, replicas: this.options.replicas }, 'JetStream sequencer started');
  }

  stop(): void {
    this.stopped = true;
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
  }

  seqOf(room: string): number {
    return this.rooms.get(room)?.log.seq ?? 0;
  }

  online(room: string): number {
    return this.presence.count(room);
  }

  /**
   * Reads the room's stored paid events from `sinceMs` on (direct get by
   * start time) and returns the one with `paidId`. Throws while JetStream is
   * unreachable, so the caller answers "retry" instead of storing twice.
   */
  async findPaid(room: string, paidId: string, sinceMs: number): Promise<v1.Event | undefined> {
    const jsm = this.jsm as JetStreamManager;
    try {
      const batch = await jsm.direct.getBatch(this.stream, {
        start_time: new Date(sinceMs),
        next_by_subj: logSubjects.log(room, 'paid'),
        batch: 10_000,
      });
      for await (const m of batch) {
        const event = v1.Event.decode(m.data);
        if (paidIdOf(event) === paidId) return event;
      }
    } catch (err) {
      // No paid event of the room since then: not stored.
      if (!isNoMessage(err)) throw err;
    }
    return undefined;
  }

  /** Rooms held in memory (tests). */
  get roomCount(): number {
    return this.rooms.size;
  }

  /**
   * Forgets rooms unused for `roomIdleMs` with nothing in flight: the stream
   * keeps their events, and the next use reads them again (a cold room).
   */
  evictIdle(now = this.now()): void {
    const idleMs = this.options.roomIdleMs ?? defaultRoomIdleMs;
    for (const [id, room] of this.rooms) {
      const settled = room.state === RoomState.Ready && room.waiting.length === 0 && room.inflight === 0 && room.unresolved.length === 0;
      if (settled && now - room.lastActiveAt >= idleMs && !this.presence.has(id)) this.rooms.delete(id);
    }
  }

  private room(id: string): JsRoom {
    let room = this.rooms.get(id);
    if (!room) this.rooms.set(id, (room = new JsRoom(id, new RoomLog(this.options.retainEvents))));
    room.lastActiveAt = this.now();
    return room;
  }

  // ------------------------------------------------------------------ loading

  /** Every stored event of a room, in stream order. */
  private async readRoom(id: string): Promise<StoredMsg[]> {
    const jsm = this.jsm as JetStreamManager;
    const out: StoredMsg[] = [];
    try {
      const batch = await jsm.direct.getBatch(this.stream, {
        seq: 1,
        next_by_subj: logSubjects.room(id),
        batch: 3 * this.options.retainEvents + 16,
      });
      for await (const m of batch) out.push(m);
    } catch (err) {
      // A room with nothing stored (never used, or all of it aged out) reads as empty.
      if (!isNoMessage(err)) throw err;
    }
    return out;
  }

  /** Loads a cold room from the stream once; later callers share the promise. */
  private ensureLoaded(room: JsRoom): Promise<void> {
    if (room.state !== RoomState.Cold) return room.loaded ?? Promise.resolve();
    room.state = RoomState.Loading;
    room.loaded = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const stored = await this.readRoom(room.id);
          for (const m of stored) this.retain(room, v1.Event.decode(m.data), m.data);
          break;
        } catch (err) {
          this.options.logger.warn({ err: (err as Error).message, room: room.id }, 'reading room from JetStream failed; retrying');
          await sleep(backoffMs(attempt, 100, 2_000));
        }
      }
      for (const event of room.feedBuffer) this.retain(room, event);
      room.feedBuffer.length = 0;
      room.state = RoomState.Ready;
      this.pump(room);
    })();
    return room.loaded;
  }

  /** Keeps a stored event in the room's ring (once, in order). */
  private retain(room: JsRoom, event: v1.Event, bytes?: Uint8Array): void {
    if (event.seq <= room.log.seq) return;
    room.log.push({ seq: event.seq, bytes: bytes ?? v1.Event.encode(event).finish(), chat: classOf(event) === EventClass.Chat });
    if (event.seq > room.next) room.next = event.seq;
  }

  // ------------------------------------------------------------------ sequencing

  private onIngress(data: Uint8Array, subject: string): void {
    const id = roomOfSubject(subject);
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch (err) {
      this.options.logger.warn({ err, room: id }, 'dropping undecodable ingress event');
      return;
    }
    // The edge stamped the time it received the frame; `enqueue` stamps core's own.
    const hops = this.options.latency?.hops;
    if (hops && event.tsMs) observeMs(hops.ingress, this.now() - Number(event.tsMs));
    this.enqueue(id, event);
  }

  /** Sequences `event` and resolves once JetStream acknowledged it (after settling any failure). */
  append(room: string, event: v1.Event): Promise<number> {
    return new Promise((resolve) => {
      this.durable.set(event, resolve);
      this.enqueue(room, event);
    });
  }

  private enqueue(id: string, event: v1.Event): void {
    event.room = id;
    event.tsMs = this.now();
    const room = this.room(id);
    if (classOf(event) === EventClass.Counter) {
      // Counters are not stored or sequenced: they go straight out with the latest seq.
      event.seq = room.log.seq;
      this.bus.publish(subjects.events(id), v1.Event.encode(event).finish());
      return;
    }
    room.waiting.push(event);
    if (room.state === RoomState.Cold) void this.ensureLoaded(room);
    else this.pump(room);
  }

  /** Sequences and sends what waits, unless the room is loading or settling a failure. */
  private pump(room: JsRoom): void {
    if (room.state !== RoomState.Ready) return;
    while (room.waiting.length > 0) {
      const event = room.waiting.shift() as v1.Event;
      const seq = ++room.next;
      event.seq = seq;
      if (event.danmaku) event.danmaku.id = seq.toString(36);
      const pending: Pending = { seq, bytes: v1.Event.encode(event).finish(), event };
      const cls = logClass[classOf(event)];
      room.inflight++;
      this.js.publish(logSubjects.log(room.id, cls), pending.bytes, { msgID: `${room.id}:${seq}` }).then(
        (ack) => this.onAck(room, pending, ack),
        (err: unknown) => this.onPublishFailed(room, pending, err),
      );
    }
  }

  private onAck(room: JsRoom, pending: Pending, ack: PubAck): void {
    room.inflight--;
    if (ack.duplicate) {
      this.stats.duplicates++;
      room.unresolved.push(pending);
    } else {
      this.stats.stored++;
      const hops = this.options.latency?.hops;
      // From core receiving it (its ts_ms) to JetStream's acknowledgement.
      if (hops) observeMs(hops.store, this.now() - Number(pending.event.tsMs));
      this.stored(pending);
    }
    this.settle(room);
  }

  /** Tells an `append` caller its event is durable. */
  private stored(pending: Pending): void {
    const resolve = this.durable.get(pending.event);
    if (!resolve) return;
    this.durable.delete(pending.event);
    resolve(pending.seq);
  }

  private onPublishFailed(room: JsRoom, pending: Pending, err: unknown): void {
    room.inflight--;
    this.stats.failures++;
    this.options.logger.warn({ err: (err as Error).message, room: room.id, seq: pending.seq }, 'storing event failed');
    room.unresolved.push(pending);
    this.settle(room);
  }

  /** Once nothing is in flight, settles refused and failed events against the stream. */
  private settle(room: JsRoom): void {
    if (room.unresolved.length === 0) return;
    room.state = RoomState.Recovering;
    if (room.inflight > 0) return;
    void this.recover(room);
  }

  private async recover(room: JsRoom): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      while (this.bus.status() !== BusStatus.Connected && !this.stopped) await sleep(100);
      // Let anything still travelling from before the failure land first.
      await sleep(200);
      try {
        const stored = new Map<number, Uint8Array>();
        let latest = room.next;
        for (const m of await this.readRoom(room.id)) {
          const event = v1.Event.decode(m.data);
          stored.set(event.seq, m.data);
          if (event.seq > latest) latest = event.seq;
        }
        const again: v1.Event[] = [];
        for (const p of room.unresolved.sort((a, b) => a.seq - b.seq)) {
          const found = stored.get(p.seq);
          if (found && sameBytes(found, p.bytes)) {
            this.stats.stored++;
            this.stored(p);
          } else again.push(p.event);
        }
        this.stats.resequenced += again.length;
        room.unresolved.length = 0;
        room.next = latest;
        room.waiting.unshift(...again);
        room.state = RoomState.Ready;
        this.pump(room);
        return;
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, room: room.id, attempt }, 'settling failed publishes; retrying');
        await sleep(backoffMs(attempt, 100, 2_000));
      }
    }
  }

  // ------------------------------------------------------------------ feed, history, presence

  /** Stored events come back from the stream's republish: the ring follows them. */
  private onFeed(data: Uint8Array, subject: string): void {
    const room = this.rooms.get(roomOfSubject(subject));
    if (!room || room.state === RoomState.Cold) return;
    let event: v1.Event;
    try {
      event = v1.Event.decode(data);
    } catch {
      return;
    }
    if (classOf(event) === EventClass.Counter) return;
    if (room.state === RoomState.Loading) room.feedBuffer.push(event);
    else this.retain(room, event, data);
  }

  private async onHistory(data: Uint8Array, subject: string): Promise<Uint8Array> {
    const room = this.room(roomOfSubject(subject));
    await this.ensureLoaded(room);
    return answerHistory(room.log, v1.HistoryRequest.decode(data), { joinHistory: this.options.joinHistory, epoch: this.epoch });
  }

  private onPresence(data: Uint8Array): void {
    if (!this.presence.addEncoded(data)) this.options.logger.warn('dropping undecodable presence report');
  }

  private pushOnline(): void {
    this.presence.due((id, count, now) => {
      const room = this.room(id);
      if (room.state === RoomState.Cold || room.state === RoomState.Loading) {
        void this.ensureLoaded(room);
        return false;
      }
      this.bus.publish(subjects.events(id), onlineEvent(id, room.log.seq, count, now));
      return true;
    });
  }
}
