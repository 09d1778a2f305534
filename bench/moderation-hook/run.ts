/**
 * What the moderation callback adds to a danmaku's latency at 1,000 danmaku/s
 * into one room: the same load against `barrage start` without the callback,
 * with one request per danmaku (BARRAGE_MODERATION_HOOK_BATCH=1, the
 * default, 64 in flight) and with batches of up to 100 (2 in flight, so
 * what arrives during a round trip goes in the next request), to a receiver that answers at once
 * and to one that takes 5 ms; the
 * receiver runs in its own process (receiver.ts), the server in another.
 * Latency is from a sender's send to a watcher's receipt (both here, one
 * clock), so it includes the batching window (BARRAGE_BATCH_MS, 25 ms); the
 * callback's cost is the difference between rows of the same run.
 *
 *   node --import tsx bench/moderation-hook/run.ts [--rate 1000] [--seconds 20] [--senders 50]
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { v1 } from '../../proto/index.js';
import { startBarrage, viewerToken } from '../flood/setup.js';
import { Histogram } from '../lib/histogram.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    senders: { type: 'string', default: '50' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const senders = Number(values.senders);
const here = dirname(fileURLToPath(import.meta.url));
const tree = join(here, '../..');
const room = 'hookbench';

interface Receiver {
  url: string;
  stats(): Promise<{ answered: number; maxInFlight: number }>;
  stop(): void;
}

async function startReceiver(delayMs: number): Promise<Receiver> {
  const child: ChildProcess = fork(join(here, 'receiver.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...(process.env as Record<string, string>), RECEIVER_DELAY_MS: String(delayMs) },
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}/hook`,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { answered: number; maxInFlight: number }));
        child.send('stats');
      }),
    stop: () => void child.kill('SIGTERM'),
  };
}

function open(port: number, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=${room}&token=${token}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

interface Row {
  config: string;
  sent: number;
  received: number;
  p50: number;
  p99: number;
  max: number;
  loadBefore: number[];
  loadAfter: number[];
  receiver?: { answered: number; maxInFlight: number };
}

async function measure(config: string, env: Record<string, string>, receiver?: Receiver): Promise<Row> {
  const server = await startBarrage(tree, {
    BARRAGE_ANALYTICS: 'off',
    BARRAGE_DANMAKU_RATE: '1000',
    BARRAGE_DANMAKU_BURST: '1000',
    BARRAGE_FRAME_RATE: '1000',
    BARRAGE_FRAME_BURST: '1000',
    ...env,
  });
  const hist = new Histogram();
  let received = 0;
  let measuring = false;
  let windowStart = Infinity;
  const watcher = await open(server.port, await viewerToken(room, 'watcher'));
  watcher.on('message', (data: Buffer) => {
    const frame = v1.ServerFrame.decode(new Uint8Array(data));
    if (!frame.batch || frame.batch.history) return;
    const now = performance.now();
    for (const e of frame.batch.events ?? []) {
      const text = e.danmaku?.text;
      if (!text || !measuring) continue;
      const sentAt = Number(text.slice(1));
      // Only danmaku sent inside the window: a backlog from the warm-up is not this row's latency.
      if (sentAt < windowStart) continue;
      received++;
      hist.record(now - sentAt);
    }
  });
  const sockets = await Promise.all(Array.from({ length: senders }, async (_, i) => open(server.port, await viewerToken(room, `s${i}`))));
  const send = (i: number): void => {
    const ws = sockets[i % senders] as WebSocket;
    ws.send(v1.ClientFrame.encode({ sendDanmaku: { text: `t${performance.now().toFixed(3)}` } }).finish());
  };
  // Open loop at `rate`: ticks of 10 ms, each sending what is due.
  const run = async (ms: number): Promise<number> => {
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < ms) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      while (sent < due) send(sent++);
      await sleep(10);
    }
    return sent;
  };
  await run(3_000); // warm-up
  await sleep(500);
  const loadBefore = loadavg();
  measuring = true;
  windowStart = performance.now();
  const sent = await run(seconds * 1000);
  await sleep(3_000);
  measuring = false;
  const loadAfter = loadavg();
  const receiverStats = receiver ? await receiver.stats() : undefined;
  for (const ws of [watcher, ...sockets]) ws.close();
  await server.stop();
  return {
    config,
    sent,
    received,
    p50: hist.quantile(0.5),
    p99: hist.quantile(0.99),
    max: hist.quantile(1),
    loadBefore,
    loadAfter,
    ...(receiverStats ? { receiver: receiverStats } : {}),
  };
}

const rows: Row[] = [];
rows.push(await measure('no callback', {}));
for (const [batch, concurrency, delay] of [
  [1, 64, 0],
  [100, 2, 0],
  [100, 2, 5],
] as const) {
  const receiver = await startReceiver(delay);
  rows.push(
    await measure(
      `callback, batch ${batch}, concurrency ${concurrency}, receiver answers in ${delay} ms`,
      {
        BARRAGE_MODERATION_HOOK_URL: receiver.url,
        BARRAGE_MODERATION_HOOK_BATCH: String(batch),
        BARRAGE_MODERATION_HOOK_CONCURRENCY: String(concurrency),
      },
      receiver,
    ),
  );
  receiver.stop();
}
// The first row again: how far the machine's noise moves the same configuration within one run.
rows.push(await measure('no callback (again)', {}));
const base = rows[0] as Row;
console.log(`moderation callback at ${rate} danmaku/s, ${senders} senders, ${seconds} s per row`);
console.log('config | received/sent | p50 ms | p99 ms | added p50 | added p99 | receiver max in flight | load before -> after');
for (const r of rows) {
  console.log(
    [
      r.config,
      `${r.received}/${r.sent}`,
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      (r.p50 - base.p50).toFixed(1),
      (r.p99 - base.p99).toFixed(1),
      r.receiver?.maxInFlight ?? '-',
      `${r.loadBefore.map((l) => l.toFixed(2)).join(' ')} -> ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    ].join(' | '),
  );
}
mkdirSync(join(tree, 'bench/results'), { recursive: true });
// Earlier runs are kept: on a shared machine one run is not a result.
const file = join(tree, 'bench/results/moderation-hook.json');
let runs: unknown[] = [];
try {
  runs = (JSON.parse(readFileSync(file, 'utf8')) as { runs?: unknown[] }).runs ?? [];
} catch {
  // the first run
}
runs.push({ at: new Date().toISOString(), rate, seconds, senders, rows });
writeFileSync(file, JSON.stringify({ runs }, null, 2));
process.exit(0);
