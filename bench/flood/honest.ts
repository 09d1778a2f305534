/**
 * The honest side of the flood benchmark, forked by run.ts: viewers (guests)
 * that decode every batch and time each danmaku from its sender's stamp, and
 * viewer-token senders that together offer a fixed rate to the same room.
 *
 * Many senders at the default per-connection danmaku limit (2/s, burst 5)
 * rather than one sender with lifted limits: the edge keeps its default
 * configuration, so the attackers face the limits a real deployment has.
 * Driven over IPC (`HonestCommand`, `HonestReply`); bounded by its deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../../proto/index.js';
import { countBarrage, encodeMessage, nowUs } from '../fanout/protocols.js';
import type { Samples } from '../fanout/protocols.js';
import { Histogram } from '../lib/histogram.js';
import { Opcode, RawWs } from '../lib/raw-ws.js';
import type { FrameSink } from '../lib/raw-ws.js';
import { readErrorCode } from './frames.js';

/** What the runner asks. */
export type HonestCommand =
  | {
      cmd: 'connect';
      port: number;
      room: string;
      viewers: number;
      /** One viewer token per sender. */
      senderTokens: string[];
      /** Give every viewer and sender its own `X-Forwarded-For` address (the edge trusts a proxy). */
      forwarded: boolean;
    }
  | { cmd: 'send'; rate: number; seconds: number }
  | { cmd: 'reset' }
  | { cmd: 'snapshot' }
  | { cmd: 'close' };

/** Counters since the last reset. */
export interface HonestSnapshot {
  type: 'snapshot';
  /** Danmaku received, summed over viewers. */
  delivered: number;
  /** Send stamp to receipt, every viewer. */
  e2e: Array<[number, number]>;
  viewersOpen: number;
  /** Closes of honest connections by close code (0 = no close frame). */
  closes: Record<string, number>;
  /** Error frames the senders got, by code name. */
  senderErrors: Record<string, number>;
}

/** What the worker answers. */
export type HonestReply =
  | { type: 'connected'; viewers: number; senders: number; failed: number; firstError: string }
  | { type: 'sent'; sent: number }
  | { type: 'reset' }
  | HonestSnapshot;

/** Connection tags: viewers record latency, senders read errors. */
const Tag = { Viewer: 1, Sender: 2 } as const;
/** Handshakes in flight at once. */
const concurrency = 32;
/** The worker exits by itself after this long, whatever happens to its parent. */
const deadlineMs = 10 * 60_000;

const samples: Samples = { e2e: new Histogram(), server: new Histogram() };
let delivered = 0;
let closes: Record<string, number> = {};
let senderErrors: Record<string, number> = {};
const viewers: RawWs[] = [];
const senders: RawWs[] = [];
/** Connections that have received their first frame (Welcome): subscribed to the room. */
const joined = new Set<RawWs>();
let closing = false;

const sink: FrameSink = {
  frame(conn, opcode, buf, start, end) {
    joined.add(conn);
    if (opcode !== Opcode.Binary) return;
    if (conn.tag === Tag.Viewer) {
      delivered += countBarrage(buf, start, end, samples);
      return;
    }
    const code = readErrorCode(buf, start, end);
    if (code >= 0) {
      const name = ErrorCode[code] ?? String(code);
      senderErrors[name] = (senderErrors[name] ?? 0) + 1;
    }
  },
  closed(conn) {
    if (closing || !joined.has(conn)) return;
    const key = String(conn.closeCode);
    closes[key] = (closes[key] ?? 0) + 1;
  },
};

async function connect(c: Extract<HonestCommand, { cmd: 'connect' }>): Promise<HonestReply> {
  let failed = 0;
  let firstError = '';
  const jobs: Array<{ path: string; tag: number; header: string }> = [];
  for (let i = 0; i < c.viewers; i++) {
    jobs.push({ path: `/ws?room=${c.room}`, tag: Tag.Viewer, header: `X-Forwarded-For: 198.18.${i >> 8}.${i & 255}` });
  }
  c.senderTokens.forEach((token, i) =>
    jobs.push({ path: `/ws?room=${c.room}&token=${token}`, tag: Tag.Sender, header: `X-Forwarded-For: 198.19.0.${i + 1}` }),
  );
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as (typeof jobs)[number];
      const conn = new RawWs({
        host: '127.0.0.1',
        port: c.port,
        path: job.path,
        sink,
        tag: job.tag,
        ...(c.forwarded ? { headers: [job.header] } : {}),
      });
      try {
        await conn.opened;
        (job.tag === Tag.Viewer ? viewers : senders).push(conn);
      } catch (err) {
        failed++;
        if (!firstError) firstError = (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  // Bounded wait until every open connection has its Welcome (it is subscribed then).
  const want = viewers.length + senders.length;
  for (let waited = 0; joined.size < want && waited < 10_000; waited += 20) await sleep(20);
  return { type: 'connected', viewers: viewers.length, senders: senders.length, failed, firstError };
}

/** Offers `rate` danmaku/s for `seconds`, round-robin over the senders, each stamped with its send time. */
async function send(rate: number, seconds: number): Promise<number> {
  const total = Math.floor(rate * seconds);
  const t0 = performance.now();
  let sent = 0;
  while (sent < total && senders.length > 0) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
    while (sent < due) {
      (senders[sent % senders.length] as RawWs).sendRaw(encodeMessage('barrage', nowUs()));
      sent++;
    }
    await sleep(2);
  }
  return sent;
}

function snapshot(): HonestSnapshot {
  let open = 0;
  for (const v of viewers) if (v.open) open++;
  return { type: 'snapshot', delivered, e2e: samples.e2e.toSparse(), viewersOpen: open, closes, senderErrors };
}

function reply(r: HonestReply): void {
  process.send?.(r);
}

process.on('message', (raw) => {
  const m = raw as HonestCommand;
  switch (m.cmd) {
    case 'connect':
      void connect(m).then(reply);
      return;
    case 'send':
      void send(m.rate, m.seconds).then((sent) => reply({ type: 'sent', sent }));
      return;
    case 'reset':
      delivered = 0;
      closes = {};
      senderErrors = {};
      samples.e2e.reset();
      return reply({ type: 'reset' });
    case 'snapshot':
      return reply(snapshot());
    case 'close':
      closing = true;
      for (const c of [...viewers, ...senders]) c.close();
      setTimeout(() => process.exit(0), 200);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), deadlineMs).unref();
