/**
 * Runs a bench/k6 script with the pinned k6 (`.tools/bin/k6`, installed by
 * scripts/test.sh) for a few seconds and returns its exit code, output and the
 * JSON summary the script's handleSummary wrote.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { scrape } from '../helpers/metrics.js';

/** The pinned k6 binary, or one on PATH. */
export function k6Binary(): string {
  const local = resolve('.tools/bin/k6');
  return existsSync(local) ? local : 'k6';
}

/** One k6 metric as it appears in the summary JSON. */
export interface K6Metric {
  type: 'counter' | 'rate' | 'trend' | 'gauge';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/** What one k6 run produced. */
export interface K6Run {
  code: number | null;
  stdout: string;
  stderr: string;
  metrics: Record<string, K6Metric>;
  /** The script's own verdict (handleSummary). */
  pass: boolean;
  failed: string[];
  notes: string[];
  /** A metric's value: `count` for counters, `rate` for rates, or the named stat. */
  value(name: string, stat?: string): number;
}

/** The secret the k6 tests start servers with and mint tokens from. */
export const k6Secret = 'k6-test-secret-k6-test-secret-0123456789';

/** Runs `k6 run bench/k6/<script>` with `env` as `-e` options; kills it after `timeoutMs`. */
export async function runK6(script: string, env: Record<string, string | number>, timeoutMs = 60_000): Promise<K6Run> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-k6-'));
  const summaryFile = join(dir, 'summary.json');
  const args = ['run', '--quiet', '--no-color', '--no-usage-report'];
  for (const [k, v] of Object.entries({ BARRAGE_SECRET: k6Secret, ...env, SUMMARY_JSON: summaryFile })) args.push('-e', `${k}=${v}`);
  args.push(join('bench/k6', script));
  const child = spawn(k6Binary(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((res, rej) => {
    child.once('error', (err) =>
      rej(new Error(`cannot run k6 (${k6Binary()}): ${err.message}; install it with \`source scripts/tools.sh && ensure_k6\``)),
    );
    child.once('exit', (c) => res(c));
  });
  clearTimeout(timer);
  let parsed: { metrics: Record<string, K6Metric>; barrage?: { pass: boolean; failed: string[]; notes: string[] } } = { metrics: {} };
  try {
    parsed = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    // no summary: the assertions on it fail and print the output
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const metrics = parsed.metrics;
  return {
    code,
    stdout,
    stderr,
    metrics,
    pass: parsed.barrage?.pass ?? false,
    failed: parsed.barrage?.failed ?? [],
    notes: parsed.barrage?.notes ?? [],
    value(name, stat) {
      const m = metrics[name];
      if (!m) return 0;
      if (stat) return m.values[stat] ?? NaN;
      return m.type === 'counter' ? (m.values['count'] ?? 0) : m.type === 'rate' ? (m.values['rate'] ?? 0) : (m.values['avg'] ?? 0);
    },
  };
}

/** Output worth printing when an assertion on a run fails. */
export function explain(run: K6Run): string {
  return `k6 exited ${run.code}\n${run.stdout}\n${run.stderr.slice(-3000)}`;
}

/** Reads one series of an edge's /metrics (0 when absent). */
export async function metric(baseUrl: string, series: string): Promise<number> {
  return (await scrape(baseUrl, series)) ?? 0;
}
