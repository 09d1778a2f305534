/**
 * The clustered analytics path: how fast the durable JetStream consumer
 * (`barrage-analytics` on `BARRAGE_ROOMS`) feeds a backlog through the sink
 * into a ClickHouse server, acknowledging each event after its batch was
 * accepted. The stream is filled first (danmaku across many rooms, one in 50
 * a gift, as `bench/analytics/run.ts` publishes them), then the sink starts
 * and the drain is timed: that is the most one sink can take from the bus,
 * without a publisher sharing its process.
 *
 *   node --import tsx bench/analytics/jetstream.ts [--events 500000] [--rooms 200]
 *
 * Starts its own nats-server and ClickHouse server unless
 * BARRAGE_CLICKHOUSE_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { migrate } from '../../core/analytics/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { JetStreamEventSource } from '../../core/analytics/analytics-source-jetstream.js';
import { NatsBus } from '../../domain/bus-nats.js';
import { createLogger } from '../../domain/logger.js';
import { JetStreamSequencer } from '../../core/sequencing/sequencer-jetstream.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';
import { logSubjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';
import { startClickHouse } from '../../test/analytics/clickhouse-server.js';
import { startNats } from '../../test/nats/helpers/nats-server.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    rooms: { type: 'string', default: '200' },
  },
});
const total = Number(values.events);
const rooms = Number(values.rooms);
const logger = createLogger('warn');

const server = process.env['BARRAGE_CLICKHOUSE_URL'] ? undefined : await startClickHouse();
const store = new ClickHouseStore({ url: process.env['BARRAGE_CLICKHOUSE_URL'] ?? (server?.url as string) });
const db = 'barrage_bench_js';
await store.exec(`DROP DATABASE IF EXISTS ${db}`);
await migrate(store, db);

const nats = await startNats();
const bus = await NatsBus.connect({ servers: nats.urls, name: 'bench-analytics' });
// The room stream exactly as core's sequencer configures it (retention, republish);
// the sequencer itself is not started, so nothing else runs in this process.
const sequencer = new JetStreamSequencer(bus, bus.nc, { retainEvents: total, joinHistory: 20, replicas: 1, maxAgeSeconds: 3600, logger });
const jsm = await jetstreamManager(bus.nc);
await jsm.streams.add(sequencer.streamConfig());

// Fill the stream: stored events as the sequencer writes them, acknowledged
// publishes with many in flight (plain publishes this fast are dropped by the
// server's ingest queue), then the stream is checked to hold every one.
const texts = ['233', 'gg', 'hype hype', 'nice play', 'lol', '哈哈哈', 'first time here', 'pog'];
const seqs = new Array<number>(rooms).fill(0);
const js = jetstream(bus.nc, { timeout: 30_000 });
const fillStart = Date.now();
let inFlight: Array<Promise<unknown>> = [];
for (let n = 0; n < total; n++) {
  const r = n % rooms;
  const seq = ++(seqs[r] as number);
  const user = { id: `u${n % 5000}`, name: `viewer ${n % 5000}`, role: 1 };
  const gift = n % 50 === 49;
  const e = gift
    ? { room: `bench-${r}`, seq, tsMs: Date.now(), gift: { id: `g${n}`, user, giftId: 'heart', name: 'Heart', count: 1, priceCents: 100 } }
    : { room: `bench-${r}`, seq, tsMs: Date.now(), danmaku: { id: seq.toString(36), user, text: texts[n % texts.length] } };
  inFlight.push(js.publish(logSubjects.log(`bench-${r}`, gift ? 'paid' : 'chat'), v1.Event.encode(e).finish()));
  if (inFlight.length >= 5_000) {
    await Promise.all(inFlight);
    inFlight = [];
  }
}
await Promise.all(inFlight);
for (let tries = 0; (await jsm.streams.info('BARRAGE_ROOMS')).state.messages < total; tries++) {
  if (tries > 300) throw new Error(`the stream stored ${(await jsm.streams.info('BARRAGE_ROOMS')).state.messages} of ${total} events`);
  await new Promise((r) => setTimeout(r, 100));
}
const fillMs = Date.now() - fillStart;
console.log(`stream filled: ${total} events in ${fillMs} ms (${Math.round(total / (fillMs / 1000))}/s)`);

const spillDir = mkdtempSync(join(tmpdir(), 'barrage-bench-js-spill-'));
const source = new JetStreamEventSource(bus, bus.nc, { logger });
const sink = new AnalyticsSink(source, store, { database: db, spillDir, logger });
const t0 = Date.now();
sink.start();
let peakRss = 0;
let last = t0;
let lastInserted = 0;
while (sink.stats().inserted < total) {
  await new Promise((r) => setTimeout(r, 20));
  const s = sink.stats();
  const now = Date.now();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (now - last < 1000 && s.inserted < total) continue;
  console.log(
    `${((now - t0) / 1000).toFixed(0).padStart(3)} s  inserted ${s.inserted}  inserted/s ${Math.round(((s.inserted - lastInserted) * 1000) / (now - last))}  queued ${s.queuedEvents}  paused ${s.paused}  rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
  );
  last = now;
  lastInserted = s.inserted;
  if (now - t0 > 300_000) break;
}
const drainMs = Date.now() - t0;
// The last batch's acks go out after its insert; give them a moment to reach the server.
await new Promise((r) => setTimeout(r, 500));
const info = await jsm.consumers.info('BARRAGE_ROOMS', 'barrage-analytics');
const [count] = await store.query<{ c: string }>(`SELECT count() AS c FROM ${db}.events FINAL`);
const s = sink.stats();
console.log(
  JSON.stringify(
    {
      clickhouse: await store.version(),
      events: total,
      fillRatePerSec: Math.round(total / (fillMs / 1000)),
      inserted: s.inserted,
      rowsInTable: Number(count?.c),
      drainMs,
      drainRatePerSec: Math.round(s.inserted / (drainMs / 1000)),
      ackPending: info.num_ack_pending,
      pending: info.num_pending,
      acked: source.stats.acked,
      peakRssMB: Math.round(peakRss / 2 ** 20),
      spilledBatches: s.spilledBatches,
      droppedEvents: s.droppedEvents,
    },
    null,
    2,
  ),
);
await sink.stop();
await bus.close();
await nats.stop();
await store.close();
await server?.destroy();
rmSync(spillDir, { recursive: true, force: true });
