/**
 * The `AnalyticsStore` contract: both stores, the same tests, a real
 * ClickHouse server (Debian's 18.16 here) started on free ports and chDB in
 * this process. First the interface itself (statements, selects, raw
 * inserts, errors), then the schema, the sink, the queries and the
 * redelivery filter that are written once on top of it and must read the
 * same on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsQueries } from '../../core/analytics/analytics-queries.js';
import type { AuditEntry } from '../../core/analytics/analytics-queries.js';
import { withoutStored } from '../../core/analytics/analytics-redelivery.js';
import { eventRow } from '../../core/analytics/analytics-rows.js';
import { migrate, migrations } from '../../core/analytics/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { BusEventSource } from '../../core/analytics/analytics-source.js';
import { AnalyticsError, featuresOf } from '../../core/analytics/analytics-store.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { v1 } from '../../proto/index.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { subjects } from '../../domain/subjects.js';
import { encode, everyKind, everyKindExpected } from '../analytics/events.js';
import { analyticsEngines } from '../analytics/engines.js';

const db = 'barrage_test';
const t0 = Date.UTC(2025, 0, 15, 12, 0, 0);

const engines = analyticsEngines('contract');

/** Publishes `events` on a memory bus into a sink on `store` and waits until they are stored. */
async function ingest(store: AnalyticsStore, events: Uint8Array[]): Promise<AnalyticsSink> {
  const bus = new MemoryBus();
  const sink = new AnalyticsSink(new BusEventSource(bus), store, { database: db, flushMs: 20 });
  sink.start();
  for (const e of events) bus.publish(subjects.events('x'), e);
  await bus.flush();
  await sink.flush();
  await sink.stop();
  await bus.close();
  return sink;
}

