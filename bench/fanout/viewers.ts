/**
 * A viewer process: holds many raw WebSocket connections to one server,
 * counts delivered messages and records latency on a sample of connections.
 * Driven by its parent over IPC (see `ViewerCommand`, `ViewerReply`).
 */
import { Histogram } from '../lib/histogram.js';
import { Opcode, RawWs } from '../lib/raw-ws.js';
import type { FrameSink } from '../lib/raw-ws.js';
import { counterFor, viewerPath } from './protocols.js';
import type { Samples, ServerKind } from './protocols.js';

/** What the parent asks. */
export type ViewerCommand =
  | {
      cmd: 'connect';
      host: string;
      port: number;
      kind: ServerKind;
      room: string;
      count: number;
      /** Every n-th connection records latency. */
      sampleEvery: number;
      /** Handshakes in flight at once. */
      concurrency: number;
    }
  | { cmd: 'reset' }
  | { cmd: 'snapshot' }
  | { cmd: 'close' };

/** Counters since the last reset. */
export interface ViewerSnapshot {
  type: 'snapshot';
  messages: number;
  frames: number;
  open: number;
  closed: number;
  e2e: Array<[number, number]>;
  server: Array<[number, number]>;
}

/** What the process answers. */
export type ViewerReply =
  | { type: 'connected'; ready: number; failed: number; firstError: string }
  | { type: 'reset' }
  | ViewerSnapshot
  | { type: 'error'; message: string };

const samples: Samples = { e2e: new Histogram(), server: new Histogram() };
let messages = 0;
let frames = 0;
let closed = 0;
let ready = 0;
let conns: RawWs[] = [];
let count: (buf: Buffer, start: number, end: number, s: Samples | null) => number = () => 0;
let kind: ServerKind = 'barrage';
let onReady: (() => void) | undefined;
const isReady = new Set<RawWs>();

function markReady(conn: RawWs): void {
  if (isReady.has(conn)) return;
  isReady.add(conn);
  ready++;
  onReady?.();
}

/** One sink for every connection: no per-connection or per-message closures. */
const sink: FrameSink = {
  frame(conn, opcode, buf, start, end) {
    frames++;
    if (kind === 'socketio' && opcode === Opcode.Text) {
      const c0 = buf[start];
      if (c0 === 0x32 && end - start === 1) return conn.send('3', Opcode.Text); // Engine.IO ping
      if (c0 === 0x30) return conn.send('40', Opcode.Text); // Engine.IO open: join the default namespace
      if (c0 === 0x34 && buf[start + 1] === 0x30) return markReady(conn); // namespace joined
    } else if (kind === 'barrage' && !isReady.has(conn)) {
      markReady(conn); // Welcome (or history) arrived: subscribed
    }
    messages += count(buf, start, end, conn.tag === 1 ? samples : null);
  },
  closed(conn) {
    if (isReady.has(conn)) closed++;
  },
};

async function connectAll(c: Extract<ViewerCommand, { cmd: 'connect' }>): Promise<ViewerReply> {
  kind = c.kind;
  count = counterFor(c.kind);
  const path = viewerPath(c.kind, c.room);
  let failed = 0;
  let firstError = '';
  let next = 0;
  const needsHello = c.kind === 'barrage' || c.kind === 'socketio';
  const one = async (): Promise<void> => {
    while (next < c.count) {
      const i = next++;
      const conn = new RawWs({ host: c.host, port: c.port, path, sink, tag: i % c.sampleEvery === 0 ? 1 : 0 });
      conns.push(conn);
      try {
        await conn.opened;
        if (!needsHello) markReady(conn);
      } catch (err) {
        failed++;
        if (!firstError) firstError = (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, c.concurrency) }, one));
  // Wait (bounded) until every opened connection has joined its room.
  const want = c.count - failed;
  if (ready < want) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 15_000);
      onReady = () => {
        if (ready >= want) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    onReady = undefined;
  }
  return { type: 'connected', ready, failed, firstError };
}

function snapshot(): ViewerSnapshot {
  let open = 0;
  for (const c of conns) if (c.open) open++;
  return { type: 'snapshot', messages, frames, open, closed, e2e: samples.e2e.toSparse(), server: samples.server.toSparse() };
}

function reply(r: ViewerReply): void {
  process.send?.(r);
}

process.on('message', (raw) => {
  const m = raw as ViewerCommand;
  switch (m.cmd) {
    case 'connect':
      connectAll(m).then(reply, (err: unknown) => reply({ type: 'error', message: String(err) }));
      return;
    case 'reset':
      messages = 0;
      frames = 0;
      samples.e2e.reset();
      samples.server.reset();
      return reply({ type: 'reset' });
    case 'snapshot':
      return reply(snapshot());
    case 'close':
      for (const c of conns) c.close();
      conns = [];
      setTimeout(() => process.exit(0), 200);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
