/**
 * Runs a bench/k6 script against a single-process Barrage (`barrage start`)
 * it starts itself, and reports what k6 saw next to what the server measured
 * over the same run (its per-hop latency histograms, domain/latency.ts), and
 * what k6 and the server each cost in CPU. So a failed threshold can be told
 * apart: slow server, or a busy k6 (or machine).
 *
 *   node --import tsx bench/k6/measured.ts viewers.js [-e NAME=value ...]
 *
 * Starts the server with analytics off and the secret k6 mints tokens with.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/ports.js';
import { cpuSeconds } from '../lib/proc.js';
import { hopSummary } from '../lib/prom-histogram.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { e: { type: 'string', multiple: true, default: [] } } });
const script = positionals[0] ?? 'viewers.js';
const secret = 'k6-measured-secret-k6-measured-secret-0123';

const port = await freePort();
const server = spawn(process.execPath, ['--import', 'tsx', 'bin/barrage.ts', 'start'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    BARRAGE_SECRET: secret,
    BARRAGE_ANALYTICS: 'off',
    BARRAGE_LOG_LEVEL: 'warn',
  },
  stdio: 'ignore',
});
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error('barrage did not start');
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  const before = await metrics();
  const serverCpu0 = cpuSeconds(server.pid as number);
  const summaryFile = join(mkdtempSync(join(tmpdir(), 'barrage-k6m-')), 'summary.json');
  const args = ['run', '--quiet', '--no-color', '--no-usage-report', '-e', `BARRAGE_URL=${url}`, '-e', `BARRAGE_SECRET=${secret}`];
  // The script holds the server to its own p99 as well (viewers.js: barrage_server_p99_ms).
  if (!(values.e ?? []).some((kv) => kv.startsWith('METRICS_URL='))) args.push('-e', `METRICS_URL=${url}/metrics`);
  for (const kv of values.e ?? []) args.push('-e', kv);
  args.push('-e', `SUMMARY_JSON=${summaryFile}`, join('bench/k6', script));
  const started = Date.now();
  const k6 = spawn('.tools/bin/k6', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
  let k6Cpu = 0;
  // k6's CPU, read while it runs (its /proc entry goes when it exits).
  const sampler = setInterval(() => {
    try {
      k6Cpu = cpuSeconds(k6.pid as number);
    } catch {
      // exited
    }
  }, 200);
  const code = await new Promise<number | null>((r) => k6.once('exit', r));
  clearInterval(sampler);
  const elapsed = (Date.now() - started) / 1000;
  const serverCpu = cpuSeconds(server.pid as number) - serverCpu0;
  const after = await metrics();
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { metrics: Record<string, { values: Record<string, number> }> };
  const trend = (name: string) => {
    const v = summary.metrics[name]?.values ?? {};
    return { med: v['med'], p99: v['p(99)'], max: v['max'] };
  };
  console.log(
    JSON.stringify(
      {
        script,
        env: values.e,
        k6Exit: code,
        seconds: Number(elapsed.toFixed(1)),
        k6: { delivery: trend('barrage_delivery_ms'), e2e: trend('barrage_e2e_ms'), cpuPct: Number(((k6Cpu / elapsed) * 100).toFixed(1)) },
        server: {
          hops: hopSummary(before, after, 'barrage_edge_latency_seconds'),
          core: hopSummary(before, after, 'barrage_core_latency_seconds'),
          cpuPct: Number(((serverCpu / elapsed) * 100).toFixed(1)),
        },
        loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      },
      null,
      2,
    ),
  );
} finally {
  server.kill('SIGTERM');
}