describe.each(engines)('analytics store on $name', (engine) => {
  let store: AnalyticsStore;
  let closed = false;

  beforeAll(async () => {
    store = await engine.open();
  });
  afterAll(async () => {
    if (!closed) await store?.close();
    await engine.close();
  });

  it('store contract - names its engine and a version whose features it reports', async () => {
    expect(store.engine).toBe(engine.name === 'chdb' ? 'chdb' : 'clickhouse');
    const version = await store.version();
    expect(version).toMatch(/^\d+\.\d+/);
    expect(await store.version()).toBe(version);
    // 18.16 (the server here) has neither; chDB is far newer and has both.
    expect(featuresOf(version)).toEqual(
      engine.name === 'chdb' ? { insertDedupToken: true, finalPerPartition: true } : { insertDedupToken: false, finalPerPartition: false },
    );
  });

  it('store contract - statements, selects with settings and TabSeparated inserts round-trip, escapes included', async () => {
    await store.exec('CREATE DATABASE IF NOT EXISTS contract');
    await store.exec('DROP TABLE IF EXISTS contract.kv');
    await store.exec('CREATE TABLE contract.kv (k String, n UInt64) ENGINE = MergeTree ORDER BY k');
    const rows = ['plain\t1', 'tab\\there\t2', "quote's\t3", 'back\\\\slash\t1099511627776'];
    await store.insertTsv('contract.kv', ['k', 'n'], Buffer.from(rows.join('\n') + '\n'), 'contract-batch-1');
    const read = await store.query<{ k: string; n: string | number }>('SELECT k, n FROM contract.kv ORDER BY n', { max_threads: 1 });
    // 64-bit integers come back as strings from the server and as numbers from chDB: callers take Number().
    expect(read.map((r) => [r.k, Number(r.n)])).toEqual([
      ['plain', 1],
      ['tab\there', 2],
      ["quote's", 3],
      ['back\\slash', 2 ** 40],
    ]);
  });

  it('store contract - what the engine refuses is an AnalyticsError saying so, and the store goes on working', async () => {
    for (const fail of [
      () => store.exec('CREATE TABLE nowhere.t (x UInt8) ENGINE = Memory'),
      () => store.query('SELECT no_such_column FROM system.one'),
      () => store.insertTsv('contract.no_such_table', ['k'], Buffer.from('x\n'), 'contract-batch-2'),
    ]) {
      const err = await fail().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnalyticsError);
      expect(err).toMatchObject({ code: 'ANALYTICS_UNAVAILABLE' });
      expect((err as Error).message).toMatch(engine.name === 'chdb' ? /^chDB / : /^ClickHouse /);
    }
    expect(await store.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('migrations - apply on an empty database and are idempotent', async () => {
    const first = await migrate(store, db);
    expect(first.applied).toEqual(migrations.map((m) => m.version));
    const tables = await store.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`);
    expect(tables.map((t) => t.name)).toEqual([
      'audit',
      'audit_mv',
      'audit_plays_mv',
      'audit_reports_mv',
      'events',
      'replay',
      'replay_mv',
      'replay_retracts',
      'replay_retracts_mv',
      'room_minute',
      'room_minute_mv',
      'schema_migrations',
    ]);
    const again = await migrate(store, db);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(migrations.map((m) => m.version));
    const recorded = await store.query<{ c: string }>(`SELECT count() AS c FROM ${db}.schema_migrations FINAL`);
    expect(Number(recorded[0]?.c)).toBe(migrations.length);
  });

  it('sink - events of every kind in, equal rows out', async () => {
    const events = everyKind('kinds', t0);
    await ingest(store, events.map(encode));
    const rows = await store.query<Record<string, unknown>>(`SELECT * FROM ${db}.events FINAL WHERE room = 'kinds' ORDER BY ts_ms`);
    expect(rows).toHaveLength(events.length);
    rows.forEach((row, i) => {
      const want = everyKindExpected[i] as Record<string, string | number>;
      const got: Record<string, string | number> = {};
      for (const k of Object.keys(want)) got[k] = typeof want[k] === 'number' ? Number(row[k]) : String(row[k]);
      expect(got).toEqual(want);
      expect(Number(row['ts_ms'])).toBe(Number(events[i]?.tsMs));
    });
  });

  it('queries - stats, timeline, top gifters and top words read the rows back', async () => {
    const q = new AnalyticsQueries(store, db);
    const range = { room: 'kinds', fromMs: t0, toMs: t0 + 3600_000 };
    const stats = await q.stats(range);
    expect(stats).toMatchObject({
      events: 17,
      messages: 4, // a merged "x3" danmaku counts three
      likes: 40,
      gifts: 2,
      giftEvents: 1,
      superChats: 1,
      revenueCents: 4000,
      gifters: 2,
      chatters: 2,
      moderationActions: 9,
      peakOnline: 120,
    });
    const timeline = await q.timeline(range);
    expect(timeline.reduce((s, p) => s + p.messages, 0)).toBe(4);
    expect(timeline[0]?.minute).toBe(t0 / 1000);
    expect(await q.topGifters(range, 5)).toEqual([
      { userId: 'u-bob', name: 'Bob "B"\t\\', revenueCents: 3000, gifts: 0 },
      { userId: 'u-alice', name: 'Alice', revenueCents: 1000, gifts: 2 },
    ]);
    const words = await q.topWords(range, 20);
    expect(words[0]).toEqual({ word: '233', count: 1 });
    expect(words.map((w) => w.word)).toContain('hello');
  });

  it('queries - top words of mixed Chinese, Japanese and English danmaku: segmented, stop words out, spam merged', async () => {
    const texts = [
      '你好，弹幕测试！',
      '你好主播',
      '弹幕好多 哈哈哈哈',
      '哈哈哈',
      '今日はいい天気ですね',
      '天気がいいから散歩',
      '2333333',
      '23333 lol',
      'how is the game at this point',
      'the game is great',
      'GAME on',
    ];
    const room = 'words-mixed';
    await ingest(
      store,
      texts.map((text, i) => encode({ room, seq: i + 1, tsMs: t0 + i * 1000, danmaku: { id: `w${i}`, user: { id: 'u' }, text } })),
    );
    const words = await new AnalyticsQueries(store, db).topWords({ room, fromMs: t0, toMs: t0 + 60_000 }, 20);
    const count = (w: string) => words.find((x) => x.word === w)?.count;
    expect(count('game')).toBe(3);
    expect(count('233')).toBe(2); // 2333333 and 23333
    expect(count('哈哈')).toBe(2); // 哈哈哈哈 and 哈哈哈
    expect(count('你好')).toBe(2);
    expect(count('弹幕')).toBe(2);
    expect(count('天気')).toBe(2);
    expect(count('测试')).toBe(1);
    expect(count('主播')).toBe(1);
    for (const stop of ['how', 'the', 'at', 'is', 'this', 'は', 'です', 'ね', 'いい']) expect(count(stop), stop).toBeUndefined();
    expect(words[0]).toEqual({ word: 'game', count: 3 });
  });

  it('sink - a batch retried after an ambiguous failure counts once', async () => {
    // The first insert of every batch reaches the store but "fails" on the way
    // back, as a timeout or a dropped connection would: the sink must retry.
    const seen = new Set<string>();
    const flaky: AnalyticsStore = Object.create(store) as AnalyticsStore;
    flaky.insertTsv = async (table, columns, payload, token) => {
      await store.insertTsv(table, columns, payload, token);
      if (!seen.has(token)) {
        seen.add(token);
        throw new Error('connection reset after the insert');
      }
    };
    const events: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      events.push(
        encode({ room: 'retry', seq: i + 1, tsMs: t0 + i * 100, danmaku: { id: `r${i}`, user: { id: `u${i % 7}` }, text: 'again' } }),
      );
    }
    const sink = await ingest(flaky, events);
    expect(sink.stats().failures).toBeGreaterThan(0);
    const [raw] = await store.query<Record<string, string>>(
      `SELECT count() AS c, uniqExact(seq) AS u FROM ${db}.events FINAL WHERE room = 'retry'`,
    );
    expect(Number(raw?.['c'])).toBe(1000);
    expect(Number(raw?.['u'])).toBe(1000);
    const stats = await new AnalyticsQueries(store, db).stats({ room: 'retry', fromMs: t0, toMs: t0 + 3600_000 });
    expect(stats.messages).toBe(1000);
    expect(stats.events).toBe(1000);
  });

  it('redelivery - a batch of redelivered events keeps only what the store does not have', async () => {
    const room = 'redo\tne'; // escaped in the rows, compared unescaped
    const events = Array.from({ length: 40 }, (_, i) =>
      encode({ room, seq: i + 1, tsMs: t0 + i * 1000, danmaku: { id: `r${i}`, user: { id: 'u' }, text: `t${i}` } }),
    );
    await ingest(store, events.slice(0, 25));
    // Seqs 1-40 delivered again, plus an online counter repeating seq 25 (counters are always kept).
    const online = encode({ room, seq: 25, tsMs: t0 + 99_000, online: { count: 7 } });
    const rows = [...events, online].map((e) => `${eventRow(e, t0)}\tredo-batch\n`).join('');
    const { payload, removed } = await withoutStored(store, `${db}.events`, Buffer.from(rows));
    expect(removed).toBe(25);
    const kept = payload.toString('utf8').trimEnd().split('\n');
    expect(kept.map((l) => l.split('\t')[3])).toEqual([...Array.from({ length: 15 }, (_, i) => String(26 + i)), '25']);
    expect(kept.at(-1)?.split('\t')[4]).toBe('online');
  });

  it('audit - plays opened and ended are logged with who started them and with what; progress counters are not', async () => {
    const room = 'plays-audit';
    const host = { id: 'h1', name: 'Host', role: v1.Role.ROLE_HOST };
    const system = { id: 'system', name: 'play ended', role: v1.Role.ROLE_ADMIN };
    let seq = 0;
    const at = (e: v1.IEvent, counter = false): Uint8Array =>
      encode({ room, seq: counter ? seq : ++seq, tsMs: t0 + (seq + (counter ? 0.5 : 0)) * 1000, ...e });
    await ingest(store, [
      at({ actor: host, redPacket: { id: 'rp1', sender: host, totalCents: 1000, count: 10, greeting: 'gl' } }),
      at({ redPacketProgress: { id: 'rp1', grabbed: 3, count: 10, grabbedCents: 300 } }, true),
      at({ actor: system, redPacketEnded: { id: 'rp1', grabbed: 3, count: 10, grabbedCents: 300, refundableCents: 700, expired: true } }),
      at({ actor: host, poll: { id: 'po1', question: 'Best map?', options: ['a', 'b'], by: host } }),
      at({ pollTally: { id: 'po1', votes: [2, 1], voters: 3 } }, true),
      at({ actor: system, pollResult: { id: 'po1', votes: [2, 1], voters: 3 } }),
      at({ actor: { id: 'api', name: 'api' }, lottery: { id: 'lo1', prize: 'A mug', winners: 1, seedSha256: 'ab' } }),
      at({ actor: system, lotteryResult: { id: 'lo1', seed: 'cd', entrants: 5, winners: [{ id: 'u3' }] } }),
    ]);
    const entries = await new AnalyticsQueries(store, db).audit({ room, fromMs: t0, toMs: t0 + 3600_000 }, 100);
    expect(entries.map((e) => [e.action, e.actor.id, e.target, e.count])).toEqual([
      ['lottery_result', 'system', 'lo1', 5],
      ['lottery', 'api', 'lo1', 1],
      ['poll_result', 'system', 'po1', 3],
      ['poll', 'h1', 'po1', 2],
      ['red_packet_ended', 'system', 'rp1', 3],
      ['red_packet', 'h1', 'rp1', 10],
    ]);
    const by = (action: string) => entries.find((e) => e.action === action) as AuditEntry;
    expect(by('red_packet')).toMatchObject({ text: 'gl', actor: { name: 'Host', role: v1.Role.ROLE_HOST } });
    expect(JSON.parse(by('red_packet').extra)).toMatchObject({ total_cents: 1000, mode: 'random' });
    expect(JSON.parse(by('red_packet_ended').extra)).toMatchObject({ grabbed_cents: 300, refundable_cents: 700, expired: true });
    expect(by('poll').text).toBe('Best map?');
    expect(JSON.parse(by('lottery_result').extra)).toMatchObject({ seed: 'cd', winners: ['u3'] });
    expect(by('lottery').text).toBe('A mug');

    // The plays panel of the dashboard reads the same rows: openings, ends and running totals.
    const q = new AnalyticsQueries(store, db);
    const all = await q.plays({ room, fromMs: t0, toMs: t0 + 3600_000 });
    expect(all).toMatchObject({ started: 3, ended: 3, grabs: 3, votes: 3, entries: 5 });
    expect(all.points.reduce((t, p) => t + p.grabs + p.votes + p.entries, 0)).toBe(11);
    expect(all.plays.map((p) => [p.kind, p.id, p.by, p.title, p.size, p.taken, p.startedMs > 0, p.endedMs > 0]).sort()).toEqual([
      ['lottery', 'lo1', 'api', 'A mug', 1, 5, true, true],
      ['poll', 'po1', 'Host', 'Best map?', 2, 3, true, true],
      ['red_packet', 'rp1', 'Host', 'gl', 10, 3, true, true],
    ]);
    // From after the tally: the poll's and packet's takers were counted before the range; the poll ends in it.
    const later = await q.plays({ room, fromMs: t0 + 3_700, toMs: t0 + 3600_000 });
    expect(later).toMatchObject({ started: 1, ended: 2, grabs: 0, votes: 0, entries: 5 });
    expect(later.plays.find((p) => p.kind === 'poll')).toMatchObject({ startedMs: 0, endedMs: t0 + 4_000, taken: 3 });
  });

  it('store contract - once closed, every operation is an AnalyticsError, never a crash, and closing again is harmless', async () => {
    await store.close();
    closed = true;
    for (const op of [() => store.query('SELECT 1'), () => store.exec('SELECT 1')]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnalyticsError);
      expect(err).toMatchObject({ code: 'ANALYTICS_UNAVAILABLE' });
    }
    await expect(store.close()).resolves.toBeUndefined();
  });
});
