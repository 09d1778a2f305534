/**
 * Flood benchmark: does an edge under a resume / ping / held-danmaku flood
 * from 50 sockets keep answering `/healthz` fast and keep delivering to
 * honest viewers as fast as without the flood?
 *
 *   node --import tsx bench/flood/run.ts [--variants loopback,proxy] [--seconds 20]
 *     [--viewers 500] [--rate 50] [--attackers 50] [--history 1000] [--analytics on|off]
 *     [--mix resume,ws-ping,app-ping,held] [--server-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *     [--tree <source tree>] [--label <name>]
 *
 * For each variant: one `barrage start` process (analytics on, the default),
 * a room with `--history` danmaku already sequenced and a word filter that
 * holds the attackers' word; honest viewers and senders in one forked worker;
 * `/healthz` probed every 10 ms from this process. Two phases of `--seconds`
 * each: baseline, then the same plus the attackers (a forked worker at nice
 * 10, so on this 2-core machine it takes the CPU the edge leaves, as an
 * attacker elsewhere would). Variants: `loopback` (the attackers are local
 * peers, which get no per-address budget) and `proxy` (BARRAGE_TRUST_PROXY=on,
 * one X-Forwarded-For address per 10 attacker sockets, and one per honest
 * viewer). `--tree` runs another checkout (e.g. the code before the
 * hardening) with the same clients. Bounded: every phase and wait has a
 * limit, and the run kills what it started after a deadline.
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Histogram } from '../lib/histogram.js';
import { ProcessMeter, machineFacts } from '../lib/proc.js';
import type { AttackCommand, AttackReport } from './attackers.js';
import type { HonestCommand, HonestReply, HonestSnapshot } from './honest.js';
import { HealthProbe, holdWord, killServers, prefill, scrape, startBarrage, viewerToken } from './setup.js';
import type { Barrage } from './setup.js';
import { attackKinds } from './frames.js';
import type { AttackKind } from './frames.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'loopback,proxy' },
    seconds: { type: 'string', default: '20' },
    viewers: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    attackers: { type: 'string', default: '50' },
    history: { type: 'string', default: '1000' },
    tree: { type: 'string', default: resolve(here, '../..') },
    label: { type: 'string' },
    analytics: { type: 'string', default: 'on' },
    'server-flags': { type: 'string', default: '' },
    mix: { type: 'string', default: attackKinds.join(',') },
  },
});
const mix = (values.mix as string).split(',').filter((k): k is AttackKind => (attackKinds as readonly string[]).includes(k));
const variants = (values.variants as string).split(',').filter((v) => v === 'loopback' || v === 'proxy');
const seconds = Number(values.seconds);
const viewerCount = Number(values.viewers);
const rate = Number(values.rate);
const attackerCount = Number(values.attackers);
const history = Number(values.history);
const tree = resolve(values.tree as string);
const label = values.label ?? (tree === resolve(here, '../..') ? 'this tree' : tree);
const room = 'flood';
const heldWord = 'floodword';
/** Every attacker socket with this index modulo is given a viewer token (and sends held danmaku); the rest are guests. */
const tokenEvery = 5;
const log = (...a: unknown[]): void => console.error('[flood]', ...a);

/** One phase of one variant, as reported. */
interface PhaseResult {
  variant: string;
  phase: 'baseline' | 'flood';
  healthz: { p50: number; p99: number; max: number; probes: number; failed: number };
  /** The server's own event-loop delay (ms): what of the healthz time the server itself caused. */
  serverLoop: { p50: number; p99: number; max: number } | undefined;
  /** This process's event-loop delay (ms): how late the probes themselves were sent and read. */
  probeLoop: { p99: number; max: number };
  delivery: { p50: number; p99: number; delivered: number; expected: number };
  sent: number;
  viewersOpen: number;
  honestCloses: Record<string, number>;
  senderErrors: Record<string, number>;
  attack: AttackReport | undefined;
  /** Edge counters that moved during the phase. */
  edge: Record<string, Record<string, number>>;
  server: { cpuPercent: number; rssPeakMb: number; runQueueWaitPercent: number };
  attackerCpuPercent: number;
}

const children: ChildProcess[] = [];
const probeLoop = monitorEventLoopDelay({ resolution: 5 });
probeLoop.enable();

/**
 * Milliseconds the server's main thread (its event loop) has spent runnable
 * but waiting for a CPU (/proc/<pid>/schedstat): on a shared 2-core machine
 * this tells a server starved by other processes from one that stalls itself.
 */
function runQueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

function forkWorker(name: string): ChildProcess {
  const child = fork(resolve(here, name), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

/** Sends a command and resolves with the first reply of type `type`. */
function ask<R extends { type: string }>(child: ChildProcess, command: object, type: string, timeoutMs = 60_000): Promise<R> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} reply within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: unknown): void => {
      if ((m as { type?: string }).type !== type) return;
      clearTimeout(timer);
      child.off('message', on);
      resolvePromise(m as R);
    };
    child.on('message', on);
    child.send(command);
  });
}

