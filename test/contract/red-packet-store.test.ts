/**
 * The `RedPacketStore` contract, run against the in-memory store (one
 * process) and the NATS KV store (a real nats-server, a fresh bucket per
 * test): a packet is created once per id, grabs are appended in batches
 * whose first slot is the compare-and-set, and what is stored survives a
 * new store on the same data (a restarted core, for KV).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GrabRecord, RedPacketStore, StoredRedPacket } from '../../core/plays/red-packet-store.js';
import { KvRedPacketStore } from '../../core/plays/red-packet-store-kv.js';
import { MemoryRedPacketStore } from '../../core/plays/red-packet-store-memory.js';
import { grabBytes, maxGrabBatch, maxGrabBatchBytes } from '../../core/plays/red-packets.js';
import { maxUserIdLength } from '../../domain/auth.js';
import { memoryAndKv } from './memory-and-kv.js';
import type { Stores } from './memory-and-kv.js';

const implementations = memoryAndKv<RedPacketStore>({
  memory: () => new MemoryRedPacketStore({ keepEndedMs: 60_000 }),
  kv: (nc, bucket) => KvRedPacketStore.open(nc, { replicas: 1, ttlMs: 60_000, bucket }),
  bucketPrefix: 'CONTRACT_PLAYS_',
});

const packet = (id: string, extra: Partial<StoredRedPacket> = {}): StoredRedPacket => ({
  room: 'room-1',
  id,
  fingerprint: `fp-${id}`,
  sender: { id: 'host', name: 'Host' },
  totalCents: 1_000,
  count: 10,
  mode: 'random',
  minCents: 1,
  createdAtMs: 1_700_000_000_000,
  expiresAtMs: 1_700_000_060_000,
  membersOnly: false,
  keyword: '',
  greeting: '新年快乐',
  shares: [100, 50, 150, 100, 100, 100, 100, 100, 100, 100],
  openedSeq: 0,
  ...extra,
});

const grabs = (start: number, users: string[]): GrabRecord[] =>
  users.map((u, i) => ({ userId: u, name: `名字 ${u}`, slot: start + i, amountCents: 10 + start + i, atMs: 1_700_000_001_000 + i }));

describe.each(implementations)('red packet store contract - $name', (impl) => {
  let stores: Stores<RedPacketStore>;
  beforeEach(async () => {
    stores = await impl.open();
  });
  afterEach(async () => {
    await stores?.close();
  });

  it('red packet store contract - a packet is created once; the second create answers the first, unchanged', async () => {
    const { store } = stores;
    expect(await store.get('room-1', 'aa01')).toBeUndefined();
    const first = await store.create(packet('aa01'));
    expect(first.created).toBe(true);
    const again = await (await stores.other()).create(packet('aa01', { fingerprint: 'other', totalCents: 5 }));
    expect(again.created).toBe(false);
    expect(again.packet).toEqual(packet('aa01'));
    expect(await store.get('room-1', 'aa01')).toEqual(packet('aa01'));
    // The same id in another room is another packet.
    expect((await store.create(packet('aa01', { room: 'room-2' }))).created).toBe(true);
  });

  it('red packet store contract - update keeps the shares and records the seqs', async () => {
    const { store } = stores;
    await store.create(packet('aa02'));
    await store.update({ ...packet('aa02'), openedSeq: 4, endedSeq: 9 });
    expect(await (await stores.other()).get('room-1', 'aa02')).toMatchObject({ openedSeq: 4, endedSeq: 9, shares: packet('aa02').shares });
  });

  it('red packet store contract - a batch at a taken first slot is refused; the chain of batches reads back in slot order', async () => {
    const { store } = stores;
    const other = await stores.other();
    await store.create(packet('aa03'));
    expect(await store.grabs('room-1', 'aa03')).toEqual([]);
    expect(await store.appendGrabs('room-1', 'aa03', 0, grabs(0, ['u1', 'u2']))).toBe(true);
    // Another writer with a stale view (thinks slot 0 is next) loses, and writes nothing.
    expect(await other.appendGrabs('room-1', 'aa03', 0, grabs(0, ['x1']))).toBe(false);
    // Two writers racing for the same next slot: exactly one wins.
    const race = await Promise.all([
      store.appendGrabs('room-1', 'aa03', 2, grabs(2, ['u3'])),
      other.appendGrabs('room-1', 'aa03', 2, grabs(2, ['y3', 'y4'])),
    ]);
    expect(race.filter(Boolean)).toHaveLength(1);
    const after = race[0] ? 3 : 4;
    expect(await store.appendGrabs('room-1', 'aa03', after, grabs(after, ['u9']))).toBe(true);
    const all = await other.grabs('room-1', 'aa03');
    expect(all.map((g) => g.slot)).toEqual(Array.from({ length: after + 1 }, (_, i) => i));
    expect(all.slice(0, 2)).toEqual(grabs(0, ['u1', 'u2']));
    expect(all[after]).toEqual(grabs(after, ['u9'])[0]);
    expect((await store.grabs('room-1', 'aa03', 2)).map((g) => g.slot)[0]).toBe(2);
  });

  it('red packet store contract - many batches and long ids read back whole', async () => {
    const { store } = stores;
    await store.create(packet('aa04', { count: 600, shares: Array(600).fill(1), totalCents: 600 }));
    const long = 'u'.repeat(maxUserIdLength - 4);
    let at = 0;
    for (const size of [256, 256, 1, 87]) {
      const users = Array.from({ length: size }, (_, i) => `${long}${String(at + i).padStart(4, '0')}`);
      expect(await store.appendGrabs('room-1', 'aa04', at, grabs(at, users))).toBe(true);
      at += size;
    }
    const all = await (await stores.other()).grabs('room-1', 'aa04');
    expect(all).toHaveLength(600);
    expect(new Set(all.map((g) => g.userId)).size).toBe(600);
    expect(all[599]?.userId).toBe(`${long}0599`);
  });

  it('red packet store contract - the biggest batches the service writes fit: most grabs, and the most bytes with the longest escaped ids', async () => {
    const { store } = stores;
    await store.create(packet('aa07', { count: 4_000, shares: Array(4_000).fill(1), totalCents: 4_000 }));
    const many = Array.from({ length: maxGrabBatch }, (_, i) => `viewer-${i}`);
    expect(await store.appendGrabs('room-1', 'aa07', 0, grabs(0, many))).toBe(true);
    // Ids and names of characters JSON writes as \uXXXX, as many as the byte bound lets into one batch.
    const odd = (i: number, n: number): string => `${i}`.padStart(8, '0') + '\u0001'.repeat(n - 8);
    const heavy: GrabRecord[] = [];
    for (let bytes = 0, i = 0; bytes < maxGrabBatchBytes; i++) {
      const g = { userId: odd(i, maxUserIdLength), name: odd(i, 64), slot: maxGrabBatch + i, amountCents: 1, atMs: 1_700_000_000_000 };
      heavy.push(g);
      bytes += grabBytes(g.userId, g.name);
    }
    expect(await store.appendGrabs('room-1', 'aa07', maxGrabBatch, heavy)).toBe(true);
    const all = await (await stores.other()).grabs('room-1', 'aa07');
    expect(all).toHaveLength(maxGrabBatch + heavy.length);
    expect(all.at(-1)?.userId).toBe(heavy.at(-1)?.userId);
  });

  it('red packet store contract - unended lists the packets without an end seq', async () => {
    const { store } = stores;
    await store.create(packet('aa05'));
    await store.create(packet('aa06'));
    await store.update({ ...packet('aa06'), endedSeq: 3 });
    const open = (await (await stores.other()).unended()).map((p) => p.id);
    expect(open).toContain('aa05');
    expect(open).not.toContain('aa06');
  });
});
