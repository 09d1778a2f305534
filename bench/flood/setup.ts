/**
 * What the flood benchmark needs around its clients: a real single-process
 * Barrage (`barrage start`, analytics on as by default) from any source tree,
 * so the same run can measure the code before the hardening; a room whose
 * history ring is full, so every accepted resume replays it; a word filter
 * that holds the attackers' danmaku; and an open-loop `/healthz` probe.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintToken } from '../../domain/auth.js';
import { ErrorCode, v1 } from '../../proto/index.js';
import { Histogram } from '../lib/histogram.js';
import { freePort } from '../lib/ports.js';
import { RawWs, encodeClientFrame } from '../lib/raw-ws.js';
import type { FrameSink } from '../lib/raw-ws.js';
import { readErrorCode, readWelcomeSeq } from './frames.js';
import type { LoopDelay } from './loop-hook.js';

/** Token secret and API key the benchmark starts Barrage with. */
export const floodSecret = 'flood-bench-secret-flood-bench-secret-0123';
const apiKey = 'flood-bench-api-key';
const host = '127.0.0.1';

/** Servers started and not yet stopped, so a run that is cut short can kill them. */
const started = new Set<ChildProcess>();

/** Kills every server this module started (on exit, or when a run passes its deadline). */
export function killServers(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A running Barrage process. */
export interface Barrage {
  port: number;
  pid: number;
  /** Starts a new event-loop delay window in the server. */
  resetLoopDelay(): void;
  /** The server's event-loop delay since the last reset (ms), or undefined when it did not answer in time. */
  loopDelay(): Promise<LoopDelay['loop'] | undefined>;
  stop(): Promise<void>;
}

const loopHook = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'loop-hook.ts')).href;

/** Starts `barrage start` from the source tree `tree` (with tsx) and waits until it is ready. */
export async function startBarrage(tree: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<Barrage> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'barrage-flood-'));
  const child: ChildProcess = fork(join(tree, 'bin/barrage.ts'), ['start'], {
    cwd: tree,
    execArgv: ['--import', 'tsx', '--import', loopHook, '--max-semi-space-size=1', ...nodeFlags],
    env: {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      HOST: host,
      BARRAGE_SECRET: floodSecret,
      BARRAGE_API_KEY: apiKey,
      BARRAGE_LOG_LEVEL: 'warn',
      BARRAGE_EDGE_ID: 'flood',
      BARRAGE_ANALYTICS_PATH: join(data, 'analytics'),
      BARRAGE_ANALYTICS_SPILL: join(data, 'spill'),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  started.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM first, so node flags that write on exit (--cpu-prof) get to write.
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(killer);
    }
    started.delete(child);
    rmSync(data, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`barrage exited with ${child.exitCode} before it was ready`);
    if ((await get(port, '/readyz').catch(() => 0)) === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('barrage was not ready within 60 s');
    }
    await sleep(100);
  }
  return {
    port,
    pid: child.pid as number,
    resetLoopDelay: () => void child.send('loop-reset'),
    loopDelay: () =>
      new Promise((resolveDelay) => {
        // A frozen server answers once it runs again; its answer then covers the freeze.
        const timer = setTimeout(() => {
          child.off('message', on);
          resolveDelay(undefined);
        }, 30_000);
        const on = (m: unknown): void => {
          if (typeof m !== 'object' || m === null || !('loop' in m)) return;
          clearTimeout(timer);
          child.off('message', on);
          resolveDelay((m as LoopDelay).loop);
        };
        child.on('message', on);
        child.send('loop');
      }),
    stop,
  };
}

