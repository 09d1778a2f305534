/**
 * Webhook benchmark, two questions in one run:
 *
 * 1. Delivery: one `barrage start` process posting every danmaku to a local
 *    receiver (an HTTP server in this process, verifying each signature) while
 *    a sender offers `--rate` danmaku/s (5,000 by default) into one room with
 *    a few viewers: events delivered per second, batches per second, and lag
 *    (receive time minus the event's `ts_ms`, which core stamps when it
 *    sequences it) at p50/p99/max.
 * 2. Fan-out with a dead receiver: the fan-out harness's ladder (bench/fanout)
 *    at the same viewers and rates, three times in a row: webhooks off,
 *    webhooks to a dead URL (connection refused, every batch retried), and
 *    webhooks to the live receiver. Delivered msgs/s and p99 per step.
 *
 *   node --import tsx bench/webhooks/run.ts [--rate 5000] [--seconds 10]
 *     [--viewers 1000] [--processes 2] [--rates 1000,2000,5000] [--step-ms 3000] [--batch-max 100]
 *     [--variants off,dead,live] [--only delivery,fanout]
 *
 * Prints a Markdown table per part and the load average before and after.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyWebhook } from '../../domain/webhook-signature.js';
import { Histogram } from '../lib/histogram.js';
import { freePort, runLadder, runStep, Sender, startServer, Viewers } from '../fanout/harness.js';
import type { StepResult } from '../fanout/harness.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    viewers: { type: 'string', default: '1000' },
    processes: { type: 'string', default: '2' },
    rates: { type: 'string', default: '1000,2000,5000' },
    'step-ms': { type: 'string', default: '3000' },
    'batch-max': { type: 'string', default: '100' },
    variants: { type: 'string', default: 'off,dead,live' },
    only: { type: 'string', default: 'delivery,fanout' },
  },
});
const only = new Set((values.only ?? '').split(','));
const secret = 'whsec-bench-0123456789abcdef';
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The receiver: counts events and batches, records lag, verifies every signature. */
class BenchReceiver {
  events = 0;
  batches = 0;
  badSignatures = 0;
  readonly lag = new Histogram();
  private readonly ids = new Set<string>();
  duplicates = 0;
  port = 0;
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!verifyWebhook(body, req.headers['barrage-signature'] as string, secret).ok) this.badSignatures++;
      const now = Date.now();
      const parsed = JSON.parse(body.toString('utf8')) as { events: Array<{ id: string; ts_ms: number }> };
      this.batches++;
      for (const e of parsed.events) {
        if (this.ids.has(e.id)) this.duplicates++;
        else this.ids.add(e.id);
        this.events++;
        this.lag.record(Math.max(0, now - e.ts_ms));
      }
      res.writeHead(204).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  reset(): void {
    this.events = 0;
    this.batches = 0;
    this.lag.reset();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const webhookEnv = (url: string): Record<string, string> => ({
  BARRAGE_WEBHOOK_URL: url,
  BARRAGE_WEBHOOK_SECRET: secret,
  BARRAGE_WEBHOOK_EVENTS: 'danmaku',
  BARRAGE_WEBHOOK_BATCH_MAX: values['batch-max'] ?? '100',
  BARRAGE_WEBHOOK_SPILL: `/tmp/barrage-bench-webhooks-${process.pid}/spill`,
  BARRAGE_WEBHOOK_DEAD_DIR: `/tmp/barrage-bench-webhooks-${process.pid}/dead`,
});

async function delivery(receiver: BenchReceiver): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const server = await startServer('barrage', { env: webhookEnv(`http://127.0.0.1:${receiver.port}/hook`) });
  const room = `hooks${Date.now() % 1_000_000}`;
  const viewers = await Viewers.connect({ server, room, count: 10, processes: 1, sampleEvery: 1 });
  const sender = await Sender.connect(server, room);
  try {
    await sleep(500);
    receiver.reset();
    const before = load();
    const t0 = Date.now();
    const step = await runStep(server, viewers, sender, 10, { rate, durationMs: seconds * 1000 });
    const sent = step.sent;
    // Drain: wait (bounded) until the receiver has every event sent.
    const deadline = Date.now() + 60_000;
    while (receiver.events < sent && Date.now() < deadline) await sleep(50);
    const elapsed = (Date.now() - t0) / 1000;
    console.log(
      `\n### Webhook delivery at ${rate} danmaku/s for ${seconds} s, batches of ${values['batch-max']} (load before ${before}, after ${load()})\n`,
    );
    console.log(
      '| sent | delivered | duplicates | bad signatures | events/s (over send + drain) | batches/s | lag p50 | lag p99 | lag max | viewers p99 |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    console.log(
      `| ${sent} | ${receiver.events} | ${receiver.duplicates} | ${receiver.badSignatures} | ${Math.round(receiver.events / elapsed)} | ${Math.round(
        receiver.batches / elapsed,
      )} | ${receiver.lag.quantile(0.5).toFixed(0)} ms | ${receiver.lag.quantile(0.99).toFixed(0)} ms | ${receiver.lag
        .quantile(1)
        .toFixed(0)} ms | ${step.p99.toFixed(1)} ms |`,
    );
  } finally {
    sender.close();
    await viewers.close();
    await server.stop();
  }
}

async function fanout(receiver: BenchReceiver): Promise<void> {
  const dead = `http://127.0.0.1:${await freePort()}/hook`;
  const all: Record<string, [string, Record<string, string>]> = {
    off: ['webhooks off', {}],
    dead: ['dead receiver', webhookEnv(dead)],
    live: ['live receiver', webhookEnv(`http://127.0.0.1:${receiver.port}/hook`)],
  };
  // Any order, repeats allowed (off,dead,live,live,dead,off): on a busy machine alternate them.
  const variants = (values.variants ?? '').split(',').map((v) => all[v] ?? (all['off'] as [string, Record<string, string>]));
  const rows: Array<[string, StepResult]> = [];
  const before = load();
  for (const [label, env] of variants) {
    const result = await runLadder({
      kind: 'barrage',
      viewers: Number(values.viewers),
      processes: Number(values.processes),
      rates: (values.rates ?? '').split(',').map(Number),
      stepMs: Number(values['step-ms']),
      env,
      onStep: (s) =>
        console.log(`  ${label}: offered ${s.offered}/s delivered ${Math.round(s.deliveredPerSec)}/s p99 ${s.p99.toFixed(1)} ms`),
    });
    for (const s of result.steps) rows.push([label, s]);
  }
  console.log(`\n### Fan-out, ${values.viewers} viewers, with and without webhooks (load before ${before}, after ${load()})\n`);
  console.log('| webhooks | offered msgs/s | delivered msgs/s | complete | p50 | p99 | server CPU |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, s] of rows) {
    console.log(
      `| ${label} | ${s.offered} | ${Math.round(s.deliveredPerSec)} | ${(100 * s.completeness).toFixed(1)} % | ${s.p50.toFixed(1)} ms | ${s.p99.toFixed(
        1,
      )} ms | ${Math.round(s.serverCpu)} % |`,
    );
  }
}

const receiver = new BenchReceiver();
await receiver.start();
try {
  if (only.has('delivery')) await delivery(receiver);
  if (only.has('fanout')) await fanout(receiver);
} finally {
  await receiver.close();
}
process.exit(0);
