/**
 * The fan-out harness: starts a server (Barrage or a peer) as its own process,
 * spreads raw viewer connections over child processes, drives one sender at a
 * fixed offered rate, and measures what arrives, how late, and what the
 * server process spent (CPU from /proc, RSS).
 *
 * Runs from TypeScript (tests, via tsx) or from the compiled dist/ tree (the
 * benchmark); every script it starts is resolved the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mintToken } from '../../domain/auth.js';
import { Histogram } from '../lib/histogram.js';
import { ProcessMeter, rssBytes } from '../lib/proc.js';
import { Opcode, RawWs } from '../lib/raw-ws.js';
import type { FrameSink } from '../lib/raw-ws.js';
import { encodeMessage, nowUs, senderPath } from './protocols.js';
import type { ServerKind } from './protocols.js';
import type { ViewerCommand, ViewerReply, ViewerSnapshot } from './viewers.js';
import { freePort } from '../lib/ports.js';

export { freePort };

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const ext = fromSource ? '.ts' : '.js';
/** The repository root when run from source, dist/ when compiled. */
const root = resolve(here, '../..');
const childExecArgv = fromSource ? ['--import', 'tsx'] : [];

/** Absolute path of one of the project's scripts, in the form this run uses. */
function script(relativeWithoutExt: string): string {
  return join(root, relativeWithoutExt + ext);
}

/** The secret the harness starts Barrage with and signs the sender's token with. */
export const benchSecret = 'bench-secret-bench-secret-bench-secret-0123';
const host = '127.0.0.1';

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((done) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
}

export { sleep };

/** A server process under test. */
export interface ServerProcess {
  kind: ServerKind;
  port: number;
  pid: number;
  /** Asks the server for a full GC (when the hook is loaded) and waits for it, bounded; resolves with its memory usage after. */
  gc(): Promise<NodeJS.MemoryUsage | undefined>;
  stop(): Promise<void>;
}

/** Options for starting a server. */
export interface ServerOptions {
  /** Barrage's BARRAGE_BATCH_MS. */
  batchMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** Starts one server as a child process and waits until it accepts connections. */
/** The V8 flags `npm start` gives Barrage (package.json). */
export const barrageNodeFlags = ['--max-semi-space-size=1'];

export async function startServer(kind: ServerKind, options: ServerOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const hook = pathToFileURL(script('bench/lib/server-hook')).href;
  const execArgv = [...childExecArgv, '--expose-gc', '--import', hook];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: String(port), HOST: host, ...options.env };
  let modulePath: string;
  let args: string[] = [];
  if (kind === 'barrage') {
    modulePath = script('bin/barrage');
    args = ['start'];
    // As `npm start` runs it (see docs/benchmarks.md, idle cost).
    if (!(options.env?.['NODE_OPTIONS'] ?? '').includes('semi-space')) execArgv.push(...barrageNodeFlags);
    Object.assign(env, {
      BARRAGE_SECRET: benchSecret,
      BARRAGE_BATCH_MS: String(options.batchMs ?? 25),
      // A fixed window, as the table's label says (the adaptive window, on by default, would grow it to 100 ms at 5,000 viewers).
      BARRAGE_BATCH_WRITES: '0',
      // One sender carries the whole room's traffic: lift its per-connection limits.
      BARRAGE_DANMAKU_RATE: '10000',
      BARRAGE_DANMAKU_BURST: '10000',
      BARRAGE_FRAME_RATE: '100000',
      BARRAGE_FRAME_BURST: '100000',
      BARRAGE_GUEST_ROOMS: '*',
      BARRAGE_LOG_LEVEL: 'warn',
      BARRAGE_EDGE_ID: 'bench',
      // An edge's work only: the peers run no embedded ClickHouse, and a clustered edge does not either.
      BARRAGE_ANALYTICS: 'off',
      ...options.env,
    });
  } else {
    modulePath = script(`bench/peers/${kind === 'uws-batched' ? 'uws' : kind}-server`);
    if (kind === 'uws-batched') env['BATCH_MS'] = '25';
  }
  const child = fork(modulePath, args, { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await waitForPort(port, child, 20_000);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    kind,
    port,
    pid: child.pid as number,
    async gc() {
      if (!child.connected) return undefined;
      const done = new Promise<NodeJS.MemoryUsage>((r) => child.once('message', (m) => r((m as { memory: NodeJS.MemoryUsage }).memory)));
      child.send('gc');
      return Promise.race([done, sleep(3_000).then(() => undefined)]);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A group of viewer processes holding connections to one server. */
export class Viewers {
  private readonly children: ChildProcess[] = [];
  private readonly pending = new Map<ChildProcess, Array<(r: ViewerReply) => void>>();

  private constructor(readonly processes: number) {
    for (let i = 0; i < processes; i++) {
      const child = fork(script('bench/fanout/viewers'), [], { execArgv: childExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.pending.set(child, []);
      child.on('message', (m) => this.pending.get(child)?.shift()?.(m as ViewerReply));
      this.children.push(child);
    }
  }

  /** Connects `count` viewers spread over `processes` processes; throws if any failed. */
  static async connect(options: {
    server: ServerProcess;
    room: string;
    count: number;
    processes: number;
    sampleEvery?: number;
  }): Promise<Viewers> {
    const v = new Viewers(options.processes);
    const per = Math.ceil(options.count / options.processes);
    const replies = await Promise.all(
      v.children.map((c, i) =>
        v.ask(c, {
          cmd: 'connect',
          host,
          port: options.server.port,
          kind: options.server.kind,
          room: options.room,
          count: Math.max(0, Math.min(per, options.count - i * per)),
          sampleEvery: options.sampleEvery ?? 50,
          concurrency: 64,
        }),
      ),
    );
    let ready = 0;
    for (const r of replies) {
      if (r.type === 'error') throw new Error(`viewer process failed: ${r.message}`);
      if (r.type === 'connected') {
        ready += r.ready;
        if (r.failed > 0) {
          await v.close();
          throw new Error(`${r.failed} viewers failed to connect: ${r.firstError}`);
        }
      }
    }
    if (ready !== options.count) {
      await v.close();
      throw new Error(`only ${ready} of ${options.count} viewers joined`);
    }
    return v;
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid as number);
  }

  private ask(child: ChildProcess, command: ViewerCommand): Promise<ViewerReply> {
    return new Promise((r) => {
      this.pending.get(child)?.push(r);
      child.send(command);
    });
  }

  async reset(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { cmd: 'reset' })));
  }

  /** Counters summed over processes since the last reset. */
  async snapshot(): Promise<{ messages: number; frames: number; open: number; closed: number; e2e: Histogram; server: Histogram }> {
    const all = (await Promise.all(this.children.map((c) => this.ask(c, { cmd: 'snapshot' })))) as ViewerSnapshot[];
    const e2e = new Histogram();
    const server = new Histogram();
    let messages = 0;
    let frames = 0;
    let open = 0;
    let closed = 0;
    for (const s of all) {
      messages += s.messages;
      frames += s.frames;
      open += s.open;
      closed += s.closed;
      e2e.addSparse(s.e2e);
      server.addSparse(s.server);
    }
    return { messages, frames, open, closed, e2e, server };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) return r();
            c.once('exit', () => r());
            c.send({ cmd: 'close' } satisfies ViewerCommand);
            setTimeout(() => c.kill('SIGKILL'), 3_000).unref();
          }),
      ),
    );
  }
}

