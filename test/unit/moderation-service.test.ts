/**
 * Core's moderation service with bounded work and memory: bursts of state
 * changes are written coalesced, a ban past a full room is undone and said
 * so, idle rooms are forgotten, and held danmaku are capped per user and
 * expire without anyone asking for them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { createLogger } from '../../domain/logger.js';
import type { ModerationOptions } from '../../domain/moderation.js';
import { testConfig } from '../helpers/config.js';
import { ModerationService } from '../../core/moderation/moderation-service.js';
import { heldTtlMs, maxHeldPerUser } from '../../domain/moderation.js';
import { MemoryModerationStore } from '../../domain/moderation-store-memory.js';
import { subjects } from '../../domain/subjects.js';

const idleMs = 600_000;
let services: ModerationService[] = [];

function setup(overrides: Partial<ModerationOptions> = {}) {
  const bus = new MemoryBus();
  const store = new MemoryModerationStore();
  let now = 1_000_000;
  const service = new ModerationService(bus, store, {
    ...testConfig().moderation,
    ...overrides,
    logger: createLogger('silent'),
    now: () => now,
    roomIdleMs: idleMs,
  });
  service.start();
  services.push(service);
  let seq = 0;
  /** Publishes a sequenced event as core's sequencer would. */
  const event = (room: string, e: v1.IEvent) =>
    bus.publish(subjects.events(room), v1.Event.encode({ seq: ++seq, tsMs: now, room, ...e }).finish());
  const ingress: v1.Event[] = [];
  bus.subscribe(subjects.ingressAll, (d) => ingress.push(v1.Event.decode(d)));
  const resolved: string[] = [];
  bus.subscribe(subjects.heldAll, (d) => {
    const h = v1.Held.decode(d);
    if (h.resolved) resolved.push(h.holdId);
  });
  const list = async (room: string) =>
    v1.HoldReply.decode(await bus.request(subjects.hold(room), v1.HoldRequest.encode({}).finish(), 1000)).held.map((h) => h.holdId);
  const settle = async () => {
    await bus.flush();
    await service.settled();
  };
  return { bus, store, service, event, ingress, resolved, list, settle, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  for (const s of services) s.stop();
  services = [];
});

describe('moderation service - writes', () => {
  it('moderation service - 2,000 bans in a burst are applied in memory and written a few times, not 2,000', async () => {
    const t = setup();
    let puts = 0;
    const put = t.store.putState.bind(t.store);
    t.store.putState = (state) => {
      puts++;
      return put(state);
    };
    for (let i = 0; i < 2_000; i++) t.event('burst', { ban: { userId: `user-${i}`, seconds: 3600 } });
    await t.settle();
    const stored = await t.store.getState('burst');
    expect(stored?.bans.size).toBe(2_000);
    expect(stored?.seq).toBe(2_000);
    expect(puts).toBeLessThanOrEqual(5);
  });

  it('moderation service - a ban past a full room is not applied, and system unbans the user in the room and the audit log', async () => {
    const t = setup({ maxBansPerRoom: 2 });
    t.event('full', { ban: { userId: 'a' } });
    t.event('full', { mute: { userId: 'b', seconds: 60 } });
    t.event('full', { ban: { userId: 'c' } });
    await t.settle();
    expect([...((await t.store.getState('full'))?.bans.keys() ?? [])]).toEqual(['a']);
    await expect.poll(() => t.ingress.find((e) => e.unban)).toBeDefined();
    const undo = t.ingress.find((e) => e.unban) as v1.Event;
    expect(undo.unban?.userId).toBe('c');
    expect(undo.actor?.id).toBe('system');
    expect(undo.reason).toMatch(/holds 2 bans and time-outs, the most it may \(2\)/);
  });
});

describe('moderation service - idle rooms', () => {
  it('moderation service - 10,000 rooms with one event each are forgotten after the idle time; the tick walks active rooms only', async () => {
    const t = setup();
    const rooms = 10_000;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < rooms; i++) {
      if (i % 2 === 0) t.event(`room-${i}`, { danmaku: { text: 'hi', user: { id: 'u' } } });
      else t.event(`room-${i}`, { slowMode: { seconds: 5 } });
    }
    await t.settle();
    expect(t.service.roomCount).toBe(rooms);
    const heapWith = process.memoryUsage().heapUsed;
    // The rate window empties, then nothing is left to do: the tick stops walking them.
    for (let i = 0; i < 4; i++) t.service.tick();
    expect(t.service.activeRoomCount).toBe(0);
    expect(t.service.roomCount).toBe(rooms);
    t.advance(idleMs - 1);
    t.service.tick();
    expect(t.service.roomCount).toBe(rooms);
    t.advance(1);
    t.service.tick();
    expect(t.service.roomCount).toBe(0);
    // For the record (GC decides when memory returns): about what a room cost.
    console.log(`moderation service: ~${Math.round((heapWith - heapBefore) / rooms)} bytes of heap per room before eviction`);
    // A forgotten room's state is in the store: the next event continues from it.
    t.event('room-1', { ban: { userId: 'x' } });
    await t.settle();
    const back = await t.store.getState('room-1');
    expect(back?.slowSeconds).toBe(5);
    expect([...(back?.bans.keys() ?? [])]).toEqual(['x']);
  });

  it('moderation service - asking for a room held list does not keep the room', async () => {
    const t = setup();
    expect(await t.list('never-seen')).toEqual([]);
    expect(t.service.roomCount).toBe(0);
  });
});

describe('moderation service - held danmaku', () => {
  const held = (room: string, user: string, id: string, tsMs: number) =>
    v1.Held.encode({ holdId: id, room, danmaku: { user: { id: user }, text: id }, matched: 'x', tsMs }).finish();

  it("moderation service - one user holds at most 3 in a room: their oldest is dropped and announced, others' stay", async () => {
    const t = setup();
    const now = 1_000_000;
    t.bus.publish(subjects.held('h'), held('h', 'other', 'o1', now));
    for (let i = 1; i <= maxHeldPerUser + 2; i++) t.bus.publish(subjects.held('h'), held('h', 'flooder', `f${i}`, now));
    await t.settle();
    expect(await t.list('h')).toEqual(['o1', 'f3', 'f4', 'f5']);
    expect(t.resolved).toEqual(['f1', 'f2']);
  });

  it('moderation service - held danmaku expire in the tick, without a request, and the room is then forgotten', async () => {
    const t = setup();
    t.bus.publish(subjects.held('exp'), held('exp', 'u', 'e1', 1_000_000));
    await t.settle();
    for (let i = 0; i < 4; i++) t.service.tick();
    expect(t.service.activeRoomCount).toBe(1); // held danmaku keep the room active
    t.advance(heldTtlMs + 1);
    t.service.tick();
    await t.bus.flush();
    expect(t.resolved).toEqual(['e1']);
    expect(t.service.activeRoomCount).toBe(0);
    t.advance(idleMs);
    t.service.tick();
    expect(t.service.roomCount).toBe(0);
  });
});
