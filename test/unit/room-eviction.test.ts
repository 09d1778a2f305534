/**
 * Per-room state in core is freed when a room is idle: rooms used once, or
 * made up by a guest, do not cost memory (or a walk every second) for good.
 * What eviction promises a resume (a watched room is kept, a forgotten room
 * continues above every seq) is in the Sequencer contract suite,
 * `test/contract/sequencer.test.ts`, run on both sequencers.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../domain/bus-memory.js';
import { testConfig } from '../helpers/config.js';
import { MemoryGiftLedger } from '../../core/gifts/gift-ledger-memory.js';
import { GiftService } from '../../core/gifts/gifts.js';
import { LikeCounter } from '../../core/likes/likes.js';
import { createLogger } from '../../domain/logger.js';
import { MemorySequencer } from '../../core/sequencing/sequencer-memory.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';

const idleMs = 60_000;

function setup() {
  let now = 1_000_000;
  const bus = new MemoryBus();
  const sequencer = new MemorySequencer(bus, {
    retainEvents: 10,
    joinHistory: 5,
    logger: createLogger('silent'),
    roomIdleMs: idleMs,
    now: () => now,
  });
  sequencer.start();
  const send = (room: string, text: string) => bus.publish(subjects.ingress(room), v1.Event.encode({ danmaku: { text } }).finish());
  const history = async (room: string, afterSeq: number) =>
    v1.HistoryReply.decode(await bus.request(subjects.history(room), v1.HistoryRequest.encode({ resume: true, afterSeq }).finish(), 1000));
  return { bus, sequencer, send, history, advance: (ms: number) => (now += ms), now: () => now };
}

describe('room eviction - idle rooms are forgotten', () => {
  it('room eviction - 10,000 rooms with one event each are freed after the idle time', async () => {
    const { bus, sequencer, send, advance } = setup();
    for (let i = 0; i < 10_000; i++) send(`room-${i}`, 'hi');
    await bus.flush();
    expect(sequencer.roomCount).toBe(10_000);
    advance(idleMs - 1);
    sequencer.evictIdle();
    expect(sequencer.roomCount).toBe(10_000);
    advance(2);
    sequencer.evictIdle();
    expect(sequencer.roomCount).toBe(0);
    sequencer.stop();
  });
});

describe('room eviction - like totals', () => {
  it('room eviction - rooms nobody watches get no heartbeat and are forgotten after the idle time', async () => {
    const { bus, sequencer, advance, now } = setup();
    const likes = new LikeCounter({ bus, sequencer, logger: createLogger('silent'), pushMs: 1_000_000, roomIdleMs: idleMs, now });
    likes.start();
    const pushed: string[] = [];
    bus.subscribe(subjects.events('*'), (d) => {
      const e = v1.Event.decode(d);
      if (e.likes) pushed.push(e.room);
    });
    bus.publish(subjects.likes, v1.EdgeLikes.encode({ edgeId: 'e1', rooms: { a: 3, b: 4 } }).finish());
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { a: 1 }, tsMs: 0 }).finish());
    await bus.flush();
    (likes as unknown as { push(): void }).push();
    await bus.flush();
    expect(pushed.sort()).toEqual(['a', 'b']);
    pushed.length = 0;
    advance(3_000);
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { a: 1 }, tsMs: 0 }).finish());
    await bus.flush();
    (likes as unknown as { push(): void }).push();
    await bus.flush();
    expect(pushed).toEqual(['a']);
    advance(idleMs);
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { a: 1 }, tsMs: 0 }).finish());
    await bus.flush();
    (likes as unknown as { push(): void }).push();
    expect(likes.roomCount).toBe(1);
    expect(likes.total('a')).toBe(3);
    expect(likes.total('b')).toBe(0);
    likes.stop();
    sequencer.stop();
  });
});

describe('room eviction - gift leaderboards', () => {
  it('room eviction - a room with gifts and nobody watching is forgotten after the idle time; a watched one is kept', async () => {
    const { bus, sequencer, advance, now } = setup();
    const ledger = new MemoryGiftLedger({ ttlMs: 86_400_000, maxEntries: 1000 });
    const gifts = new GiftService({
      bus,
      sequencer,
      ledger,
      config: testConfig().gifts,
      logger: createLogger('silent'),
      now,
      roomIdleMs: idleMs,
    });
    const gift = (room: string, id: string) =>
      gifts.record(room, new v1.PaidRequest({ id: `k:${id}`, user: { id: 'ivy', name: 'Ivy' }, giftId: 'heart', count: 1 }));
    expect((await gift('watched', 'g1')).error).toBe(0);
    expect((await gift('empty', 'g2')).error).toBe(0);
    expect(gifts.roomCount).toBe(2);
    const tick = () => (gifts as unknown as { tick(): void }).tick();
    tick();
    advance(idleMs + 1);
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { watched: 2 }, tsMs: 0 }).finish());
    await bus.flush();
    tick();
    expect(gifts.roomCount).toBe(1);
    expect(gifts.leaderboard('watched').totalGifts).toBe(1);
    gifts.stop();
    sequencer.stop();
  });
});
