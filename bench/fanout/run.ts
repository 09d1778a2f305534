/**
 * `npm run bench:fanout`: the whole fan-out benchmark in one run — Barrage
 * against Socket.IO, ws and bare uWebSockets.js at the same workload, the
 * batching-window sweep, and idle connection cost — then writes the tables
 * into docs/benchmarks.md and the raw results into bench/results/.
 *
 * Flags (defaults are the documented run):
 *   --viewers 5000 --idle 15000 --step-ms 3000 --processes 2
 *   --rates 10,20,50,...   offered msgs/s ladder
 *   --windows 0,10,25,50   BARRAGE_BATCH_MS values for the sweep
 *   --only fanout,sweep,idle
 *   --no-doc               print results, do not touch docs/
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineFacts } from '../lib/proc.js';
import { runIdle, runLadder } from './harness.js';
import type { IdleResult, LadderResult, StepResult } from './harness.js';
import { ServerKind } from './protocols.js';
import { fanoutBlock, idleBlock, spliceBlock, sweepBlock } from './report.js';
import type { RunResult } from './report.js';

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '5000' },
    idle: { type: 'string', default: '15000' },
    'step-ms': { type: 'string', default: '3000' },
    processes: { type: 'string', default: '2' },
    rates: { type: 'string', default: '10,20,50,100,200,500,1000,2000,5000,10000' },
    windows: { type: 'string', default: '0,10,25,50' },
    only: { type: 'string', default: 'fanout,sweep,idle' },
    'no-doc': { type: 'boolean', default: false },
  },
});

const viewers = Number(values.viewers);
const idleConnections = Number(values.idle);
const stepMs = Number(values['step-ms']);
const processes = Number(values.processes);
const rates = (values.rates ?? '').split(',').map(Number);
const windows = (values.windows ?? '').split(',').map(Number);
const only = new Set((values.only ?? '').split(','));
const defaultWindow = 25;

const la = (): [number, number, number] => {
  const l = loadavg();
  return [l[0] ?? 0, l[1] ?? 0, l[2] ?? 0];
};

function show(label: string): (s: StepResult) => void {
  return (s) =>
    console.log(
      `  ${label.padEnd(16)} offered ${String(s.offered).padStart(6)}/s  delivered ${Math.round(s.deliveredPerSec).toString().padStart(9)}/s  ` +
        `complete ${(100 * s.completeness).toFixed(1)}%  p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} ms  ` +
        `cpu ${Math.round(s.serverCpu)}% (viewers ${Math.round(s.clientCpu)}%)  rss ${Math.round(s.serverRss / 1048576)} MiB${s.saturated ? '  SATURATED' : ''}`,
    );
}

async function ladder(kind: ServerKind, batchMs?: number): Promise<LadderResult> {
  const label = kind === 'barrage' ? `barrage ${batchMs}ms` : kind;
  console.log(`fan-out: ${label}, ${viewers} viewers`);
  return runLadder({ kind, ...(batchMs === undefined ? {} : { batchMs }), viewers, processes, rates, stepMs, onStep: show(label) });
}

const started = performance.now();
const loadBefore = la();
const machine = machineFacts();
console.log(`${machine.uptime}; nproc ${machine.nproc}; node ${machine.node}`);

const fanout: LadderResult[] = [];
const sweep: LadderResult[] = [];
const idle: IdleResult[] = [];

if (only.has('fanout')) {
  for (const kind of [ServerKind.Barrage, ServerKind.Uws, ServerKind.UwsBatched, ServerKind.Ws, ServerKind.SocketIo]) {
    fanout.push(await ladder(kind, kind === 'barrage' ? defaultWindow : undefined));
  }
}
if (only.has('sweep')) {
  for (const w of windows) {
    const reuse = fanout.find((r) => r.kind === 'barrage' && r.batchMs === w);
    sweep.push(reuse ?? (await ladder(ServerKind.Barrage, w)));
  }
}
if (only.has('idle')) {
  const idleProcesses = Math.max(1, Math.ceil(idleConnections / 10_000));
  for (const kind of [ServerKind.Barrage, ServerKind.Uws, ServerKind.Ws, ServerKind.SocketIo]) {
    const r = await runIdle(kind, idleConnections, idleProcesses);
    console.log(`idle: ${kind.padEnd(9)} ${idleConnections} connections  ${(r.bytesPerConnection / 1024).toFixed(2)} KB each`);
    idle.push(r);
  }
  // Attribution: the same Barrage with V8's default young generation (up to
  // 16 MiB per semi-space) instead of the capped one `npm start` uses.
  const capped = await runIdle(ServerKind.Barrage, idleConnections, idleProcesses, { env: { NODE_OPTIONS: '--max-semi-space-size=16' } });
  console.log(`idle: barrage (${capped.variant}) ${(capped.bytesPerConnection / 1024).toFixed(2)} KB each`);
  idle.push(capped);
  // `npm start`'s default: analytics on, chDB in the process. Guests only (nothing
  // they do is stored), then with chDB already working (chat stored before the baseline).
  for (const setup of [
    { label: 'analytics on (chDB), guests only' },
    { label: 'analytics on (chDB), after 10 s of chat', warmMs: 10_000 },
  ]) {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-bench-idle-'));
    const env = { BARRAGE_ANALYTICS: 'on', BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'), BARRAGE_ANALYTICS_SPILL: join(dir, 'spill') };
    try {
      const r = await runIdle(ServerKind.Barrage, idleConnections, idleProcesses, { env }, setup);
      console.log(`idle: barrage (${r.variant}) ${(r.bytesPerConnection / 1024).toFixed(2)} KB each`);
      idle.push(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const argv = process.argv.slice(2).join(' ');
const run: RunResult = {
  machine,
  loadBefore,
  loadAfter: la(),
  command: `npm run bench:fanout${argv ? ` -- ${argv}` : ''}`,
  durationSeconds: (performance.now() - started) / 1000,
  fanout,
  sweep,
  idle,
};

mkdirSync('bench/results', { recursive: true });
// A run of some parts (`--only`) keeps the other parts' results from their last run.
const latest = 'bench/results/fanout-latest.json';
const kept: Partial<RunResult> = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Partial<RunResult>) : {};
const saved = {
  ...run,
  fanout: only.has('fanout') ? fanout : (kept.fanout ?? []),
  sweep: only.has('sweep') ? sweep : (kept.sweep ?? []),
  idle: only.has('idle') ? idle : (kept.idle ?? []),
};
writeFileSync(latest, JSON.stringify(saved, null, 2) + '\n');
console.log(`raw results: bench/results/fanout-latest.json (${Math.round(run.durationSeconds)} s)`);

if (!values['no-doc']) {
  const path = 'docs/benchmarks.md';
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  if (fanout.length > 0) doc = spliceBlock(doc, 'fanout', fanoutBlock(run), '## Room fan-out');
  if (sweep.length > 0) doc = spliceBlock(doc, 'batch-window', sweepBlock(run), '## Batching window');
  if (idle.length > 0) doc = spliceBlock(doc, 'idle', idleBlock(run), '## Idle connection cost');
  mkdirSync('docs', { recursive: true });
  writeFileSync(path, doc);
  console.log(`wrote ${path}`);
} else {
  if (fanout.length > 0) console.log(fanoutBlock(run));
  if (sweep.length > 0) console.log(sweepBlock(run));
  if (idle.length > 0) console.log(idleBlock(run));
}
process.exit(0);
