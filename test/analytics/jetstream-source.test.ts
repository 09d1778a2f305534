/**
 * The clustered analytics path: a durable JetStream consumer on the room
 * stream feeding the sink, against a real nats-server and chDB. Events are
 * acknowledged only after the store accepted them, so a sink that stops and a
 * new one that starts on the same durable consumer lose nothing and store
 * nothing twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnalyticsQueries } from '../../core/analytics/analytics-queries.js';
import { migrate } from '../../core/analytics/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { JetStreamEventSource } from '../../core/analytics/analytics-source-jetstream.js';
import { NatsBus } from '../../domain/bus-nats.js';
import { createLogger } from '../../domain/logger.js';
import { JetStreamSequencer } from '../../core/sequencing/sequencer-jetstream.js';
import { ChdbStore } from '../../core/analytics/store-chdb.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

const db = 'barrage_js';
const logger = createLogger('silent');

describe('analytics - durable JetStream source', () => {
  let nats: NatsSetup;
  let bus: NatsBus;
  let core: JetStreamSequencer;
  let store: ChdbStore;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-js-analytics-'));

  beforeAll(async () => {
    nats = await startNats();
    bus = await NatsBus.connect({ servers: nats.urls, name: 'core' });
    core = new JetStreamSequencer(bus, bus.nc, { retainEvents: 100_000, joinHistory: 20, replicas: 1, maxAgeSeconds: 3600, logger });
    await core.start();
    store = new ChdbStore({ path: dir });
    await migrate(store, db);
  });

  afterAll(async () => {
    core?.stop();
    await bus?.close();
    await store?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (n: number, from: number, room = 'js') => {
    for (let i = from; i < from + n; i++) {
      const event = i % 2 ? { room, notice: { text: `n${i}` } } : { room, danmaku: { text: `d${i}`, user: { id: 'u', name: 'U' } } };
      bus.publish(subjects.ingress(room), v1.Event.encode(event).finish());
    }
  };
  const stored = async (room = 'js') => {
    const [row] = await store.query<{ n: string; seqs: string }>(
      `SELECT count() AS n, uniqExact(seq) AS seqs FROM ${db}.events FINAL WHERE room = '${room}'`,
    );
    return { n: Number(row?.n ?? 0), seqs: Number(row?.seqs ?? 0) };
  };
  /** What the per-minute rollup says of a room: every event counted once, or not. */
  const rollup = async (room: string) => {
    const s = await new AnalyticsQueries(store, db).stats({ room, fromMs: started - 60_000, toMs: Date.now() + 3600_000 });
    return { events: s.events, messages: s.messages };
  };
  const started = Date.now();
  const until = (predicate: () => Promise<boolean>, what: string) =>
    vi.waitFor(
      async () => {
        if (!(await predicate())) throw new Error(`timed out waiting for ${what}`);
      },
      { timeout: 20_000, interval: 100 },
    );

  it('analytics - a sink restarted on the same durable consumer stores every stored event exactly once', async () => {
    const sinkA = new AnalyticsSink(new JetStreamEventSource(bus, bus.nc, { logger }), store, { database: db, flushMs: 50, logger });
    sinkA.start();
    send(300, 0);
    await until(async () => (await stored()).n === 300, '300 rows');
    await sinkA.stop();

    // Events stored while no sink runs wait in the stream for the durable consumer.
    send(200, 300);
    await new Promise((r) => setTimeout(r, 300));
    expect((await stored()).n).toBe(300);

    const sourceB = new JetStreamEventSource(bus, bus.nc, { logger });
    const sinkB = new AnalyticsSink(sourceB, store, { database: db, flushMs: 50, logger });
    sinkB.start();
    await until(async () => (await stored()).n === 500, '500 rows');
    await sinkB.flush();
    expect(await stored()).toEqual({ n: 500, seqs: 500 });
    // Everything the second sink received was acknowledged after it was stored (acks reach the server shortly).
    const jsm = await jetstreamManager(bus.nc);
    await expect.poll(async () => (await jsm.consumers.info('BARRAGE_ROOMS', 'barrage-analytics')).num_ack_pending).toBe(0);
    expect((await jsm.consumers.info('BARRAGE_ROOMS', 'barrage-analytics')).num_pending).toBe(0);
    expect(sourceB.stats.acked).toBe(sourceB.stats.stored);
    await sinkB.stop();
  });

  it('analytics - a sink that crashed after the store accepted a batch, before the ack: its successor counts each event once', async () => {
    const durable = 'crash-after-insert';
    // The first sink stores but never acknowledges, as a process killed between the two would.
    const sourceA = new JetStreamEventSource(bus, bus.nc, { logger, durable, ackWaitMs: 1_000 });
    sourceA.ack = () => undefined;
    const sinkA = new AnalyticsSink(sourceA, store, { database: db, flushMs: 50, logger });
    sinkA.start();
    send(300, 0, 'crash');
    await until(async () => (await stored('crash')).n === 300, '300 rows stored by the first sink');
    await sinkA.stop();
    expect(await rollup('crash')).toEqual({ events: 300, messages: 150 });

    // Its successor gets all 300 again (after the ack wait) and new events besides.
    const sourceB = new JetStreamEventSource(bus, bus.nc, { logger, durable, ackWaitMs: 1_000 });
    const sinkB = new AnalyticsSink(sourceB, store, { database: db, flushMs: 50, logger });
    sinkB.start();
    send(100, 300, 'crash');
    await until(async () => (await stored('crash')).n === 400, '400 rows');
    await until(async () => sinkB.stats().skippedRedeliveries >= 300, 'the redeliveries left out');
    await sinkB.flush();
    expect(await stored('crash')).toEqual({ n: 400, seqs: 400 });
    expect(await rollup('crash')).toEqual({ events: 400, messages: 200 });
    const jsm = await jetstreamManager(bus.nc);
    await expect.poll(async () => (await jsm.consumers.info('BARRAGE_ROOMS', durable)).num_ack_pending).toBe(0);
    expect((await jsm.consumers.info('BARRAGE_ROOMS', durable)).num_pending).toBe(0);
    await sinkB.stop();
  });

  it('analytics - ClickHouse away for longer than the ack wait: redelivered events are stored and counted once', async () => {
    const durable = 'long-outage';
    let down = true;
    const flaky: AnalyticsStore = Object.create(store) as AnalyticsStore;
    flaky.insertTsv = async (...args) => {
      if (down) throw new Error('store down');
      return store.insertTsv(...args);
    };
    const source = new JetStreamEventSource(bus, bus.nc, { logger, durable, ackWaitMs: 700 });
    const sink = new AnalyticsSink(source, flaky, { database: db, flushMs: 50, retryMinMs: 50, retryMaxMs: 200, logger });
    sink.start();
    send(200, 0, 'outage');
    await until(async () => sink.stats().received >= 200, '200 received');
    // Two ack waits pass with nothing acknowledged: JetStream delivers everything again, twice.
    await until(async () => sink.stats().skippedRedeliveries >= 400, 'two rounds of redeliveries');
    expect(sink.stats().inserted).toBe(0);
    down = false;
    await until(async () => (await stored('outage')).n === 200, '200 rows');
    await sink.flush();
    await new Promise((r) => setTimeout(r, 1_500)); // longer than the ack wait: nothing comes back
    expect(await stored('outage')).toEqual({ n: 200, seqs: 200 });
    expect(await rollup('outage')).toEqual({ events: 200, messages: 100 });
    // The new durable consumer also delivered the other tests' rooms: every delivery was stored once or left out.
    const st = sink.stats();
    expect(st.inserted + st.skippedRedeliveries + st.malformed).toBe(st.received);
    const jsm = await jetstreamManager(bus.nc);
    await expect.poll(async () => (await jsm.consumers.info('BARRAGE_ROOMS', durable)).num_ack_pending).toBe(0);
    await sink.stop();
  });
});
