/**
 * The sink's batching, bounding and spilling logic, against an in-memory
 * store that records what it is given (the real engines are exercised in
 * test/analytics). Rows are parsed back from the exact bytes the store got.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import type { SinkOptions } from '../../core/analytics/analytics-sink.js';
import type { EventSource, SourceDeliver } from '../../core/analytics/analytics-source.js';
import { AnalyticsEngine } from '../../core/analytics/analytics-store.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { encode } from '../analytics/events.js';

/** Records every insert; fails while `down` is set. */
class MemoryStore implements AnalyticsStore {
  readonly engine = AnalyticsEngine.ClickHouse;
  readonly inserts: Array<{ token: string; payload: Buffer }> = [];
  down = false;
  attempts = 0;
  /** What the existence query of redelivered batches answers (the SQL itself is tested on the real engines). */
  existing: Array<{ room: string; seq: number }> = [];
  queries: string[] = [];
  async version(): Promise<string> {
    return '18.16.1';
  }
  async exec(): Promise<void> {}
  async query<T>(sql: string): Promise<T[]> {
    if (this.down) throw new Error('store down');
    this.queries.push(sql);
    return this.existing as T[];
  }
  async insertTsv(_table: string, _columns: readonly string[], payload: Buffer, token: string): Promise<void> {
    this.attempts++;
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new Error('store down');
    this.inserts.push({ token, payload: Buffer.from(payload) });
  }
  async close(): Promise<void> {}

  /** Every stored row as its columns, in insert order. */
  rows(): string[][] {
    return this.inserts.flatMap((i) =>
      i.payload
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')),
    );
  }
}

/** A source the test pushes into; pausable when asked; handles `{ id, redelivered }` when durable. */
class PushSource implements EventSource {
  deliveryOf?: (handle: unknown) => { id: number; redelivered: boolean };
  deliver: SourceDeliver = () => {};
  acked: unknown[] = [];
  paused = false;
  pauses = 0;
  pause?: () => void;
  resume?: () => void;
  constructor(pausable: boolean, durable = false) {
    if (durable) this.deliveryOf = (h) => h as { id: number; redelivered: boolean };
    if (pausable) {
      this.pause = () => {
        this.paused = true;
        this.pauses++;
      };
      this.resume = () => {
        this.paused = false;
      };
    }
  }
  start(deliver: SourceDeliver): void {
    this.deliver = deliver;
  }
  ack(handles: readonly unknown[]): void {
    this.acked.push(...handles);
  }
  async stop(): Promise<void> {}
}

const t0 = Date.UTC(2026, 10, 21, 12);

