/**
 * Sustained analytics ingest: danmaku (1 in 50 a gift) published on the
 * in-process bus at a fixed rate across many rooms, consumed by the sink and
 * written to a ClickHouse server. Reports the rate the store accepted, the
 * sink's buffer and the process memory, once a second and at the end.
 *
 * First, as the reference measured in the same run, the server's own
 * ceiling: the same rows, formatted beforehand, inserted in the sink's batch
 * size one request after another with no per-event work in Node
 * (`--reference-seconds 0` skips it).
 *
 *   node --import tsx bench/analytics/run.ts [--rate 250000] [--seconds 20] [--rooms 200]
 *
 * Starts its own ClickHouse server (as the tests do) unless
 * BARRAGE_CLICKHOUSE_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { BusEventSource } from '../../core/analytics/analytics-source.js';
import { eventRow } from '../../core/analytics/analytics-rows.js';
import { eventColumns, migrate } from '../../core/analytics/analytics-schema.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';
import { startClickHouse } from '../../test/analytics/clickhouse-server.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '250000' },
    seconds: { type: 'string', default: '20' },
    rooms: { type: 'string', default: '200' },
    'reference-seconds': { type: 'string', default: '10' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const rooms = Number(values.rooms);
const referenceSeconds = Number(values['reference-seconds']);

const server = process.env['BARRAGE_CLICKHOUSE_URL'] ? undefined : await startClickHouse();
const url = process.env['BARRAGE_CLICKHOUSE_URL'] ?? (server?.url as string);
const store = new ClickHouseStore({ url });
const db = 'barrage_bench';
await store.exec(`DROP DATABASE IF EXISTS ${db}`);
await migrate(store, db);
const version = await store.version();
const spillDir = mkdtempSync(join(tmpdir(), 'barrage-bench-spill-'));

const roomNames = Array.from({ length: rooms }, (_, i) => `bench-${i}`);
const subjectsByRoom = roomNames.map((r) => subjects.events(r));
const texts = ['233', 'gg', 'hype hype', 'nice play', 'lol', '哈哈哈', 'first time here', 'pog'];

/** The `n`th event of the stream (room `n % rooms`, its next seq), encoded. */
function eventAt(n: number, seqs: number[]): Uint8Array {
  const r = n % rooms;
  const seq = ++(seqs[r] as number);
  const user = { id: `u${n % 5000}`, name: `viewer ${n % 5000}`, role: 1 };
  const e =
    n % 50 === 49
      ? {
          room: roomNames[r],
          seq,
          tsMs: Date.now(),
          gift: { id: `g${n}`, user, giftId: 'heart', name: 'Heart', count: 1, priceCents: 100 },
        }
      : { room: roomNames[r], seq, tsMs: Date.now(), danmaku: { id: seq.toString(36), user, text: texts[n % texts.length] } };
  return v1.Event.encode(e).finish();
}

/**
 * The server's ceiling for these rows: ten 50,000-row batches formatted
 * once, inserted in turn into a scratch database for `secs` seconds.
 */
async function referenceRate(secs: number): Promise<number> {
  const scratch = `${db}_raw`;
  await store.exec(`DROP DATABASE IF EXISTS ${scratch}`);
  await migrate(store, scratch);
  const seqs = new Array<number>(rooms).fill(0);
  const payloads: Buffer[] = [];
  for (let b = 0, n = 0; b < 10; b++) {
    const rows: string[] = [];
    for (let i = 0; i < 50_000; i++, n++) rows.push(`${eventRow(eventAt(n, seqs), Date.now())}\tref-${b}\n`);
    payloads.push(Buffer.from(rows.join('')));
  }
  let rows = 0;
  const start = Date.now();
  for (let i = 0; Date.now() - start < secs * 1000; i++) {
    await store.insertTsv(`${scratch}.events`, eventColumns, payloads[i % payloads.length] as Buffer, `ref-${i}`);
    rows += 50_000;
  }
  const rate = Math.round(rows / ((Date.now() - start) / 1000));
  await store.exec(`DROP DATABASE ${scratch}`);
  return rate;
}

const referenceRowsPerSec = referenceSeconds > 0 ? await referenceRate(referenceSeconds) : undefined;
if (referenceRowsPerSec) console.log(`reference: ClickHouse alone accepted ${referenceRowsPerSec} rows/s of pre-formatted batches`);

const bus = new MemoryBus();
const sink = new AnalyticsSink(new BusEventSource(bus), store, { database: db, spillDir });
sink.start();

const seqs = new Array<number>(rooms).fill(0);
let published = 0;
const t0 = Date.now();

function publish(n: number): void {
  for (let i = 0; i < n; i++) {
    bus.publish(subjectsByRoom[published % rooms] as string, eventAt(published, seqs));
    published++;
  }
}

let peakRss = 0;
let peakHeap = 0;
let peakQueued = 0;
const tickMs = 10;
const perTick = Math.round((rate * tickMs) / 1000);
let lastReport = t0;
let lastInserted = 0;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    if (elapsed >= seconds * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    // Catch up to the schedule, so a slow tick does not lower the offered rate.
    const due = Math.floor((elapsed / 1000) * rate) - published;
    publish(Math.min(Math.max(due, 0), perTick * 20));
    const now = Date.now();
    if (now - lastReport >= 1000) {
      const s = sink.stats();
      const mem = process.memoryUsage();
      peakRss = Math.max(peakRss, mem.rss);
      peakHeap = Math.max(peakHeap, mem.heapUsed);
      peakQueued = Math.max(peakQueued, s.queuedEvents);
      console.log(
        `${((now - t0) / 1000).toFixed(0).padStart(3)} s  published ${published}  inserted/s ${Math.round(((s.inserted - lastInserted) * 1000) / (now - lastReport))}  queued ${s.queuedEvents}  spilled ${s.spilledBatches}  rss ${(mem.rss / 2 ** 20).toFixed(0)} MB  heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB`,
      );
      lastReport = now;
      lastInserted = s.inserted;
    }
  }, tickMs);
});
const publishEnd = Date.now();
await bus.flush();
await sink.flush();
const drained = Date.now();
const s = sink.stats();
const [count] = await store.query<{ c: string }>(`SELECT count() AS c FROM ${db}.events FINAL`);
const result = {
  clickhouse: version,
  offeredRate: rate,
  seconds,
  rooms,
  published,
  inserted: s.inserted,
  rowsInTable: Number(count?.c),
  batches: s.batches,
  sustainedRate: Math.round(s.inserted / ((drained - t0) / 1000)),
  referenceRowsPerSec,
  drainAfterPublishMs: drained - publishEnd,
  peakQueuedEvents: peakQueued,
  spilledBatches: s.spilledBatches,
  droppedEvents: s.droppedEvents,
  peakRssMB: Math.round(peakRss / 2 ** 20),
  peakHeapMB: Math.round(peakHeap / 2 ** 20),
};
console.log(JSON.stringify(result, null, 2));
await sink.stop();
await bus.close();
await store.close();
await server?.destroy();
rmSync(spillDir, { recursive: true, force: true });
