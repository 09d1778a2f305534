/**
 * Replay segment query time: a 3-hour live session with 1,000,000 danmaku
 * (about 5,500 a minute, with a few retracted), stored as the sink stores
 * them, then the replay API's segment query (`ReplayQueries.segment`, the
 * SQL the endpoint runs) for segments across the session, and the density
 * query, on a ClickHouse server (Debian's 18.16, started here as the tests
 * start it) and on chDB, one after the other in the same run.
 *
 *   node --import tsx bench/replay/run.ts [--danmaku 1000000] [--queries 15] [--engines clickhouse,chdb]
 *
 * Prints one line per engine and the load average before and after.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eventRow } from '../../core/analytics/analytics-rows.js';
import { eventColumns, migrate } from '../../core/analytics/analytics-schema.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { ChdbStore } from '../../core/analytics/store-chdb.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';
import { ReplayQueries, segmentCount, segmentMs } from '../../core/replay/replay-queries.js';
import { VideoKind } from '../../domain/video-store.js';
import type { VideoRecord } from '../../domain/video-store.js';
import { v1 } from '../../proto/index.js';
import { startClickHouse } from '../../test/analytics/clickhouse-server.js';

const { values } = parseArgs({
  options: {
    danmaku: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '15' },
    engines: { type: 'string', default: 'clickhouse,chdb' },
  },
});
const total = Number(values.danmaku);
const queries = Number(values.queries);
const hours = 3;
const start = Date.UTC(2026, 10, 20, 18, 0, 0);
const duration = hours * 3_600_000;
const session: VideoRecord = {
  id: 'bench-s',
  kind: VideoKind.Session,
  room: 'bench-live',
  startedMs: start,
  endedMs: start + duration,
  offsetMs: 0,
  durationMs: 0,
};
const db = 'barrage_replay_bench';
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').trim();
const texts = ['233', 'gg', 'hype hype', 'nice play', 'lol', '哈哈哈', 'first time here', 'pog', '前方高能'];

/** Writes the session's danmaku (and a retraction for 1 in 1,000) in batches of 100,000 rows. */
async function fill(store: AnalyticsStore): Promise<number> {
  const t0 = performance.now();
  const batch = 100_000;
  let seq = 0;
  for (let from = 0; from < total; from += batch) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(total, from + batch); i++) {
      const tsMs = start + Math.floor((i / total) * duration);
      const e = {
        room: session.room,
        seq: ++seq,
        tsMs,
        danmaku: {
          id: `d${i}`,
          user: { id: `u${i % 5000}`, name: `viewer ${i % 5000}`, role: 1 },
          text: texts[i % texts.length],
          color: 0xffffff,
        },
      };
      lines.push(`${eventRow(v1.Event.encode(e).finish(), tsMs + 5)}\tb${from}`);
      if (i % 1000 === 7) {
        const r = { room: session.room, seq: ++seq, tsMs: tsMs + 1000, retract: { danmakuId: `d${i}` }, actor: { id: 'mod' } };
        lines.push(`${eventRow(v1.Event.encode(r).finish(), tsMs + 1005)}\tb${from}`);
      }
    }
    await store.insertTsv(`${db}.events`, eventColumns, Buffer.from(lines.join('\n') + '\n'), `bench-${from}`);
  }
  return performance.now() - t0;
}

const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function run(name: string, store: AnalyticsStore): Promise<void> {
  await store.exec(`DROP DATABASE IF EXISTS ${db}`);
  await migrate(store, db);
  const fillMs = await fill(store);
  const replay = new ReplayQueries(store, db);
  const segments = segmentCount(duration);
  // One warm-up, then segments spread over the session.
  const first = await replay.segment(session, 0);
  const times: number[] = [];
  let rows = 0;
  for (let q = 0; q < queries; q++) {
    const n = (q * 7) % segments;
    const t = performance.now();
    rows += (await replay.segment(session, n)).length;
    times.push(performance.now() - t);
  }
  const t = performance.now();
  const density = await replay.density(session, 200);
  const densityMs = performance.now() - t;
  console.log(
    `${name} ${await store.version()}: ${total.toLocaleString('en')} danmaku over ${hours} h written in ${(fillMs / 1000).toFixed(1)} s; ` +
      `segment (${segmentMs / 60_000} min, ~${Math.round(rows / queries).toLocaleString('en')} danmaku, segment 0 ${first.length}): ` +
      `p50 ${pct(times, 50).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${queries}; ` +
      `density of 200 buckets ${densityMs.toFixed(0)} ms (sum ${density.counts.reduce((a, b) => a + b, 0).toLocaleString('en')})`,
  );
}

console.log(`load before: ${loadavg()}`);
for (const engine of values.engines.split(',')) {
  if (engine === 'clickhouse') {
    const server = await startClickHouse();
    const store = new ClickHouseStore({ url: server.url });
    try {
      await run('clickhouse server', store);
    } finally {
      await store.close();
      await server.destroy();
    }
  } else if (engine === 'chdb') {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-replay-bench-'));
    const store = new ChdbStore({ path: dir });
    try {
      await run('chdb', store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(`load after: ${loadavg()}`);
