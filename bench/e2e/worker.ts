/**
 * A load worker, forked by run.ts: opens viewer connections (guests) to the
 * edges it is given, decodes every frame on a few probe connections to
 * measure latency, and optionally sends danmaku at a fixed rate, each
 * carrying its send time. Bounded: stops when told or after its deadline.
 */
import { v1 } from '../../proto/index.js';
import { RawWs } from './ws-client.js';

interface Job {
  edges: number[];
  rooms: string[];
  viewers: number;
  probes: number;
  /** Bulk viewers only count bytes (no parsing, no ping answers): the run is shorter than the idle timeout. */
  discard: boolean;
  /** Connections opened per second. */
  rampPerSecond: number;
  sender?: { port: number; room: string; token: string; rate: number; seconds: number };
  deadlineSeconds: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const latencies: number[] = [];
const conns: RawWs[] = [];
let failed = 0;
let received = 0;
/** How many probes saw each danmaku, by its number. */
const seen = new Map<number, number>();

function onProbe(payload: Buffer): void {
  const frame = v1.ServerFrame.decode(payload);
  if (!frame.batch || frame.batch.history) return;
  const now = Date.now();
  for (const e of frame.batch.events ?? []) {
    const text = e.danmaku?.text;
    if (!text || !text.startsWith('t')) continue;
    received++;
    const n = Number(text.slice(text.indexOf('-') + 1));
    seen.set(n, (seen.get(n) ?? 0) + 1);
    latencies.push(now - Number(text.slice(1, text.indexOf('-'))));
  }
}

async function openViewers(): Promise<void> {
  const batch = Math.max(1, Math.round(job.rampPerSecond / 20));
  for (let i = 0; i < job.viewers; i += batch) {
    const opens: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(job.viewers, i + batch); j++) {
      const port = job.edges[j % job.edges.length] as number;
      const room = job.rooms[j % job.rooms.length] as string;
      const probe = j < job.probes;
      opens.push(
        RawWs.open('127.0.0.1', port, `/ws?room=${room}`, probe ? onProbe : undefined).then(
          (ws) => {
            ws.discard = job.discard && !probe;
            conns.push(ws);
          },
          () => void failed++,
        ),
      );
    }
    await Promise.all(opens);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(): Promise<number> {
  const s = job.sender;
  if (!s) return 0;
  const ws = await RawWs.open('127.0.0.1', s.port, `/ws?room=${s.room}&token=${s.token}`);
  const start = Date.now();
  let sent = 0;
  const total = s.rate * s.seconds;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * s.rate));
      while (sent < due) {
        sent++;
        ws.send(v1.ClientFrame.encode({ sendDanmaku: { text: `t${Date.now()}-${sent}` } }).finish());
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  ws.close();
  return sent;
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'send') {
    void send().then((sent) => process.send?.({ type: 'sent', sent }));
  } else if (msg.cmd === 'report') {
    const open = conns.filter((c) => !c.closed).length;
    process.send?.({
      type: 'report',
      latencies,
      received,
      seen: [...seen],
      open,
      failed,
      frames: conns.reduce((n, c) => n + c.frames, 0),
      bytes: conns.reduce((n, c) => n + c.bytes, 0),
    });
  } else if (msg.cmd === 'count') {
    // What the bulk viewers took in so far: the harness asks at both ends of its window.
    process.send?.({ type: 'count', frames: conns.reduce((n, c) => n + c.frames, 0), bytes: conns.reduce((n, c) => n + c.bytes, 0) });
  } else if (msg.cmd === 'stop') {
    for (const c of conns) c.close();
    process.exit(0);
  }
});

setTimeout(() => process.exit(3), job.deadlineSeconds * 1000).unref();
void openViewers().then(() => process.send?.({ type: 'ready', open: conns.length, failed }));
