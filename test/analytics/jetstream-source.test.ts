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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../core/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics-sink.js';
import { JetStreamEventSource } from '../../core/analytics-source-jetstream.js';
import { NatsBus } from '../../core/bus-nats.js';
import { createLogger } from '../../core/logger.js';
import { JetStreamSequencer } from '../../core/sequencer-jetstream.js';
import { ChdbStore } from '../../core/store-chdb.js';
import { subjects } from '../../core/subjects.js';
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
    core = new JetStreamSequencer(bus, { retainEvents: 100_000, joinHistory: 20, replicas: 1, maxAgeSeconds: 3600, logger });
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

  const send = (n: number, from: number) => {
    for (let i = from; i < from + n; i++) {
      const event =
        i % 2 ? { room: 'js', notice: { text: `n${i}` } } : { room: 'js', danmaku: { text: `d${i}`, user: { id: 'u', name: 'U' } } };
      bus.publish(subjects.ingress('js'), v1.Event.encode(event).finish());
    }
  };
  const stored = async () => {
    const [row] = await store.query<{ n: string; seqs: string }>(
      `SELECT count() AS n, uniqExact(seq) AS seqs FROM ${db}.events FINAL WHERE room = 'js'`,
    );
    return { n: Number(row?.n ?? 0), seqs: Number(row?.seqs ?? 0) };
  };
  const until = async (predicate: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('analytics - a sink restarted on the same durable consumer stores every stored event exactly once', async () => {
    const sinkA = new AnalyticsSink(new JetStreamEventSource(bus, { logger }), store, { database: db, flushMs: 50, logger });
    sinkA.start();
    send(300, 0);
    await until(async () => (await stored()).n === 300, '300 rows');
    await sinkA.stop();

    // Events stored while no sink runs wait in the stream for the durable consumer.
    send(200, 300);
    await new Promise((r) => setTimeout(r, 300));
    expect((await stored()).n).toBe(300);

    const sourceB = new JetStreamEventSource(bus, { logger });
    const sinkB = new AnalyticsSink(sourceB, store, { database: db, flushMs: 50, logger });
    sinkB.start();
    await until(async () => (await stored()).n === 500, '500 rows');
    await sinkB.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(await stored()).toEqual({ n: 500, seqs: 500 });
    // Everything the second sink received was acknowledged after it was stored.
    const jsm = await jetstreamManager(bus.nc);
    const info = await jsm.consumers.info('BARRAGE_ROOMS', 'barrage-analytics');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(sourceB.stats.acked).toBe(sourceB.stats.stored);
    await sinkB.stop();
  });
});
