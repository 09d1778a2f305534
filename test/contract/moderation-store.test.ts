/**
 * The `ModerationStore` contract, run against the in-memory store (one
 * process) and the NATS KV store (a real nats-server, a fresh bucket per
 * test). "Another process" is a second store on its own connection to the
 * same bucket (a core writing, an edge watching); in one process it is the
 * same store.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { emptyModeration } from '../../domain/moderation-state.js';
import type { RoomModeration } from '../../domain/moderation-state.js';
import { globalFilter } from '../../domain/moderation-store.js';
import type { ModerationStore, ModerationWatcher } from '../../domain/moderation-store.js';
import { MemoryModerationStore } from '../../domain/moderation-store-memory.js';
import { KvModerationStore } from '../../domain/moderation-store-kv.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

interface Stores {
  /** The writer (core). */
  store: ModerationStore;
  /** Another process's store on the same data (an edge); in one process the same store. */
  other(): Promise<ModerationStore>;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  open(): Promise<Stores>;
}

let nats: NatsSetup | undefined;
const connections: NatsConnection[] = [];
let bucketCounter = 0;

const implementations: Implementation[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryModerationStore();
      return { store, other: async () => store, close: () => store.close() };
    },
  },
  {
    name: 'kv',
    async open() {
      const bucket = `CONTRACT_MOD_${++bucketCounter}`;
      const opened: KvModerationStore[] = [];
      const openOne = async (): Promise<KvModerationStore> => {
        const nc = await connect({ servers: (nats as NatsSetup).urls });
        connections.push(nc);
        const s = await KvModerationStore.open(nc, { bucket, replicas: 1 });
        opened.push(s);
        return s;
      };
      const store = await openOne();
      return {
        store,
        other: openOne,
        async close() {
          for (const s of opened) await s.close();
        },
      };
    },
  },
];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const nc of connections) await nc.close();
  await nats?.stop();
});

function state(room: string, seq: number, slowSeconds = 0): RoomModeration {
  return { ...emptyModeration(room), seq, slowSeconds };
}

/** A watcher that keeps the latest state per room and the latest rules per key. */
function recorder(): ModerationWatcher & { states: Map<string, RoomModeration>; filters: Map<string, v1.FilterRules> } {
  const states = new Map<string, RoomModeration>();
  const filters = new Map<string, v1.FilterRules>();
  return {
    states,
    filters,
    onState: (s) => states.set(s.room, s),
    onFilter: (room, rules) => filters.set(room, rules),
  };
}

describe.each(implementations)('moderation store contract - $name', (impl) => {
  let stores: Stores;

  beforeEach(async () => {
    stores = await impl.open();
  });
  afterEach(async () => {
    await stores?.close();
  });

  it('moderation store contract - nothing stored reads as undefined', async () => {
    expect(await stores.store.getState('nobody')).toBeUndefined();
    expect(await stores.store.getFilter('nobody')).toBeUndefined();
    expect(await stores.store.getFilter(globalFilter)).toBeUndefined();
  });

  it('moderation store contract - a watch gets every stored entry before it resolves, then every change', async () => {
    const { store } = stores;
    const banned = state('r1', 3, 10);
    banned.bans.set('troll', Date.now() + 60_000);
    expect(await store.putState(banned)).toBe(true);
    expect(await store.putState(state('r2', 1))).toBe(true);
    await store.putFilter('r1', new v1.FilterRules({ terms: ['spoiler'] }));
    await store.putFilter(globalFilter, new v1.FilterRules({ terms: ['scam*'] }));

    const edge = await stores.other();
    const seen = recorder();
    await edge.watch(seen);
    expect([...seen.states.keys()].sort()).toEqual(['r1', 'r2']);
    expect(seen.states.get('r1')).toMatchObject({ seq: 3, slowSeconds: 10 });
    expect([...(seen.states.get('r1')?.bans.keys() ?? [])]).toEqual(['troll']);
    expect(seen.filters.get('r1')?.terms).toEqual(['spoiler']);
    expect(seen.filters.get(globalFilter)?.terms).toEqual(['scam*']);

    expect(await store.putState(state('r1', 4, 0))).toBe(true);
    await store.putFilter('r3', new v1.FilterRules({ patterns: ['a+b'] }));
    await expect.poll(() => seen.states.get('r1')?.seq).toBe(4);
    await expect.poll(() => seen.filters.get('r3')?.patterns).toEqual(['a+b']);
    expect(seen.states.get('r1')?.slowSeconds).toBe(0);
  });

  it('moderation store contract - putState stores only a newer state: an equal or older seq is refused and changes nothing', async () => {
    const { store } = stores;
    expect(await store.putState(state('r', 5, 5))).toBe(true);
    expect(await store.putState(state('r', 5, 6))).toBe(false);
    expect(await store.putState(state('r', 3, 7))).toBe(false);
    expect(await store.getState('r')).toMatchObject({ seq: 5, slowSeconds: 5 });
    expect(await store.putState(state('r', 6, 8))).toBe(true);
    expect(await store.getState('r')).toMatchObject({ seq: 6, slowSeconds: 8 });
  });

  it('moderation store contract - putState takes the state as it was when called; later changes are not stored', async () => {
    const s = state('r', 1, 5);
    const writing = stores.store.putState(s);
    s.slowSeconds = 99;
    s.bans.set('late', Date.now() + 60_000);
    expect(await writing).toBe(true);
    const stored = await stores.store.getState('r');
    expect(stored?.slowSeconds).toBe(5);
    expect(stored?.bans.size).toBe(0);
  });

  it('moderation store contract - two cores writing one room at once: the newest state wins whatever order the writes land in', async () => {
    // Each core has one write of a room in flight at a time (what ModerationService does); the two race each other.
    const a = stores.store;
    const b = await stores.other();
    const watcher = recorder();
    await b.watch(watcher);
    const core = async (store: ModerationStore, parity: number): Promise<boolean[]> => {
      const results: boolean[] = [];
      for (let seq = 1 + parity; seq <= 30; seq += 2) results.push(await store.putState(state('race', seq, seq)));
      return results;
    };
    const [odd, even] = await Promise.all([core(a, 0), core(b, 1)]);
    expect(even.at(-1)).toBe(true); // seq 30: nothing newer exists, so it is stored
    expect(odd.length + even.length).toBe(30);
    expect(await a.getState('race')).toMatchObject({ seq: 30, slowSeconds: 30 });
    expect(await b.getState('race')).toMatchObject({ seq: 30, slowSeconds: 30 });
    await expect.poll(() => watcher.states.get('race')?.seq).toBe(30);
  });

  it('moderation store contract - filter rules are per room, the global rules apart from every room, last write wins', async () => {
    const { store } = stores;
    await store.putFilter('r', new v1.FilterRules({ terms: ['one'], updatedMs: 1 }));
    await store.putFilter('r', new v1.FilterRules({ terms: ['two'], updatedMs: 2 }));
    await store.putFilter(globalFilter, new v1.FilterRules({ terms: ['everywhere'] }));
    expect(await store.getFilter('r')).toMatchObject({ terms: ['two'] });
    expect(Number((await store.getFilter('r'))?.updatedMs)).toBe(2);
    expect((await store.getFilter(globalFilter))?.terms).toEqual(['everywhere']);
    expect(await store.getFilter('other')).toBeUndefined();
  });
});
