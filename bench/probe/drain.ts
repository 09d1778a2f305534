/**
 * Where an edge's fan-out time goes: one uWebSockets.js app with N viewer
 * sockets (raw clients in a child process that only count bytes) publishes
 * one small frame every `--every` ms, from a timer as the batcher does. Per
 * frame it records how long `publish` took in JavaScript, how long until the
 * next turn of the loop (uWS writes a frame under 16 KB to every socket of
 * the topic in its own loop handler, after JavaScript returned), and the
 * process's CPU per frame; and it checks every client got every frame.
 *
 *   node --import tsx bench/probe/drain.ts --sockets 2500 --frames 200 --every 25
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as uWS from 'uWebSockets.js';
import { Opcode, RawWs } from '../lib/raw-ws.js';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '2500' },
    frames: { type: 'string', default: '200' },
    every: { type: 'string', default: '25' },
    bytes: { type: 'string', default: '120' },
    child: { type: 'string' },
  },
});

if (values.child) {
  // The clients: open, count frames, report on request.
  const [port, count] = values.child.split(':').map(Number) as [number, number];
  let frames = 0;
  const sink = { frame: () => void frames++, closed: () => undefined };
  const conns: RawWs[] = [];
  for (let i = 0; i < count; i++) {
    conns.push(new RawWs({ host: '127.0.0.1', port, path: '/ws', sink }));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(conns.map((c) => c.opened));
  process.send?.({ open: conns.length });
  process.on('message', () => process.send?.({ frames }));
} else {
  const sockets = Number(values.sockets);
  const frames = Number(values.frames);
  const every = Number(values.every);
  const frame = Buffer.alloc(Number(values.bytes), 7);
  const app = uWS.App().ws('/ws', {
    maxBackpressure: 1 << 20,
    open: (ws) => void ws.subscribe('room'),
  });
  const port = await new Promise<number>((resolve) =>
    app.listen('127.0.0.1', 0, (s) => resolve(uWS.us_socket_local_port(s as uWS.us_listen_socket))),
  );
  const child = fork(fileURLToPath(import.meta.url), ['--child', `${port}:${sockets}`], { execArgv: ['--import', 'tsx'] });
  const next = () => new Promise<{ open?: number; frames?: number }>((r) => child.once('message', r as never));
  await next();
  const publishMs: number[] = [];
  const turnMs: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    await new Promise((r) => setTimeout(r, every));
    const start = performance.now();
    app.publish('room', frame, true, false);
    publishMs.push(performance.now() - start);
    await new Promise<void>((r) => setImmediate(() => (turnMs.push(performance.now() - start), r())));
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 500));
  child.send('report');
  const received = (await next()).frames ?? 0;
  const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
  const round = (n: number | undefined) => Math.round((n ?? NaN) * 100) / 100;
  console.log(
    JSON.stringify({
      sockets,
      frames,
      everyMs: every,
      publishInJsMs: { p50: round(pct(publishMs, 50)), p99: round(pct(publishMs, 99)) },
      untilNextTurnMs: { p50: round(pct(turnMs, 50)), p99: round(pct(turnMs, 99)) },
      cpuMsPerFrame: round((cpu.user + cpu.system) / 1000 / frames),
      cpuUsPerSocketFrame: round((cpu.user + cpu.system) / frames / sockets),
      processCpuPct: round(((cpu.user + cpu.system) / 1000 / wall) * 100),
      delivered: received / (sockets * frames),
    }),
  );
  child.kill();
  app.close();
  process.exit(0);
}
void Opcode;
