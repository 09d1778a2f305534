/**
 * End-to-end benchmark over NATS: one nats-server, one core, several edge
 * processes (each limited to 20,000 file descriptors), and forked workers of
 * raw WebSocket clients, all on loopback.
 *
 *   node --import tsx bench/e2e/run.ts latency [--viewers 20000] [--rate 1000] [--seconds 20]
 *   node --import tsx bench/e2e/run.ts hold [--viewers 100000] [--edges 6] [--seconds 30]
 *   ... [--clients go|node] [--tick 20ms]
 *
 * The bulk viewers (all but the sender and the probes) are the Go load
 * generator (bench/loadgen: byte counting, one epoll loop per process) when
 * a Go toolchain is present, or forked Node workers with `--clients node`;
 * the sender and the probes, which encode and decode, are Node in both.
 * `--tick` (20 ms; 0 reads as soon as a socket is readable) makes the Go
 * viewers read each socket at most once per tick: fewer, larger reads, which
 * is where a byte counter's CPU goes (the kernel's read path). The server's
 * writes are not delayed by it: a tick's worth of frames is a few KB against
 * the 128 KB socket receive buffer.
 *
 * latency: two edges, the sender on the first, viewers split over both, one
 * room; latency is send time to receipt on probe viewers (decoding every
 * frame), so it includes the edge's batching window. Next to it, what the
 * servers measured over the same window (the per-hop histograms of every
 * edge and core, `domain/latency.ts`), what the load clients, NATS, core
 * and each edge cost in CPU, and NATS's message counts.
 * hold: viewers spread over the edges and 50 rooms, held; RSS and CPU per edge.
 *
 * Options for A/B runs: `--env NAME=value` (repeatable) sets a setting on
 * core and the edges; `--profile DIR` writes a CPU profile of core and each
 * edge over the measured window only (bench/lib/profile-hook.ts) and prints
 * their busiest functions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mintToken } from '../../domain/auth.js';
import { freePort } from '../lib/ports.js';
import { cpuSeconds } from '../lib/proc.js';
import { summarizeProfile } from '../lib/cpuprofile.js';
import type { ProfileSummary } from '../lib/cpuprofile.js';
import { hopSummary } from '../lib/prom-histogram.js';
import { buildLoadgen, goCommand } from '../loadgen/build.js';
import { Loadgen } from '../loadgen/loadgen.js';
import type { LoadgenReport } from '../loadgen/loadgen.js';

const secret = 'bench-secret-bench-secret-bench-secret-0123456789';
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    viewers: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string' },
    edges: { type: 'string' },
    workers: { type: 'string' },
    probes: { type: 'string', default: '10' },
    env: { type: 'string', multiple: true, default: [] },
    profile: { type: 'string' },
    clients: { type: 'string' },
    tick: { type: 'string', default: '20ms' },
  },
});
/** Settings for core and the edges from `--env NAME=value`. */
const extraEnv = Object.fromEntries(
  (values.env ?? []).map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--env wants NAME=value, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
const profileDir = values.profile ? resolve(values.profile) : undefined;
const scenario = positionals[0] ?? 'latency';
const viewers = Number(values.viewers ?? (scenario === 'hold' ? 100_000 : 20_000));
const edgeCount = Number(values.edges ?? (scenario === 'hold' ? 6 : 2));
const seconds = Number(values.seconds ?? (scenario === 'hold' ? 30 : 20));
const rate = Number(values.rate);
const workerCount = Number(values.workers ?? Math.max(1, Math.ceil(viewers / 10_000)));
const clients = values.clients ?? (goCommand() ? 'go' : 'node');
if (clients !== 'go' && clients !== 'node') throw new Error(`--clients is go or node, not ${clients}`);

const children: ChildProcess[] = [];
const log = (...a: unknown[]) => console.error('[e2e]', ...a);

function waitFor(proc: ChildProcess, marker: string, out: { text: string }): Promise<void> {
  return new Promise((res, rej) => {
    const on = (d: Buffer) => {
      out.text += d.toString();
      if (out.text.includes(marker)) res();
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (code) => rej(new Error(`exited ${code}: ${out.text.slice(-2000)}`)));
  });
}

/** CPU seconds (user + system) and RSS of a process from /proc. */
function sample(pid: number): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu: ticks / 100, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) : NaN;
}