/** The one connection that injects messages at a fixed rate. */
export class Sender {
  /** Error frames the server answered with (Barrage: rate limits, validation). */
  errors = 0;
  private joined: (() => void) | undefined;
  private conn!: RawWs;

  private constructor(readonly kind: ServerKind) {}

  /** Reads what the server sends the sender: pings, joins, errors. */
  private readonly sink: FrameSink = {
    frame: (conn, opcode, buf, start, end) => {
      if (this.kind === 'socketio' && opcode === Opcode.Text) {
        const c0 = buf[start];
        if (c0 === 0x32 && end - start === 1) conn.send('3', Opcode.Text);
        else if (c0 === 0x30) conn.send('40', Opcode.Text);
        else if (c0 === 0x34 && buf[start + 1] === 0x30) this.joined?.();
      } else if (this.kind === 'barrage') {
        const isError = buf[start] === 0x1a; // ServerFrame.error
        if (isError) this.errors++;
        else this.joined?.();
      }
    },
    closed: () => {},
  };

  static async connect(server: ServerProcess, room: string): Promise<Sender> {
    const token =
      server.kind === 'barrage'
        ? await mintToken(new TextEncoder().encode(benchSecret), { room, user: 'sender', name: 'sender', role: 'viewer' })
        : '';
    const sender = new Sender(server.kind);
    const joined = new Promise<void>((r) => (sender.joined = r));
    sender.conn = new RawWs({ host, port: server.port, path: senderPath(server.kind, room, token), sink: sender.sink });
    await sender.conn.opened;
    if (server.kind === 'barrage' || server.kind === 'socketio') await Promise.race([joined, sleep(5_000)]);
    sender.joined = undefined;
    return sender;
  }