/** Waits for a condition (generous: CI machines are busy), failing with `what`. */
const until = (check: () => boolean, what: string): Promise<void> =>
  vi.waitFor(
    () => {
      if (!check()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: 5_000, interval: 5 },
  );

function danmaku(i: number, text = `msg ${i}`): Uint8Array {
  return encode({ room: `r${i % 3}`, seq: i + 1, tsMs: t0 + i, danmaku: { id: `d${i}`, user: { id: `u${i}`, name: 'Ann' }, text } });
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-sink-unit-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sinkOf(source: EventSource, store: AnalyticsStore, options: Partial<SinkOptions> = {}): AnalyticsSink {
  return new AnalyticsSink(source, store, { database: 'db', retryMinMs: 1, retryMaxMs: 5, ...options });
}

describe('analytics sink', () => {
  it('batching - rows of many sizes and scripts come out byte-exact, each with its batch id', async () => {
    const store = new MemoryStore();
    const source = new PushSource(false);
    const sink = sinkOf(source, store, { maxBatchEvents: 1_000 });
    sink.start();
    // Multi-byte text, and rows far longer than the sink's 1 MiB buffers, so
    // rows straddle buffer boundaries and one row needs a buffer of its own.
    const texts = ['233', '哈哈哈哈', '🎉🎉', 'x'.repeat(3_000)];
    const huge = '弹'.repeat(400_000);
    const textOf = (i: number): string => (i === 7 || i === 2_500 ? huge : (texts[i % texts.length] as string));
    const n = 5_000;
    for (let i = 0; i < n; i++) source.deliver(danmaku(i, textOf(i)), i);
    await sink.flush();
    const rows = store.rows();
    expect(rows).toHaveLength(n);
    expect(rows.map((r) => r[9])).toEqual(Array.from({ length: n }, (_, i) => textOf(i)));
    expect(rows.map((r) => Number(r[3]))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Each insert is one batch: every row carries that insert's token as its batch column.
    for (const insert of store.inserts) {
      const batches = new Set(
        insert.payload
          .toString('utf8')
          .trimEnd()
          .split('\n')
          .map((l) => l.split('\t').at(-1)),
      );
      expect([...batches]).toEqual([insert.token]);
    }
    expect(store.inserts).toHaveLength(n / 1_000);
    expect(new Set(store.inserts.map((i) => i.token)).size).toBe(store.inserts.length);
    expect(source.acked).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(sink.stats()).toMatchObject({ received: n, inserted: n, queuedEvents: 0, memoryBytes: 0 });
    await sink.stop();
  });

  it('batching - a batch is sealed at its byte limit and on its timer', async () => {
    const store = new MemoryStore();
    const source = new PushSource(false);
    const sink = sinkOf(source, store, { maxBatchBytes: 10_000, flushMs: 20 });
    sink.start();
    for (let i = 0; i < 500; i++) source.deliver(danmaku(i), undefined);
    // The last batch is under the byte limit: only its timer seals it.
    await until(() => store.rows().length === 500, 'the timer to seal the last batch');
    expect(store.inserts.length).toBeGreaterThan(1);
    for (const i of store.inserts.slice(0, -1)) expect(i.payload.length).toBeGreaterThanOrEqual(10_000);
    for (const i of store.inserts) expect(i.payload.length).toBeLessThan(10_000 + 200);
    await sink.stop();
  });

  it('malformed - bytes that are not an event are counted and acknowledged, the rest stored', async () => {
    const store = new MemoryStore();
    const source = new PushSource(false);
    const sink = sinkOf(source, store);
    sink.start();
    source.deliver(new Uint8Array([0xff, 0xff, 0xff]), 'bad');
    source.deliver(encode({ seq: 1, danmaku: { id: 'no-room', text: 'x' } }), 'roomless');
    source.deliver(danmaku(1), 'good');
    await sink.flush();
    expect(store.rows()).toHaveLength(1);
    expect(sink.stats()).toMatchObject({ received: 3, malformed: 2, inserted: 1 });
    expect(source.acked).toEqual(['bad', 'roomless', 'good']);
    await sink.stop();
  });

  it('outage - retries send the same bytes, and nothing is acknowledged before the store accepts', async () => {
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const prepared: boolean[] = [];
    const sink = sinkOf(source, store, { maxBatchEvents: 100, prepare: async (afterFailure) => void prepared.push(afterFailure) });
    sink.start();
    for (let i = 0; i < 300; i++) source.deliver(danmaku(i), i);
    await until(() => sink.stats().failures > 1, 'retries');
    expect(source.acked).toEqual([]);
    store.down = false;
    await sink.flush();
    expect(store.rows()).toHaveLength(300);
    expect(source.acked).toHaveLength(300);
    // The schema is checked before the first insert, and again after each failure (a server that came back empty).
    expect(prepared[0]).toBe(false);
    expect(prepared.slice(1).length).toBeGreaterThan(0);
    expect(prepared.slice(1).every((again) => again)).toBe(true);
    await sink.stop();
  });

  it('memory bound - a pausable source is paused past the limit and resumed once drained', async () => {
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(true);
    const sink = sinkOf(source, store, { maxBatchEvents: 100, maxMemoryBytes: 20_000 });
    sink.start();
    for (let i = 0; i < 1_000; i++) source.deliver(danmaku(i), i);
    expect(source.paused).toBe(true);
    expect(sink.stats().spilledBatches).toBe(0);
    store.down = false;
    await sink.flush();
    expect(source.paused).toBe(false);
    expect(source.pauses).toBe(1);
    expect(store.rows()).toHaveLength(1_000);
    await sink.stop();
  });

  it('memory bound - a bus source spills to disk, and a restarted sink inserts what was spilled', async () => {
    const spillDir = tempDir();
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const options = { maxBatchEvents: 100, maxMemoryBytes: 20_000, spillDir };
    const first = sinkOf(source, store, options);
    first.start();
    for (let i = 0; i < 1_000; i++) source.deliver(danmaku(i), undefined);
    const s = first.stats();
    expect(s.spilledBatches).toBeGreaterThan(0);
    expect(s.memoryBytes).toBeLessThanOrEqual(20_000);
    expect(s.droppedEvents).toBe(0);
    await first.stop(50);
    expect(readdirSync(spillDir).length).toBeGreaterThan(0);
    // What stop wrote out is accounted as spilled, not as memory.
    expect(first.stats().memoryBytes).toBe(0);
    expect(first.stats().spillBytes).toBeGreaterThan(0);
    // An insert attempt in flight when stop gave up ends now (it fails: the store is still down).
    await new Promise((r) => setImmediate(r));

    // A new process: the store is back, the spilled batches are picked up.
    store.down = false;
    const second = sinkOf(new PushSource(false), store, options);
    second.start();
    await second.flush();
    const seqs = store.rows().map((r) => Number(r[3]));
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(readdirSync(spillDir)).toEqual([]);
    await second.stop();
  });

  it('memory bound - spilling never makes the event loop wait for the disk: files appear after delivery returned', async () => {
    const spillDir = tempDir();
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const sink = sinkOf(source, store, { maxBatchEvents: 100, maxMemoryBytes: 20_000, spillDir });
    sink.start();
    for (let i = 0; i < 1_000; i++) source.deliver(danmaku(i), undefined);
    // Accounted as spilled at once, written by the thread pool later.
    expect(sink.stats().spilledBatches).toBeGreaterThan(0);
    expect(readdirSync(spillDir)).toEqual([]);
    await expect
      .poll(() => readdirSync(spillDir).filter((f) => f.endsWith('.tsv')).length, { timeout: 5_000 })
      .toBe(sink.stats().spilledBatches);
    store.down = false;
    await sink.flush();
    expect(store.rows()).toHaveLength(1_000);
    expect(readdirSync(spillDir)).toEqual([]);
    await sink.stop();
  });

  it('memory bound - a spill the disk refuses drops its batch and counts it; the memory bound holds', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'a-file'), 'x');
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const sink = sinkOf(source, store, { maxBatchEvents: 100, maxMemoryBytes: 20_000, spillDir: join(base, 'a-file', 'spill') });
    sink.start();
    for (let i = 0; i < 1_000; i++) source.deliver(danmaku(i), undefined);
    await expect.poll(() => sink.stats().droppedEvents, { timeout: 5_000 }).toBeGreaterThan(0);
    await expect.poll(() => sink.stats().spillBytes, { timeout: 5_000 }).toBe(0);
    expect(sink.stats().memoryBytes).toBeLessThanOrEqual(20_000);
    store.down = false;
    await sink.flush();
    expect(store.rows().length + sink.stats().droppedEvents).toBe(1_000);
    expect(store.rows()[0]?.[3]).toBe('1'); // the head batch was kept
    await sink.stop();
  });

  it('memory bound - a restarted sink reads the spill directory off the loop, and inserts it before anything newer', async () => {
    const spillDir = tempDir();
    const store = new MemoryStore();
    store.down = true;
    const options = { maxBatchEvents: 100, spillDir };
    const before = new PushSource(false);
    const first = sinkOf(before, store, options);
    first.start();
    for (let i = 0; i < 300; i++) before.deliver(danmaku(i), undefined);
    await first.stop(20);
    await new Promise((r) => setImmediate(r));
    expect(readdirSync(spillDir)).toHaveLength(3);

    store.down = false;
    const source = new PushSource(false);
    const second = sinkOf(source, store, options);
    second.start();
    // Nothing was read yet on this turn of the loop.
    expect(second.stats()).toMatchObject({ queuedEvents: 0, spillBytes: 0 });
    for (let i = 300; i < 350; i++) source.deliver(danmaku(i), undefined);
    await second.flush();
    expect(store.rows().map((r) => Number(r[3]))).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    expect(second.stats()).toMatchObject({ inserted: 350, queuedEvents: 0, spillBytes: 0 });
    await second.stop();
  });

  it('memory bound - past the spill limit new batches are dropped and counted, never the one being written', async () => {
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const sink = sinkOf(source, store, { maxBatchEvents: 100, maxMemoryBytes: 20_000, spillDir: tempDir(), maxSpillBytes: 30_000 });
    sink.start();
    for (let i = 0; i < 2_000; i++) source.deliver(danmaku(i), undefined);
    const s = sink.stats();
    expect(s.droppedEvents).toBeGreaterThan(0);
    expect(s.spillBytes).toBeLessThanOrEqual(30_000);
    expect(s.received).toBe(2_000);
    store.down = false;
    await sink.flush();
    const stored = store.rows().length;
    expect(stored + sink.stats().droppedEvents).toBe(2_000);
    expect(store.rows()[0]?.[3]).toBe('1');
    await sink.stop();
  });

  it('redelivery - a second delivery of an event still waiting for the store is left out; the first one is acknowledged', async () => {
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false, true);
    const sink = sinkOf(source, store, { maxBatchEvents: 50 });
    sink.start();
    const first = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, redelivered: false }));
    for (const [i, h] of first.entries()) source.deliver(danmaku(i), h);
    await new Promise((r) => setTimeout(r, 20));
    // The ack wait passed: everything comes again.
    for (const [i, h] of first.entries()) source.deliver(danmaku(i), { id: h.id, redelivered: true });
    expect(sink.stats().skippedRedeliveries).toBe(100);
    store.down = false;
    await sink.flush();
    expect(store.rows().map((r) => Number(r[3]))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(source.acked).toEqual(first);
    // Once stored, the ids are released: a later redelivery is checked against the store instead.
    store.existing = [{ room: 'r1', seq: 2 }];
    source.deliver(danmaku(1), { id: 2, redelivered: true });
    source.deliver(danmaku(1_000), { id: 1_001, redelivered: false });
    await sink.flush();
    expect(store.queries).toHaveLength(1);
    expect(store.queries[0]).toMatch(/room = 'r1' AND seq BETWEEN 2 AND 2/);
    expect(
      store
        .rows()
        .map((r) => Number(r[3]))
        .slice(100),
    ).toEqual([1_001]);
    expect(sink.stats().skippedRedeliveries).toBe(101);
    await sink.stop();
  });

  it('redelivery - redelivered events the store already has are left out, the rest stored, in batches of their own', async () => {
    const store = new MemoryStore();
    // A crashed predecessor stored seqs 1-60 but never acknowledged them.
    store.existing = Array.from({ length: 60 }, (_, i) => ({ room: `r${i % 3}`, seq: i + 1 }));
    const source = new PushSource(false, true);
    const sink = sinkOf(source, store);
    sink.start();
    for (let i = 0; i < 100; i++) source.deliver(danmaku(i), { id: i + 1, redelivered: true });
    for (let i = 100; i < 120; i++) source.deliver(danmaku(i), { id: i + 1, redelivered: false });
    await sink.flush();
    expect(store.rows().map((r) => Number(r[3]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 61));
    expect(store.inserts).toHaveLength(2); // redelivered and fresh events are never mixed in one batch
    expect(sink.stats()).toMatchObject({ skippedRedeliveries: 60, inserted: 60, queuedEvents: 0, memoryBytes: 0 });
    expect(source.acked).toHaveLength(120);
    await sink.stop();
  });

  it('redelivery - a spilled batch of redelivered events is still checked after a restart', async () => {
    const spillDir = tempDir();
    const store = new MemoryStore();
    store.down = true;
    const options = { maxBatchEvents: 10, maxMemoryBytes: 2_000, spillDir };
    const source = new PushSource(false, true);
    const first = sinkOf(source, store, options);
    first.start();
    for (let i = 0; i < 40; i++) source.deliver(danmaku(i), { id: i + 1, redelivered: true });
    await first.stop(50);
    expect(readdirSync(spillDir).some((f) => f.endsWith('.suspect.tsv'))).toBe(true);

    store.down = false;
    store.existing = Array.from({ length: 40 }, (_, i) => ({ room: `r${i % 3}`, seq: i + 1 })).filter((e) => e.seq % 2 === 0);
    const second = sinkOf(new PushSource(false, true), store, options);
    second.start();
    await second.flush();
    expect(
      store
        .rows()
        .map((r) => Number(r[3]))
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    expect(readdirSync(spillDir)).toEqual([]);
    await second.stop();
  });

  it('memory bound - a spilled batch whose file is gone is skipped with a warning, not retried for ever', async () => {
    const spillDir = tempDir();
    const store = new MemoryStore();
    store.down = true;
    const source = new PushSource(false);
    const first = sinkOf(source, store, { maxBatchEvents: 100, spillDir });
    first.start();
    for (let i = 0; i < 300; i++) source.deliver(danmaku(i), undefined);
    await first.stop(20);
    await new Promise((r) => setImmediate(r));
    const files = readdirSync(spillDir).sort();
    expect(files).toHaveLength(3);
    rmSync(join(spillDir, files[0] as string)); // e.g. another process sharing the directory took it
    store.down = false;
    const second = sinkOf(new PushSource(false), store, { maxBatchEvents: 100, spillDir });
    second.start();
    await second.flush();
    expect(store.rows()).toHaveLength(200);
    expect(second.stats()).toMatchObject({ queuedEvents: 0, spillBytes: 0 });
    await second.stop();
  });

  it('counters - a guest flood of made-up rooms stores nothing; a live room its chat and one online row a minute', async () => {
    const store = new MemoryStore();
    const source = new PushSource(false);
    let now = t0;
    const sink = sinkOf(source, store, { flushMs: 5, counterSweepMs: 5, now: () => now });
    sink.start();
    // 2,000 rooms a script made up, each reported online every 2 s for a minute: seq 0, nothing was ever said there.
    for (let s = 0; s < 30; s++)
      for (let r = 0; r < 2_000; r++)
        source.deliver(encode({ room: `made-up-${r}`, seq: 0, tsMs: t0 + s * 2_000, online: { count: 1 } }), undefined);
    // A live room: a danmaku, then online counts rising and falling through the minute.
    source.deliver(encode({ room: 'live', seq: 1, tsMs: t0, danmaku: { id: 'd1', user: { id: 'u' }, text: 'hi' } }), undefined);
    for (let s = 0; s < 30; s++)
      source.deliver(encode({ room: 'live', seq: 1, tsMs: t0 + s * 2_000, online: { count: 100 + (s < 15 ? s : 30 - s) } }), undefined);
    await until(() => store.rows().length === 1, 'the danmaku');
    // The minute ends: the sweep releases the live room's peak, and only that.
    now = t0 + 60_000;
    await until(() => store.rows().length === 2, 'the online peak');
    const rows = store.rows();
    expect(rows.map((r) => [r[0], r[4], r[13]])).toEqual([
      ['live', 'danmaku', '1'],
      ['live', 'online', '115'],
    ]);
    expect(sink.stats()).toMatchObject({ received: 60_031, inserted: 2, malformed: 0, skippedCounters: 60_029 });
    await sink.stop();
  });
});