function diff(
  after: Record<string, Record<string, number>>,
  before: Record<string, Record<string, number>>,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, byLabel] of Object.entries(after)) {
    for (const [l, v] of Object.entries(byLabel)) {
      const d = v - (before[name]?.[l] ?? 0);
      if (d !== 0) (out[name.replace(/^barrage_|_total$/g, '')] ??= {})[l] = d;
    }
  }
  return out;
}

async function runPhase(variant: string, phase: 'baseline' | 'flood', server: Barrage, honest: ChildProcess): Promise<PhaseResult> {
  await ask(honest, { cmd: 'reset' } satisfies HonestCommand, 'reset');
  const before = await scrape(server.port);
  const probe = new HealthProbe(server.port, 10);
  const serverMeter = new ProcessMeter(server.pid);
  let attackers: ChildProcess | undefined;
  let attackerMeter: ProcessMeter | undefined;
  let attack: Promise<AttackReport> | undefined;
  if (phase === 'flood') {
    attackers = forkWorker('attackers.ts');
    setPriority(attackers.pid as number, Number(process.env['FLOOD_ATTACKER_NICE'] ?? 10));
    attackerMeter = new ProcessMeter(attackers.pid as number);
    const tokens = await Promise.all(
      Array.from({ length: attackerCount }, (_, i) => (i % tokenEvery === 0 ? viewerToken(room, `attacker${i}`) : Promise.resolve(''))),
    );
    const forwarded = variant === 'proxy' ? Array.from({ length: attackerCount }, (_, i) => `203.0.113.${1 + Math.floor(i / 10)}`) : null;
    const command: AttackCommand = { cmd: 'flood', port: server.port, room, tokens, forwarded, seconds, heldWord, retain: 1000, mix };
    attack = ask<AttackReport>(attackers, command, 'report', (seconds + 30) * 1000);
  }
  server.resetLoopDelay();
  probeLoop.reset();
  const wait0 = runQueueWaitMs(server.pid);
  const waitT0 = performance.now();
  serverMeter.start();
  attackerMeter?.start();
  probe.start();
  const { sent } = await ask<{ type: 'sent'; sent: number }>(
    honest,
    { cmd: 'send', rate, seconds } satisfies HonestCommand,
    'sent',
    (seconds + 30) * 1000,
  );
  await probe.stop();
  const srv = serverMeter.stop();
  const runQueueWaitPercent = (100 * (runQueueWaitMs(server.pid) - wait0)) / (performance.now() - waitT0);
  const serverLoop = await server.loopDelay();
  const attackerCpu = attackerMeter?.stop().cpuPercent ?? 0;
  const attackReport = attack ? await attack : undefined;
  if (attackers) {
    attackers.send({ cmd: 'close' } satisfies AttackCommand);
    attackers.disconnect();
  }
  // Late deliveries: wait until all arrived or nothing more comes for a second (at most 5 s).
  let snap = await ask<HonestSnapshot>(honest, { cmd: 'snapshot' } satisfies HonestCommand, 'snapshot');
  const expected = sent * viewerCount;
  let lastProgress = performance.now();
  const drainEnd = performance.now() + 5_000;
  while (snap.delivered < expected && performance.now() < drainEnd && performance.now() - lastProgress < 1_000) {
    await sleep(100);
    const next = await ask<HonestSnapshot>(honest, { cmd: 'snapshot' } satisfies HonestCommand, 'snapshot');
    if (next.delivered > snap.delivered) lastProgress = performance.now();
    snap = next;
  }
  const e2e = new Histogram();
  e2e.addSparse(snap.e2e);
  return {
    variant,
    phase,
    healthz: {
      // Quantiles are bucket upper edges (2 % wide): never report one above the largest seen.
      p50: Math.min(probe.latency.quantile(0.5), probe.max),
      p99: Math.min(probe.latency.quantile(0.99), probe.max),
      max: probe.max,
      probes: probe.latency.total,
      failed: probe.failed,
    },
    serverLoop,
    probeLoop: { p99: probeLoop.percentile(99) / 1e6, max: probeLoop.max / 1e6 },
    delivery: { p50: e2e.quantile(0.5), p99: e2e.quantile(0.99), delivered: snap.delivered, expected },
    sent,
    viewersOpen: snap.viewersOpen,
    honestCloses: snap.closes,
    senderErrors: snap.senderErrors,
    attack: attackReport,
    edge: diff(await scrape(server.port), before),
    server: { cpuPercent: srv.cpuPercent, rssPeakMb: srv.rssPeak / 1024 / 1024, runQueueWaitPercent },
    attackerCpuPercent: attackerCpu,
  };
}

