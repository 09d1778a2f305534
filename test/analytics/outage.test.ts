/**
 * A ClickHouse outage in the middle of a stream: the server is killed while
 * 100,000 events flow in and started again; every event must be stored
 * exactly once, counted once by the rollup, and the buffer must have spilled
 * to disk rather than grown without bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { BusEventSource } from '../../core/analytics/analytics-source.js';
import { migrate } from '../../core/analytics/analytics-schema.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { subjects } from '../../domain/subjects.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';
import { startClickHouse } from './clickhouse-server.js';
import type { TestClickHouse } from './clickhouse-server.js';
import { stream } from './events.js';

const db = 'barrage';
const total = 100_000;

describe('analytics sink - ClickHouse outage', () => {
  let server: TestClickHouse;
  let store: ClickHouseStore;
  const spillDir = mkdtempSync(join(tmpdir(), 'barrage-spill-'));

  beforeAll(async () => {
    server = await startClickHouse();
    store = new ClickHouseStore({ url: server.url, requestTimeoutMs: 5_000 });
    await migrate(store, db);
  });
  afterAll(async () => {
    await store?.close();
    await server?.destroy();
    rmSync(spillDir, { recursive: true, force: true });
  });

  it('outage - server killed and restarted during 100,000 events: every event stored once', async () => {
    const bus = new MemoryBus();
    const sink = new AnalyticsSink(new BusEventSource(bus), store, {
      database: db,
      maxBatchEvents: 5_000,
      flushMs: 50,
      maxMemoryBytes: 1 << 20, // small, so the outage spills to disk
      spillDir,
      retryMinMs: 50,
      retryMaxMs: 500,
    });
    sink.start();
    const t0 = Date.UTC(2025, 0, 15, 12, 0, 0);
    const events = stream(total, t0);
    let published = 0;
    let spilledFiles = 0;
    const publishChunk = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const next = events.next();
        if (next.done) return;
        bus.publish(subjects.events('load'), next.value);
        published++;
      }
    };
    // ~4 s of traffic at 25,000 events/s; the server is down from ~1 s to ~2.5 s.
    for (let tick = 0; published < total; tick++) {
      publishChunk(2_500);
      if (tick === 10) await server.stop();
      if (tick === 22) {
        spilledFiles = readdirSync(spillDir).length;
        await server.start();
      }
      await sleep(100);
    }
    await bus.flush();
    await sink.flush();
    const stats = sink.stats();
    await sink.stop();
    await bus.close();

    expect(published).toBe(total);
    expect(stats.failures).toBeGreaterThan(0); // the outage was seen
    expect(stats.spilledBatches).toBeGreaterThan(0); // and the buffer stayed bounded
    expect(spilledFiles).toBeGreaterThan(0);
    expect(stats.droppedEvents).toBe(0);
    expect(stats.inserted).toBe(total);
    expect(readdirSync(spillDir)).toEqual([]); // spill files removed once stored

    const [raw] = await store.query<Record<string, string>>(
      `SELECT count() AS c, uniqExact(room, seq) AS u FROM ${db}.events FINAL WHERE room LIKE 'load-%'`,
    );
    expect(Number(raw?.['c'])).toBe(total);
    expect(Number(raw?.['u'])).toBe(total);
    const [roll] = await store.query<Record<string, string>>(
      `SELECT sum(danmaku) + sum(gift_events) AS n, sum(revenue_cents) AS revenue FROM ${db}.room_minute FINAL WHERE room LIKE 'load-%'`,
    );
    expect(Number(roll?.['n'])).toBe(total);
    expect(Number(roll?.['revenue'])).toBe((total / 50) * 100);
  });
});
