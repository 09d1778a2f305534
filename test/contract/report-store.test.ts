/**
 * The `ReportStore` contract, run against the memory store (one process) and
 * the NATS KV store (a real nats-server, a fresh bucket per test): records per
 * room, changes that decide not to write, and compare-and-set under racing
 * writers, so no reporter is lost and exactly one writer crosses a threshold.
 *
 * "Another core" is a second store on its own connection to the same bucket;
 * in one process it is the same store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import type { ReportStore } from '../../core/reports/report-store.js';
import { KvReportStore } from '../../core/reports/report-store-kv.js';
import { MemoryReportStore } from '../../core/reports/report-store-memory.js';
import { memoryAndKv } from './memory-and-kv.js';
import type { Stores } from './memory-and-kv.js';

const implementations = memoryAndKv<ReportStore>({
  memory: () => new MemoryReportStore(),
  kv: (nc, bucket) => KvReportStore.open(nc, { replicas: 1, bucket }),
  bucketPrefix: 'CONTRACT_REPORTS_',
});

/** The change a filing makes: adds `reporter` unless there; with `threshold`, marks the record held when it reaches it. */
const addReporter =
  (room: string, id: string, reporter: string, crossed?: { by: string[] }, threshold = 0) =>
  (current: v1.ReportRecord | undefined): v1.ReportRecord | undefined => {
    const ids = [...(current?.reporterIds ?? [])];
    if (ids.includes(reporter)) return undefined;
    ids.push(reporter);
    const entry: v1.IReported = { ...(current?.entry ?? { reportId: id, room, danmakuId: id }), reporters: ids.length };
    if (crossed) crossed.by = crossed.by.filter((r) => r !== reporter);
    if (threshold > 0 && ids.length >= threshold && !current?.entry?.holdId) {
      entry.holdId = `report-${id}`;
      crossed?.by.push(reporter);
    }
    return new v1.ReportRecord({ entry, reporterIds: ids, reportedMs: ids.map(() => Date.now()) });
  };

describe.each(implementations)('report store contract - $name', (impl) => {
  let stores: Stores<ReportStore>;

  beforeEach(async () => {
    stores = await impl.open();
  });
  afterEach(async () => {
    await stores?.close();
  });

  it('report store contract - records are created, read, listed per room, and a change may decline to write', async () => {
    const { store } = stores;
    expect(await store.get('room-a', '1z')).toBeUndefined();
    const first = await store.update('room-a', '1z', addReporter('room-a', '1z', 'alice'));
    expect(first.written).toBe(true);
    expect(first.record?.reporterIds).toEqual(['alice']);
    // The same reporter again: the change declines, nothing is written, the stored record is answered.
    const again = await store.update('room-a', '1z', addReporter('room-a', '1z', 'alice'));
    expect(again).toMatchObject({ written: false, record: { reporterIds: ['alice'] } });
    await store.update('room-a', '2a', addReporter('room-a', '2a', 'bob'));
    // A room whose id starts like another's is another room.
    await store.update('room-ab', '1z', addReporter('room-ab', '1z', 'carol'));
    const other = await stores.other();
    expect((await other.get('room-a', '1z'))?.entry?.reporters).toBe(1);
    expect((await other.list('room-a')).map((r) => r.entry?.danmakuId).sort()).toEqual(['1z', '2a']);
    expect((await other.list('room-ab')).map((r) => r.reporterIds)).toEqual([['carol']]);
    expect(await other.list('room-none')).toEqual([]);
  });

  it('report store contract - twenty reporters racing through two cores are all counted, and one of them crosses the threshold', async () => {
    const [a, b] = [stores.store, await stores.other()];
    const crossed = { by: [] as string[] };
    const reporters = Array.from({ length: 20 }, (_, i) => `viewer-${i}`);
    await Promise.all(reporters.map((r, i) => (i % 2 ? a : b).update('race', '9k', addReporter('race', '9k', r, crossed, 5))));
    const stored = await a.get('race', '9k');
    expect([...(stored?.reporterIds ?? [])].sort()).toEqual([...reporters].sort());
    expect(stored?.entry?.reporters).toBe(20);
    expect(stored?.entry?.holdId).toBe('report-9k');
    // Exactly one written change made the transition.
    expect(crossed.by).toHaveLength(1);
  });
});