async function runVariant(variant: string): Promise<PhaseResult[]> {
  const server = await startBarrage(
    tree,
    {
      BARRAGE_ANALYTICS: values.analytics as string,
      ...(variant === 'proxy' ? { BARRAGE_TRUST_PROXY: 'on' } : {}),
    },
    (values['server-flags'] as string).split(' ').filter(Boolean),
  );
  const honest = forkWorker('honest.ts');
  try {
    const seq = await prefill(server.port, room, history);
    await holdWord(server.port, room, heldWord);
    const senderTokens = await Promise.all(Array.from({ length: Math.ceil(rate / 2) }, (_, i) => viewerToken(room, `sender${i}`)));
    const connected = await ask<Extract<HonestReply, { type: 'connected' }>>(
      honest,
      {
        cmd: 'connect',
        port: server.port,
        room,
        viewers: viewerCount,
        senderTokens,
        forwarded: variant === 'proxy',
      } satisfies HonestCommand,
      'connected',
    );
    if (connected.failed > 0) throw new Error(`${connected.failed} honest connections failed: ${connected.firstError}`);
    log(`${variant}: history seq ${seq}, ${connected.viewers} viewers and ${connected.senders} senders joined`);
    const results: PhaseResult[] = [];
    for (const phase of ['baseline', 'flood'] as const) {
      const r = await runPhase(variant, phase, server, honest);
      log(
        `${variant} ${phase}: healthz p99 ${r.healthz.p99.toFixed(1)} ms, delivery p99 ${r.delivery.p99.toFixed(1)} ms, ` +
          `${r.delivery.delivered}/${r.delivery.expected} delivered, server CPU ${r.server.cpuPercent.toFixed(0)}%`,
      );
      results.push(r);
    }
    return results;
  } finally {
    honest.send({ cmd: 'close' } satisfies HonestCommand);
    await server.stop();
  }
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const counts = (m: Record<string, number> | undefined): string =>
  Object.entries(m ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v.toLocaleString('en')}`)
    .join(', ') || '-';

/** How many of the refusals were for an address in a penalty window (edge/ip-penalty.ts), and the penalties started. */
function penaltyNote(r: PhaseResult): string {
  const refused = r.edge['upgrades']?.['ip_penalty'] ?? 0;
  const started = Object.values(r.edge['ip_penalties'] ?? {}).reduce((a, b) => a + b, 0);
  return refused + started > 0 ? ` (${refused.toLocaleString('en')} for a penalty; ${started} penalties)` : '';
}

function table(results: PhaseResult[]): string {
  const rows = [
    '| variant | phase | healthz p50 / p99 / max (ms) | server event-loop delay p99 / max (ms) | delivery p50 / p99 (ms) | delivered / expected | attacker frames written (resume, WS ping, app ping, held danmaku) | attacker connects (upgraded) | refusals by status | closes by code | server CPU | server RSS peak | server waiting for a CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---:|---:|---:|',
  ];
  for (const r of results) {
    const a = r.attack;
    const w = a?.written;
    rows.push(
      `| ${r.variant} | ${r.phase} | ${fmt(r.healthz.p50)} / ${fmt(r.healthz.p99)} / ${fmt(r.healthz.max)} | ` +
        `${fmt(r.serverLoop?.p99 ?? NaN)} / ${fmt(r.serverLoop?.max ?? NaN)} | ${fmt(r.delivery.p50)} / ${fmt(r.delivery.p99)} | ` +
        `${r.delivery.delivered.toLocaleString('en')} / ${r.delivery.expected.toLocaleString('en')} | ` +
        (w
          ? `${w.resume.toLocaleString('en')}, ${w.wsPing.toLocaleString('en')}, ${w.appPing.toLocaleString('en')}, ${w.danmaku.toLocaleString('en')}`
          : '-') +
        ` | ${a ? `${a.connects.toLocaleString('en')} (${a.upgraded.toLocaleString('en')})` : '-'} | ${counts(a?.refusals)}${penaltyNote(r)} | ${counts(a?.closes)} | ` +
        `${fmt(r.server.cpuPercent, 0)}% | ${fmt(r.server.rssPeakMb, 0)} MB | ${fmt(r.server.runQueueWaitPercent, 0)}% |`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const machine = machineFacts();
  log(`${label}: ${variants.join(', ')}; ${seconds} s per phase; ${machine.uptime}`);
  const results: PhaseResult[] = [];
  for (const v of variants) results.push(...(await runVariant(v)));
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', tree, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    commit = 'not a git checkout';
  }
  console.log(
    JSON.stringify(
      { label, tree, commit, machine, seconds, viewers: viewerCount, rate, attackers: attackerCount, history, results },
      null,
      2,
    ),
  );
  console.log(`\n${label} (${commit}); before: ${machine.uptime}; after: ${machineFacts().uptime}\n\n${table(results)}`);
}

function killAll(): void {
  killServers();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

// Whatever happens, nothing outlives the run: setup, two phases and drains per variant, with room to spare.
const deadline = setTimeout(
  () => {
    log('deadline passed; stopping');
    killAll();
    process.exit(2);
  },
  (variants.length * (2 * seconds + 90) + 30) * 1000,
);
deadline.unref();
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