/** Status of one GET (body read and dropped). */
function get(port: number, path: string, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** A viewer token for the benchmark's room. */
export function viewerToken(room: string, user: string): Promise<string> {
  return mintToken(new TextEncoder().encode(floodSecret), { room, user, name: user, role: 'viewer' });
}

/** The room's latest seq, from a guest's Welcome. */
async function roomSeq(port: number, room: string): Promise<number> {
  let seq = -1;
  let done: () => void = () => undefined;
  const got = new Promise<void>((resolve) => (done = resolve));
  const sink: FrameSink = {
    frame(_c, _o, buf, start, end) {
      seq = Math.max(seq, readWelcomeSeq(buf, start, end));
      if (seq >= 0) done();
    },
    closed: () => done(),
  };
  const ws = new RawWs({ host, port, path: `/ws?room=${room}`, sink });
  await Promise.race([got, sleep(5_000)]);
  ws.close();
  return seq;
}

/**
 * Fills the room's history with `events` danmaku from `events / 5` viewers
 * (5 each: the default burst), then waits until the room's seq shows them.
 */
export async function prefill(port: number, room: string, events: number): Promise<number> {
  const perSocket = 5;
  const sink: FrameSink = { frame: () => undefined, closed: () => undefined };
  const socketCount = Math.ceil(events / perSocket);
  const sockets: RawWs[] = [];
  for (let i = 0; i < socketCount; i++) {
    const token = await viewerToken(room, `history${i}`);
    sockets.push(new RawWs({ host, port, path: `/ws?room=${room}&token=${token}`, sink }));
  }
  for (const [i, ws] of sockets.entries()) {
    await ws.opened;
    const frames = [];
    for (let j = 0; j < perSocket && i * perSocket + j < events; j++) {
      frames.push(encodeClientFrame(v1.ClientFrame.encode({ sendDanmaku: { text: `history ${i * perSocket + j}` } }).finish()));
    }
    ws.sendRaw(Buffer.concat(frames));
  }
  let seq = 0;
  for (let waited = 0; waited < 20_000; waited += 200) {
    seq = await roomSeq(port, room);
    if (seq >= events) break;
    await sleep(200);
  }
  for (const ws of sockets) ws.close();
  if (seq < events) throw new Error(`history holds ${seq} events, wanted ${events}`);
  return seq;
}

/** Sets the room's word filter to hold `word`, and waits until a danmaku carrying it is held. */
export async function holdWord(port: number, room: string, word: string): Promise<void> {
  const status = await new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ terms: [word], action: 'hold' });
    const req = request(
      {
        host,
        port,
        method: 'PUT',
        path: `/api/v1/rooms/${room}/filter`,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (status !== 200 && status !== 204) throw new Error(`PUT filter answered ${status}`);
  let held = false;
  const sink: FrameSink = {
    frame(_c, _o, buf, start, end) {
      if (readErrorCode(buf, start, end) === ErrorCode.ERROR_CODE_HELD) held = true;
    },
    closed: () => undefined,
  };
  const ws = new RawWs({ host, port, path: `/ws?room=${room}&token=${await viewerToken(room, 'filter-check')}`, sink });
  await ws.opened;
  // Edges apply new rules within a second; one try per 500 ms stays inside the danmaku limit.
  for (let i = 0; i < 20 && !held; i++) {
    ws.send(v1.ClientFrame.encode({ sendDanmaku: { text: `${word} check` } }).finish());
    for (let w = 0; w < 25 && !held; w++) await sleep(20);
  }
  ws.close();
  if (!held) throw new Error(`a danmaku with "${word}" was not held within 10 s`);
}

/** Latencies of an open-loop `/healthz` probe: one request every `intervalMs`, timed from when it was due. */
export class HealthProbe {
  readonly latency = new Histogram();
  max = 0;
  failed = 0;
  private running = false;
  /** Due times of the probes in flight. */
  private readonly pending = new Set<number>();
  /** Enough sockets that probes do not queue behind each other in this process when the server is slow. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly port: number,
    private readonly intervalMs = 10,
  ) {}

  /** Probes until `stop()`; a stalled server shows as probes that waited, not as probes skipped. */
  start(): void {
    this.running = true;
    const t0 = performance.now();
    let issued = 0;
    const tick = (): void => {
      if (!this.running) return;
      const due = Math.floor((performance.now() - t0) / this.intervalMs) + 1;
      while (issued < due) this.probe(t0 + issued++ * this.intervalMs);
      setTimeout(tick, Math.max(0, t0 + issued * this.intervalMs - performance.now()));
    };
    tick();
  }

  private probe(dueAt: number): void {
    // Bounded: a server that stops answering costs at most a few hundred outstanding requests.
    if (this.pending.size >= 500) {
      this.failed++;
      return;
    }
    this.pending.add(dueAt);
    get(this.port, '/healthz', this.agent).then(
      (status) => this.done(dueAt, status === 200),
      () => this.done(dueAt, false),
    );
  }

  /** Records a probe that answered, failed or was given up on: each took at least this long. */
  private done(dueAt: number, ok: boolean): void {
    if (!this.pending.delete(dueAt)) return;
    if (!ok) this.failed++;
    const ms = Math.max(0, performance.now() - dueAt);
    this.latency.record(ms);
    this.max = Math.max(this.max, ms);
  }

  /** Stops issuing probes and waits (bounded) for those in flight; any still unanswered count as failed. */
  async stop(): Promise<void> {
    this.running = false;
    for (let waited = 0; this.pending.size > 0 && waited < 5_000; waited += 20) await sleep(20);
    for (const dueAt of [...this.pending]) this.done(dueAt, false);
    this.agent.destroy();
  }
}

/** Sums of a few edge counters from /metrics, by label value (`name{label="x"}` → `x`). */
export async function scrape(port: number): Promise<Record<string, Record<string, number>>> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host, port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  const wanted = [
    'barrage_rate_limited_total',
    'barrage_closes_total',
    'barrage_upgrades_total',
    'barrage_internal_errors_total',
    'barrage_ip_abuse_strikes_total',
    'barrage_ip_penalties_total',
  ];
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const name = wanted.find((w) => line.startsWith(w));
    if (!name) continue;
    const label = /="([^"]*)"/.exec(line)?.[1] ?? '';
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const m = (out[name] ??= {});
    m[label] = (m[label] ?? 0) + value;
  }
  return out;
}