  /** Sends at `rate` messages/s for `durationMs`; resolves with how many were sent. */
  async run(rate: number, durationMs: number): Promise<number> {
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor((rate * Math.min(elapsed, durationMs)) / 1000), Math.floor((rate * durationMs) / 1000)) - sent;
      if (due > 0) {
        const us = nowUs();
        const frames: Buffer[] = [];
        for (let i = 0; i < due; i++) frames.push(encodeMessage(this.kind, us));
        this.conn.sendRaw(Buffer.concat(frames));
        sent += due;
      }
      if (elapsed >= durationMs) return sent;
      await sleep(2);
    }
  }

  close(): void {
    this.conn.close();
  }
}

/** One fixed offered rate held for a while, and what came of it. */
export interface StepResult {
  /** Messages per second the sender offered. */
  offered: number;
  sent: number;
  viewers: number;
  /** Messages per second delivered to all viewers together, in the steady window. */
  deliveredPerSec: number;
  /** Delivered over what should have arrived (sent × viewers), after draining. */
  completeness: number;
  /** Frames per second received, to show batching. */
  framesPerSec: number;
  /** Sender stamp to receipt, ms. */
  p50: number;
  p99: number;
  /** Barrage only: server ts_ms to receipt, ms (ms resolution). */
  serverP50: number;
  serverP99: number;
  serverCpu: number;
  serverRss: number;
  clientCpu: number;
  senderErrors: number;
  saturated: boolean;
}

/** Options of one step. */
export interface StepOptions {
  rate: number;
  durationMs: number;
  /** Excluded from the throughput window at the start of a step. */
  warmMs?: number;
  /** Longest wait for late messages after the sender stops. */
  drainMs?: number;
}

/** Holds one offered rate and measures the result. */
export async function runStep(server: ServerProcess, viewers: Viewers, sender: Sender, count: number, o: StepOptions): Promise<StepResult> {
  const warmMs = o.warmMs ?? Math.min(500, o.durationMs / 4);
  await viewers.reset();
  sender.errors = 0;
  const serverMeter = new ProcessMeter(server.pid);
  const clientMeters = viewers.pids.map((pid) => new ProcessMeter(pid));
  const sending = sender.run(o.rate, o.durationMs);
  await sleep(warmMs);
  const tA = performance.now();
  const a = await viewers.snapshot();
  serverMeter.start();
  for (const m of clientMeters) m.start();
  const sent = await sending;
  const b = await viewers.snapshot();
  const tB = performance.now();
  const srv = serverMeter.stop();
  const clientCpu = clientMeters.reduce((sum, m) => sum + m.stop().cpuPercent, 0);
  const expected = sent * count;
  // Drain: wait until everything arrived or nothing more comes.
  let last = b;
  let lastProgress = performance.now();
  const drainDeadline = performance.now() + (o.drainMs ?? 5_000);
  while (last.messages < expected && performance.now() < drainDeadline && performance.now() - lastProgress < 1_000) {
    await sleep(100);
    const s = await viewers.snapshot();
    if (s.messages > last.messages) lastProgress = performance.now();
    last = s;
  }
  const seconds = (tB - tA) / 1000;
  const deliveredPerSec = (b.messages - a.messages) / seconds;
  const completeness = expected === 0 ? 1 : last.messages / expected;
  const p99 = last.e2e.quantile(0.99);
  const saturated = deliveredPerSec < 0.9 * o.rate * count || completeness < 0.999 || !(p99 < 1_000);
  return {
    offered: o.rate,
    sent,
    viewers: count,
    deliveredPerSec,
    completeness,
    framesPerSec: (b.frames - a.frames) / seconds,
    p50: last.e2e.quantile(0.5),
    p99,
    serverP50: last.server.quantile(0.5),
    serverP99: last.server.quantile(0.99),
    serverCpu: srv.cpuPercent,
    serverRss: srv.rssPeak,
    clientCpu,
    senderErrors: sender.errors,
    saturated,
  };
}

/** A server run through a ladder of offered rates. */
export interface LadderResult {
  kind: ServerKind;
  batchMs: number | undefined;
  viewers: number;
  steps: StepResult[];
  /** The step with the most messages delivered per second. */
  peak: StepResult | undefined;
  /** The highest offered rate fully delivered with p99 under 1 s. */
  sustained: StepResult | undefined;
}

/** Options of a ladder run. */
export interface LadderOptions {
  kind: ServerKind;
  batchMs?: number;
  viewers: number;
  processes: number;
  rates: readonly number[];
  stepMs: number;
  sampleEvery?: number;
  /** Extra environment for the server process (e.g. NODE_OPTIONS). */
  env?: Record<string, string>;
  /** Called after each step (progress output). */
  onStep?: (step: StepResult) => void;
}

/**
 * Starts the server, connects the viewers, then raises the offered rate step
 * by step until it saturates (delivery falls behind, drops, or p99 ≥ 1 s).
 */