async function main(): Promise<void> {
  // Before any server starts: a first build takes a while and must not eat into a run.
  const loadgenBin = clients === 'go' ? buildLoadgen() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-e2e-'));
  const natsPort = await freePort();
  const natsMonitor = await freePort();
  writeFileSync(
    join(dir, 'nats.conf'),
    `listen: 127.0.0.1:${natsPort}\nhttp: 127.0.0.1:${natsMonitor}\njetstream { store_dir: "${join(dir, 'js')}" }\n`,
  );
  const nats = spawn(resolve('.tools/bin/nats-server'), ['-c', join(dir, 'nats.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(nats);
  await waitFor(nats, 'Server is ready', { text: '' });
  const url = `nats://127.0.0.1:${natsPort}`;
  const env = {
    ...process.env,
    BARRAGE_SECRET: secret,
    HOST: '127.0.0.1',
    BARRAGE_LOG_LEVEL: 'warn',
    BARRAGE_DANMAKU_RATE: String(Math.max(rate * 2, 10)),
    BARRAGE_DANMAKU_BURST: String(Math.max(rate * 2, 10)),
    BARRAGE_FRAME_RATE: String(Math.max(rate * 4, 50)),
    BARRAGE_FRAME_BURST: String(Math.max(rate * 4, 100)),
    ...extraEnv,
  };
  const hook = profileDir ? `--import ${resolve('bench/lib/profile-hook.ts')} ` : '';
  const role = async (which: string, id: string): Promise<{ proc: ChildProcess; port: number }> => {
    // Each edge gets the per-process descriptor limit the design allows.
    const proc = spawn(
      'bash',
      ['-c', `ulimit -n 20000; exec "${process.execPath}" --import tsx ${hook}bin/barrage.ts ${which} --nats ${url} --port 0`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...env, BARRAGE_LOG_LEVEL: 'info', BARRAGE_EDGE_ID: id, BENCH_PROFILE_DIR: profileDir ?? '', BENCH_PROFILE_NAME: id },
      },
    );
    children.push(proc);
    const out = { text: '' };
    await waitFor(proc, which === 'edge' ? 'Barrage edge is up' : 'Barrage core is up', out);
    const line = out.text.split('\n').find((l) => l.includes('is up')) ?? '{}';
    return { proc, port: (JSON.parse(line) as { port?: number }).port ?? 0 };
  };
  const core = await role('core', 'core');
  const edges = await Promise.all(Array.from({ length: edgeCount }, (_, i) => role('edge', `edge${i + 1}`)));
  const ports = edges.map((e) => e.port);
  const base = edges.map((e) => sample(e.proc.pid as number));
  log(`nats, core and ${edgeCount} edges up; edge RSS before clients: ${base.map((b) => b.rssMb.toFixed(0)).join(', ')} MB`);

  const rooms = scenario === 'hold' ? Array.from({ length: 50 }, (_, i) => `hold${i}`) : ['live'];
  const probes = scenario === 'latency' ? Number(values.probes) : 0;
  const bulk = viewers - probes;
  const perWorker = Math.ceil(bulk / workerCount);
  const workers: ChildProcess[] = [];
  const ready: Array<Promise<{ open: number; failed: number }>> = [];
  const t0 = Date.now();
  const jobs: object[] = [];
  if (scenario === 'latency') {
    // Worker 0 sends; worker 1 holds the probes, which decode every frame. Neither holds bulk
    // viewers, so client load does not show up as latency.
    jobs.push({ edges: ports, rooms, viewers: probes, probes, discard: false, rampPerSecond: 4_000, deadlineSeconds: 900 });
    jobs.unshift({
      edges: ports,
      rooms,
      viewers: 0,
      probes: 0,
      discard: false,
      rampPerSecond: 4_000,
      deadlineSeconds: 900,
      sender: {
        port: ports[0] as number,
        room: 'live',
        token: await mintToken(new TextEncoder().encode(secret), { room: 'live', user: 'bench', name: 'bench', role: 'viewer' }),
        rate,
        seconds,
      },
    });
  }
  for (let w = 0; clients === 'node' && w < workerCount; w++) {
    // Each worker spreads its viewers over every edge, so each edge gets viewers from several workers.
    jobs.push({
      edges: ports,
      rooms,
      viewers: Math.max(0, Math.min(perWorker, bulk - w * perWorker)),
      probes: 0,
      discard: scenario === 'latency',
      rampPerSecond: scenario === 'hold' ? 2_000 : 4_000,
      deadlineSeconds: 900,
    });
  }
  for (const job of jobs) {
    const child = fork(resolve('bench/e2e/worker.ts'), [JSON.stringify(job)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    workers.push(child);
    ready.push(
      new Promise((res) => child.on('message', (m: { type: string; open: number; failed: number }) => m.type === 'ready' && res(m))),
    );
  }
  // The Go generator: viewer i goes to edge i mod n and room i mod m, as in the Node workers.
  const gen =
    loadgenBin && bulk > 0
      ? Loadgen.start(
          [
            ...['-edges', ports.map((p) => `127.0.0.1:${p}`).join(','), '-rooms', rooms.join(','), '-viewers', String(bulk)],
            ...['-ramp', scenario === 'hold' ? '2000' : '4000', '-tick', values.tick ?? '20ms'],
            ...(profileDir ? ['-cpuprofile', profileDir] : []),
          ],
          loadgenBin,
        )
      : undefined;
  if (gen) children.push(gen.child);
  const genReady = gen ? await gen.ready() : undefined;
  const opened = [...(await Promise.all(ready)), ...(genReady ? [genReady] : [])];
  const open = opened.reduce((n, r) => n + r.open, 0);
  const failed = opened.reduce((n, r) => n + r.failed, 0);
  log(`${open} viewers open (${failed} failed) in ${((Date.now() - t0) / 1000).toFixed(1)} s (bulk viewers: ${clients})`);
  await sleep(3_000);

  const scrapeAll = async (): Promise<{ edges: string; core: string }> => ({
    edges: (await Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/metrics`)).text()))).join('\n'),
    core: await (await fetch(`http://127.0.0.1:${core.port}/metrics`)).text(),
  });
  const varz = async (): Promise<{ in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number }> =>
    (await fetch(`http://127.0.0.1:${natsMonitor}/varz`)).json() as never;
  const profiled = [core, ...edges];
  if (profileDir) for (const p of profiled) p.proc.kill('SIGUSR2');
  const metricsBefore = await scrapeAll();
  const natsBefore = await varz();
  const cpuOf = (pids: number[]) => pids.map((pid) => cpuSeconds(pid));
  // Bytes the bulk viewers took in, asked at both ends of the window (the Go generator counts its own).
  const bulkWorkers = workers.slice(scenario === 'latency' ? 2 : 0);
  const bulkBytes = async (): Promise<number> =>
    (
      await Promise.all(
        bulkWorkers.map(
          (w) =>
            new Promise<number>((res) => {
              const on = (m: { type: string; bytes: number }) => {
                if (m.type !== 'count') return;
                w.off('message', on);
                res(m.bytes);
              };
              w.on('message', on);
              w.send({ cmd: 'count' });
            }),
        ),
      )
    ).reduce((a, b) => a + b, 0);
  const bulkBytesBefore = await bulkBytes();
  const clientPids = workers.map((w) => w.pid as number);
  // The generator's worker processes, counted as one client (its parent only waits).
  const genPids = genReady ? genReady.pids : [];
  const genCpuBefore = cpuOf(genPids).reduce((a, b) => a + b, 0);
  await gen?.mark();
  const clientsCpuBefore = cpuOf(clientPids);
  const natsCpuBefore = cpuSeconds(nats.pid as number);
  const before = edges.map((e) => sample(e.proc.pid as number));
  const coreBefore = sample(core.proc.pid as number);
  const started = Date.now();
  let sent = 0;
  if (scenario === 'latency') {
    const done = new Promise<number>((res) =>
      workers[0]?.on('message', (m: { type: string; sent: number }) => m.type === 'sent' && res(m.sent)),
    );
    workers[0]?.send({ cmd: 'send' });
    sent = await done;
    await sleep(2_000);
  } else {
    await sleep(seconds * 1000);
  }
  const elapsed = (Date.now() - started) / 1000;
  const after = edges.map((e) => sample(e.proc.pid as number));
  const coreAfter = sample(core.proc.pid as number);
  const clientsCpu = cpuOf(clientPids).map((c, i) => c - (clientsCpuBefore[i] as number));
  await gen?.mark();
  const bulkWindowBytes = (await bulkBytes()) - bulkBytesBefore;
  if (gen) clientsCpu.push(cpuOf(genPids).reduce((a, b) => a + b, 0) - genCpuBefore);
  const natsCpu = cpuSeconds(nats.pid as number) - natsCpuBefore;
  const load = loadavg();
  const metricsAfter = await scrapeAll();
  const natsAfter = await varz();
  if (profileDir) for (const p of profiled) p.proc.kill('SIGUSR2');

  const reports = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ latencies: number[]; received: number; open: number; frames: number; bytes: number }>((res) => {
          w.on('message', (m: { type: string }) => m.type === 'report' && res(m as never));
          w.send({ cmd: 'report' });
        }),
    ),
  );
  const genReport: LoadgenReport | undefined = gen ? (await gen.stop()).report : undefined;
  const lat = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const stillOpen = reports.reduce((n, r) => n + r.open, 0) + (genReport?.open ?? 0);
  const metric = async (port: number, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  const dropped = (await Promise.all(ports.map((p) => metric(p, 'barrage_dropped_total')))).reduce((a, b) => a + b, 0);
  const delivered = (await Promise.all(ports.map((p) => metric(p, 'barrage_events_out_total')))).reduce((a, b) => a + b, 0);
  /** Who the bulk viewers were and what they cost over the window: CPU, and CPU per GB read (the comparable figure). */
  const bulkClientsSummary = () => {
    const cpu = gen
      ? (clientsCpu[clientsCpu.length - 1] ?? 0)
      : clientsCpu.slice(scenario === 'latency' ? 2 : 0).reduce((a, b) => a + b, 0);
    const [m0, m1] = genReport?.marks ?? [];
    const bytes = m0 && m1 ? m1.bytes - m0.bytes : bulkWindowBytes;
    return {
      kind: clients,
      processes: gen ? genPids.length : workerCount,
      cpuPct: Number(((cpu / elapsed) * 100).toFixed(1)),
      mbPerSecond: Number((bytes / 1e6 / elapsed).toFixed(1)),
      cpuSecondsPerGb: Number((cpu / (bytes / 1e9)).toFixed(2)),
      ...(m0 && m1
        ? {
            framesPerSecond: Math.round((m1.frames - m0.frames) / elapsed),
            /** The kernel's share of the generator's CPU in the window: reading sockets is mostly kernel work. */
            kernelPct: Math.round((100 * (m1.sysSeconds - m0.sysSeconds)) / (m1.cpuSeconds - m0.cpuSeconds || 1)),
            closed: genReport?.closed,
            reasons: genReport?.reasons,
          }
        : {}),
    };
  };
  const result = {
    scenario,
    viewers,
    open,
    failed,
    stillOpen,
    edges: edgeCount,
    rate,
    seconds,
    sent,
    probeDelivery: scenario === 'latency' ? lat.length / (sent * probes) : undefined,
    edgeEventsOut: delivered,
    edgeEventsDroppedForSlowReaders: dropped,
    bulkMbReceived: Math.round((reports.reduce((n, r) => n + r.bytes, 0) + (genReport?.bytes ?? 0)) / 1e6),
    /** Who the bulk viewers were, and what the Go generator counted over the measured window. */
    bulkClients: bulkClientsSummary(),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    max: lat[lat.length - 1],
    perEdge: edges.map((_, i) => ({
      rssMb: Number(after[i]!.rssMb.toFixed(1)),
      rssPerConnKb: Number((((after[i]!.rssMb - base[i]!.rssMb) * 1024) / (open / edgeCount)).toFixed(2)),
      cpuPct: Number((((after[i]!.cpu - before[i]!.cpu) / elapsed) * 100).toFixed(1)),
    })),
    core: { rssMb: Number(coreAfter.rssMb.toFixed(1)), cpuPct: Number((((coreAfter.cpu - coreBefore.cpu) / elapsed) * 100).toFixed(1)) },
    /** What the servers measured over the same window, summed over the edges. */
    serverHops: {
      edge: hopSummary(metricsBefore.edges, metricsAfter.edges, 'barrage_edge_latency_seconds'),
      core: hopSummary(metricsBefore.core, metricsAfter.core, 'barrage_core_latency_seconds'),
    },
    /** CPU of the load clients (sender, probes, then the Node bulk workers or the Go generator), percent of one core. */
    clientsCpuPct: clientsCpu.map((c) => Number(((c / elapsed) * 100).toFixed(1))),
    nats: {
      cpuPct: Number(((natsCpu / elapsed) * 100).toFixed(1)),
      inMsgs: natsAfter.in_msgs - natsBefore.in_msgs,
      outMsgs: natsAfter.out_msgs - natsBefore.out_msgs,
      outMb: Math.round((natsAfter.out_bytes - natsBefore.out_bytes) / 1e5) / 10,
    },
    env: extraEnv,
    loadavg: load.map((l) => Number(l.toFixed(2))),
    profiles: undefined as Record<string, ProfileSummary> | undefined,
  };
  if (profileDir) {
    // The hook writes each profile a moment after the second signal.
    const profiles: Record<string, ProfileSummary> = {};
    for (const id of ['core', ...edges.map((_, i) => `edge${i + 1}`)]) {
      const path = join(profileDir, `${id}.cpuprofile`);
      for (let i = 0; i < 100; i++) {
        try {
          profiles[id] = summarizeProfile(path);
          break;
        } catch {
          await sleep(100);
        }
      }
    }
    result.profiles = profiles;
  }
  console.log(JSON.stringify(result, null, 2));
  for (const w of workers) w.send({ cmd: 'stop' });
  await sleep(500);
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}

/** SIGTERM to every child, SIGKILL to any still there after 12 s. */
async function stopAll(): Promise<void> {
  const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive()) c.kill('SIGTERM');
  const deadline = Date.now() + 12_000;
  while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  for (const c of alive()) {
    log(`pid ${c.pid} ignored SIGTERM; killing`);
    c.kill('SIGKILL');
  }
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll().then(() => process.exit(130)));
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    void stopAll().then(() => process.exit(1));
  },
);
