/**
 * The single-process sequencer: per-room seq counters and rings of retained
 * events held in memory. What `barrage start` runs; lost on restart.
 */
import { v1 } from '../proto/index.js';
import type { Bus, Subscription } from './bus.js';
import { PresenceSum, RoomLog, answerHistory, onlineEvent, onlineTickMs } from './sequencer.js';
import type { Sequencer, SequencerOptions } from './sequencer.js';
import { roomOfSubject, subjects } from './subjects.js';

/** Assigns per-room sequence numbers in memory and answers history requests over the bus. */
export class MemorySequencer implements Sequencer {
  private readonly rooms = new Map<string, RoomLog>();
  private readonly presence: PresenceSum;
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

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
  }

  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
    clearInterval(this.timer);
  }

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
    event.seq = log.seq + 1;
    event.room = roomId;
    event.tsMs = this.now();
    if (event.danmaku) event.danmaku.id = event.seq.toString(36);
    const bytes = v1.Event.encode(event).finish();
    log.push({ seq: event.seq, bytes, chat: event.kind === 'danmaku' });
    this.bus.publish(subjects.events(roomId), bytes);
  }

  private onHistory(data: Uint8Array, subject: string): Uint8Array {
    return answerHistory(this.rooms.get(roomOfSubject(subject)), v1.HistoryRequest.decode(data), this.options.joinHistory);
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
