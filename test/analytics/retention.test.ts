/**
 * Retention on both analytics stores: a real ClickHouse 18.16 server (which
 * has no table TTL) and chDB. Old partitions of every time-partitioned table
 * are dropped, recent ones kept; 0 days keeps everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnalytics } from '../../core/analytics/analytics.js';
import { AnalyticsRetention } from '../../core/analytics/analytics-retention.js';
import { migrate } from '../../core/analytics/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { BusEventSource } from '../../core/analytics/analytics-source.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { encode } from './events.js';
import { analyticsEngines } from './engines.js';
import { startClickHouse } from './clickhouse-server.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';

const db = 'barrage_retention';
const day = 86_400_000;
const now = Date.now();

const engines = analyticsEngines('retention');

/** A danmaku and a mute (which also lands in the audit log) in `room`, `ageDays` ago. */
function eventsAged(room: string, ageDays: number): Uint8Array[] {
  const tsMs = now - ageDays * day;
  return [
    encode({ room, seq: 1, tsMs, danmaku: { id: 'd1', user: { id: 'u' }, text: `said ${ageDays} days ago` } }),
    encode({ room, seq: 2, tsMs: tsMs + 1, mute: { userId: 'u', seconds: 60 }, actor: { id: 'mod' } }),
  ];
}

/** Writes events through the real sink, as core does. */
async function ingest(store: AnalyticsStore, events: Uint8Array[]): Promise<void> {
  const bus = new MemoryBus();
  const sink = new AnalyticsSink(new BusEventSource(bus), store, { database: db, flushMs: 20 });
  sink.start();
  for (const e of events) bus.publish(subjects.events('x'), e);
  await bus.flush();
  await sink.flush();
  await sink.stop();
  await bus.close();
}

/** Rows per room in each retained table. */
async function rowsByRoom(store: AnalyticsStore): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const table of ['events', 'room_minute', 'audit']) {
    const rows = await store.query<{ room: string; c: string }>(
      `SELECT room, count() AS c FROM ${db}.${table} GROUP BY room ORDER BY room`,
    );
    out[table] = Object.fromEntries(rows.map((r) => [r.room, Number(r.c)]));
  }
  return out;
}

describe.each(engines)('analytics retention on $name', (engine) => {
  let store: AnalyticsStore;

  beforeAll(async () => {
    store = await engine.open();
    await migrate(store, db);
    await ingest(store, [...eventsAged('ancient', 200), ...eventsAged('old', 92), ...eventsAged('recent', 89), ...eventsAged('today', 0)]);
  });
  afterAll(async () => {
    await store?.close();
    await engine.close();
  });

  it('retention - 0 days keeps every row', async () => {
    const before = await rowsByRoom(store);
    expect(before['events']).toEqual({ ancient: 2, old: 2, recent: 2, today: 2 });
    expect(await new AnalyticsRetention(store, { database: db, ttlDays: 0 }).sweep()).toEqual({});
    expect(await rowsByRoom(store)).toEqual(before);
  });

  it('retention - partitions past the retention are dropped from events, rollup and audit; newer rows stay', async () => {
    const retention = new AnalyticsRetention(store, { database: db, ttlDays: 90 });
    const report = await retention.sweep();
    expect(report['events']?.length).toBe(2); // the days of 'ancient' and 'old'
    const after = await rowsByRoom(store);
    expect(after['events']).toEqual({ recent: 2, today: 2 });
    expect(after['room_minute']).toEqual({ recent: 1, today: 1 });
    // The audit log is cut by month: 200 days ago is gone; 92 days ago may share a month with the cutoff.
    expect(after['audit']?.['ancient']).toBeUndefined();
    expect(after['audit']?.['today']).toBe(1);
    expect(after['audit']?.['recent']).toBe(1);
    // A second sweep finds nothing more to drop.
    expect(await retention.sweep()).toEqual({});
  });
});

describe('analytics retention - wiring', () => {
  it('retention - startAnalytics drops old partitions at start when ttlDays is set', async () => {
    const ch = await startClickHouse();
    const store = new ClickHouseStore({ url: ch.url });
    try {
      await migrate(store, db);
      await ingest(store, [...eventsAged('ancient', 400), ...eventsAged('today', 0)]);
      const analytics = startAnalytics(
        { clickhouseUrl: ch.url, chdbPath: '', database: db, spillDir: '', apiKey: 'k', ttlDays: 30 },
        new BusEventSource(new MemoryBus()),
        createLogger('silent'),
      );
      await expect.poll(async () => (await rowsByRoom(store))['events'], { timeout: 20_000, interval: 100 }).toEqual({ today: 2 });
      await analytics.stop();
    } finally {
      await store.close();
      await ch.destroy();
    }
  });
});
