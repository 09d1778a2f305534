/**
 * Preloaded into core and the edges (`NODE_OPTIONS=--import .../loop-hook.ts`
 * around bench/e2e/run.ts): once a second it appends one line to
 * `$LOOP_HOOK_DIR/<role>-<pid>.jsonl` with the event loop's utilisation (the
 * share of time not idle in epoll), its delay (how late a 1 ms timer ran:
 * the loop busy, or the process waiting for a CPU), the process's CPU and
 * run-queue wait from /proc schedstat, and the NATS socket's reads (chunks,
 * bytes). Other processes (the load clients) load it and do nothing.
 */
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const role = process.argv.find((a) => a === 'edge' || a === 'core');
const dir = process.env['LOOP_HOOK_DIR'];
if (role && dir) {
  const id = process.env['BARRAGE_EDGE_ID'] ?? role;
  const file = join(dir, `${id}-${process.pid}.jsonl`);
  const natsPort = Number(/nats:\/\/[^:]+:(\d+)/.exec(process.argv.join(' '))?.[1] ?? 0);
  let chunks = 0;
  let bytes = 0;
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data' && this.remotePort === natsPort) {
      chunks++;
      bytes += (args[0] as Buffer).length;
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof emit;
  const sched = (): [number, number, number] => {
    const sum: [number, number, number] = [0, 0, 0];
    for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
      const f = readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      for (let i = 0; i < 3; i++) sum[i]! += f[i] ?? 0;
    }
    return sum;
  };
  const mainSched = (): [number, number, number] => {
    const f = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return [f[0] ?? 0, f[1] ?? 0, f[2] ?? 0];
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let elu = performance.eventLoopUtilization();
  let s0 = sched();
  let m0 = mainSched();
  setInterval(() => {
    const e = performance.eventLoopUtilization(elu);
    elu = performance.eventLoopUtilization();
    const s1 = sched();
    const m1 = mainSched();
    const line = {
      t: Date.now(),
      elu: Math.round(e.utilization * 1000) / 1000,
      delayP50: Math.round(delay.percentile(50) / 1e4) / 100,
      delayP99: Math.round(delay.percentile(99) / 1e4) / 100,
      delayMax: Math.round(delay.max / 1e4) / 100,
      cpuMs: Math.round((s1[0] - s0[0]) / 1e6),
      runqMs: Math.round((s1[1] - s0[1]) / 1e6),
      mainCpuMs: Math.round((m1[0] - m0[0]) / 1e6),
      mainRunqMs: Math.round((m1[1] - m0[1]) / 1e6),
      mainSlices: m1[2] - m0[2],
      natsChunks: chunks,
      natsBytes: bytes,
    };
    chunks = 0;
    bytes = 0;
    s0 = s1;
    m0 = m1;
    delay.reset();
    appendFileSync(file, JSON.stringify(line) + '\n');
  }, 1000).unref();
}