export async function runLadder(o: LadderOptions): Promise<LadderResult> {
  const server = await startServer(o.kind, {
    ...(o.batchMs === undefined ? {} : { batchMs: o.batchMs }),
    ...(o.env ? { env: o.env } : {}),
  });
  const room = `bench${Date.now() % 1_000_000}`;
  let viewers: Viewers | undefined;
  let sender: Sender | undefined;
  const steps: StepResult[] = [];
  try {
    viewers = await Viewers.connect({ server, room, count: o.viewers, processes: o.processes, sampleEvery: o.sampleEvery ?? 50 });
    sender = await Sender.connect(server, room);
    await sleep(300);
    // Past the first saturated step delivery can still rise (a busy server
    // batches more per write), so go on until two steps in a row saturate or
    // delivery stops rising.
    let saturatedSteps = 0;
    for (const rate of o.rates) {
      const step = await runStep(server, viewers, sender, o.viewers, { rate, durationMs: o.stepMs });
      const previous = steps[steps.length - 1];
      steps.push(step);
      o.onStep?.(step);
      saturatedSteps = step.saturated ? saturatedSteps + 1 : 0;
      if (saturatedSteps >= 2 || (step.saturated && previous && step.deliveredPerSec <= previous.deliveredPerSec)) break;
    }
  } finally {
    sender?.close();
    await viewers?.close();
    await server.stop();
  }
  let peak: StepResult | undefined;
  let sustained: StepResult | undefined;
  for (const s of steps) {
    if (!peak || s.deliveredPerSec > peak.deliveredPerSec) peak = s;
    if (!s.saturated) sustained = s;
  }
  return { kind: o.kind, batchMs: o.kind === 'barrage' ? (o.batchMs ?? 25) : undefined, viewers: o.viewers, steps, peak, sustained };
}

/** Idle memory cost of connections on one server. */
export interface IdleResult {
  kind: ServerKind;
  /** How the server was started differently from the default, if it was. */
  variant: string;
  connections: number;
  rssBefore: number;
  rssAfter: number;
  bytesPerConnection: number;
  /** Of which V8 heap in use (after GC) per connection. */
  heapPerConnection: number;
  /**
   * Of which file-backed pages (RssFile: code and data of the binaries,
   * paged in as code runs for the first time) per connection. Near zero
   * unless something ran new code meanwhile: with analytics on, chDB's
   * first inserts and merges page in ~18 MiB of libchdb.so.
   */
  filePerConnection: number;
}

/** How an idle measurement is set up beyond the server's options. */
export interface IdleSetup {
  /** Names the row instead of the server's environment. */
  label?: string;
  /**
   * Before the baseline, a signed-in sender chats in another room for this
   * long (20 danmaku/s), so whatever the first real traffic starts (chDB's
   * inserts and merges) is in the baseline and not counted per connection.
   */
  warmMs?: number;
}

/**
 * How long the connections are held before the second reading. Long enough
 * for what connections set off later to show: presence reports, then online
 * counts every 1-2 s, then (analytics on) the sink's inserts after its 1 s
 * flush and the engine's first merges a few inserts later.
 */
const idleHoldMs = 10_000;

/** File-backed resident bytes of a process (RssFile). */
function rssFileBytes(pid: number): number {
  const kb = /RssFile:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

/** RSS of a server with no connections and with `connections` idle ones, both after a full GC. */
export async function runIdle(
  kind: ServerKind,
  connections: number,
  processes: number,
  variant: ServerOptions = {},
  setup: IdleSetup = {},
): Promise<IdleResult> {
  const server = await startServer(kind, variant);
  let viewers: Viewers | undefined;
  try {
    await sleep(1_000);
    if (setup.warmMs) {
      const sender = await Sender.connect(server, 'warm');
      await sender.run(20, setup.warmMs);
      sender.close();
      await sleep(3_000); // the last batch is inserted, merges settle
    }
    const before = await server.gc();
    await sleep(300);
    const rssBefore = rssBytes(server.pid);
    const fileBefore = rssFileBytes(server.pid);
    viewers = await Viewers.connect({ server, room: 'idle', count: connections, processes, sampleEvery: 1_000_000 });
    await sleep(idleHoldMs);
    const after = await server.gc();
    await sleep(500);
    const rssAfter = rssBytes(server.pid);
    const fileAfter = rssFileBytes(server.pid);
    return {
      kind,
      variant:
        setup.label ??
        Object.entries(variant.env ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      connections,
      rssBefore,
      rssAfter,
      bytesPerConnection: (rssAfter - rssBefore) / connections,
      heapPerConnection: before && after ? (after.heapUsed - before.heapUsed) / connections : Number.NaN,
      filePerConnection: (fileAfter - fileBefore) / connections,
    };
  } finally {
    await viewers?.close();
    await server.stop();
  }
}
