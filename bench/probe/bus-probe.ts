/**
 * A bare NATS subscriber beside a running cluster: for every message on the
 * ingress, stored-log and `.ev` subjects, the time since the event's `ts_ms`
 * as this process sees it. Tells NATS's own delivery apart from an edge's
 * event loop (the edge's `bus` hop).
 *
 * With process ids after the seconds (`name=pid`), also each process's time
 * on a CPU and waiting in the run queue over the same window, from
 * /proc/PID/task/TID/schedstat (summed over the process's threads), and the
 * number of times it was switched in.
 *
 *   node --import tsx bench/probe/bus-probe.ts nats://127.0.0.1:PORT SECONDS [name=pid ...]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { eventTsMs } from '../../edge/frames.js';

const [url = 'nats://127.0.0.1:4222', secondsArg = '15', ...procArgs] = process.argv.slice(2);
const procs = procArgs.map((a) => a.split('=') as [string, string]);
/** On-CPU ns, run-queue wait ns, slices: summed over the threads of `pid`. */
function schedstat(pid: string): [number, number, number] {
  const sum: [number, number, number] = [0, 0, 0];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      for (let i = 0; i < 3; i++) sum[i]! += f[i] ?? 0;
    }
  } catch {
    // The process ended.
  }
  return sum;
}
const nc = await connect({ servers: url, name: 'bus-probe' });
const series: Record<string, number[]> = { in: [], log: [], ev: [], gapEv: [] };
let lastEv = 0;
const watch = (subject: string, key: string) =>
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      const now = Date.now();
      const ts = eventTsMs(msg.data);
      if (ts > 0) series[key]!.push(now - ts);
      if (key === 'ev') {
        const t = performance.now();
        if (lastEv > 0) series.gapEv!.push(t - lastEv);
        lastEv = t;
      }
    },
  });
watch('barrage.room.*.in', 'in');
watch('barrage.log.>', 'log');
watch('barrage.room.*.ev', 'ev');
const sched0 = procs.map(([, pid]) => schedstat(pid));
const t0 = performance.now();
await new Promise((r) => setTimeout(r, Number(secondsArg) * 1000));
const wallMs = performance.now() - t0;
const sched = Object.fromEntries(
  procs.map(([name, pid], i) => {
    const [cpu, wait, slices] = schedstat(pid).map((v, j) => v - sched0[i]![j]!);
    return [
      name,
      {
        cpuPct: Math.round((cpu! / 1e6 / wallMs) * 1000) / 10,
        runqWaitPct: Math.round((wait! / 1e6 / wallMs) * 1000) / 10,
        waitPerSliceMs: Math.round((wait! / 1e6 / Math.max(1, slices!)) * 100) / 100,
        slices,
      },
    ];
  }),
);
const pct = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
const out: Record<string, unknown> = {};
for (const [k, v] of Object.entries(series)) {
  v.sort((a, b) => a - b);
  out[k] = { n: v.length, p10: pct(v, 10), p50: pct(v, 50), p90: pct(v, 90), p99: pct(v, 99), max: v[v.length - 1] };
}
out.sched = sched;
console.log(JSON.stringify(out));
await nc.close();
