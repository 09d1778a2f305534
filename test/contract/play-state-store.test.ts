/**
 * The `PlayStateStore` contract (polls, lotteries, red-packet keyword
 * eligibility), run against the in-memory store (one process) and the NATS
 * KV store (a real nats-server, a fresh bucket per test): a record is created
 * once, an entry made `once` is a compare-and-set that exactly one of many
 * racing writers wins, any user id round-trips, and what is stored is read
 * back whole by another store on the same data (a restarted core, for KV).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlayStateStore } from '../../core/plays/play-state-store.js';
import { KvPlayStateStore } from '../../core/plays/play-state-store-kv.js';
import { MemoryPlayStateStore } from '../../core/plays/play-state-store-memory.js';
import { maxUserIdLength } from '../../domain/auth.js';
import { memoryAndKv } from './memory-and-kv.js';
import type { Stores } from './memory-and-kv.js';

const implementations = memoryAndKv<PlayStateStore>({
  memory: () => new MemoryPlayStateStore(),
  kv: (nc, bucket) => KvPlayStateStore.open(nc, { replicas: 1, ttlMs: 60_000, bucket }),
  bucketPrefix: 'CONTRACT_PLAY_STATE_',
});

interface Rec {
  fingerprint: string;
  ended: boolean;
  n: number;
}

/** User ids a token may carry that are not key-safe as they are. */
const oddUsers = ['a.b', 'x>y*z', 'space in it', '名字', 'emoji 🎉', '-', 'u'.repeat(maxUserIdLength), '=/+'];

describe.each(implementations)('play state store contract - $name', (impl) => {
  let stores: Stores<PlayStateStore>;
  beforeEach(async () => {
    stores = await impl.open();
  });
  afterEach(async () => {
    await stores?.close();
  });

  it('play state store contract - a record is created once; the second create answers the first; update and forget', async () => {
    const { store } = stores;
    expect(await store.get('poll', 'room-1', 'p1')).toBeUndefined();
    expect(await store.create<Rec>('poll', 'room-1', 'p1', { fingerprint: 'a', ended: false, n: 1 })).toEqual({
      created: true,
      record: { fingerprint: 'a', ended: false, n: 1 },
    });
    const again = await (await stores.other()).create<Rec>('poll', 'room-1', 'p1', { fingerprint: 'b', ended: false, n: 2 });
    expect(again).toEqual({ created: false, record: { fingerprint: 'a', ended: false, n: 1 } });
    // The same id in another room, or of another kind, is another record.
    expect((await store.create('poll', 'room-2', 'p1', { n: 3 })).created).toBe(true);
    expect((await store.create('lottery', 'room-1', 'p1', { n: 4 })).created).toBe(true);
    await store.update<Rec>('poll', 'room-1', 'p1', { fingerprint: 'a', ended: true, n: 9 });
    const other = await stores.other();
    expect(await other.get('poll', 'room-1', 'p1')).toEqual({ fingerprint: 'a', ended: true, n: 9 });
    const polls = (await other.list<Rec>('poll')).sort((x, y) => x.room.localeCompare(y.room));
    expect(polls).toEqual([
      { room: 'room-1', id: 'p1', record: { fingerprint: 'a', ended: true, n: 9 } },
      { room: 'room-2', id: 'p1', record: { n: 3 } },
    ]);
    expect(await other.list('lottery')).toEqual([{ room: 'room-1', id: 'p1', record: { n: 4 } }]);
    expect(await other.list('keyword')).toEqual([]);
    await store.forget('poll', 'room-2', 'p1');
    expect(await other.get('poll', 'room-2', 'p1')).toBeUndefined();
    expect((await other.list('poll')).map((p) => p.room)).toEqual(['room-1']);
  });

  it('play state store contract - an entry made once: of many racing writers exactly one wins; a replaceable one is replaced', async () => {
    const { store } = stores;
    const other = await stores.other();
    const race = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).enter('poll', 'room-1', 'p2', 'voter', { option: i }, true)),
    );
    expect(race.filter(Boolean)).toHaveLength(1);
    const winner = race.indexOf(true);
    expect(await other.entries('poll', 'room-1', 'p2')).toEqual(new Map([['voter', { option: winner }]]));
    // Replaceable (a poll that allows changing the vote): the last write stands.
    expect(await store.enter('poll', 'room-1', 'p3', 'v', { option: 0 }, false)).toBe(true);
    expect(await store.enter('poll', 'room-1', 'p3', 'v', { option: 2 }, false)).toBe(true);
    expect(await other.entries('poll', 'room-1', 'p3')).toEqual(new Map([['v', { option: 2 }]]));
    // Entries of one play are not another's, nor another kind's.
    expect((await other.entries('lottery', 'room-1', 'p2')).size).toBe(0);
    expect((await other.entries('poll', 'room-1', 'p4')).size).toBe(0);
  });

  it('play state store contract - any user id round-trips, and many entries read back whole', async () => {
    const { store } = stores;
    for (const u of oddUsers) expect(await store.enter('keyword', 'room-1', 'rp1', u, 1, true)).toBe(true);
    for (const u of oddUsers) expect(await store.enter('keyword', 'room-1', 'rp1', u, 1, true)).toBe(false);
    const many = Array.from({ length: 1_500 }, (_, i) => `user-${i}`);
    const made = await Promise.all(many.map((u) => store.enter('lottery', 'room-1', 'l1', u, { name: `名 ${u}` }, true)));
    expect(made.every(Boolean)).toBe(true);
    const other = await stores.other();
    expect([...(await other.entries('keyword', 'room-1', 'rp1')).keys()].sort()).toEqual([...oddUsers].sort());
    const entrants = await other.entries<{ name: string }>('lottery', 'room-1', 'l1');
    expect(entrants.size).toBe(1_500);
    expect(entrants.get('user-1499')).toEqual({ name: '名 user-1499' });
  });
});
