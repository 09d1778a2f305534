/**
 * Likes and overload benchmark: starts `barrage start` as its own process
 * and measures its CPU (utime + stime from /proc) while
 *   1. a like storm (100,000 likes/s by default) goes into one room, and
 *   2. an overloaded room (20,000 danmaku/s, chat budget 40/s) is watched by
 *      many viewers while gifts are posted.
 *
 *   node --import tsx bench/gifts/run.ts [--viewers 500] [--seconds 5] [--likes 100000] [--danmaku 20000]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { mintToken } from '../../domain/auth.js';
import { SkipReason, v1 } from '../../proto/index.js';

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    likes: { type: 'string', default: '100000' },
    danmaku: { type: 'string', default: '20000' },
    port: { type: 'string', default: '18931' },
  },
});
const viewersN = Number(values.viewers);
const seconds = Number(values.seconds);
const likeRate = Number(values.likes);
const danmakuRate = Number(values.danmaku);
const port = Number(values.port);
const secret = 'bench-secret-bench-secret-bench-secret-0123';
const apiKey = 'b'.repeat(32);
/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux). */
const ticks = 1000 / 100;

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * ticks;
}

async function connect(room: string, user?: string): Promise<{ ws: WebSocket; frames: v1.ServerFrame[] }> {
  const token = user ? await mintToken(new TextEncoder().encode(secret), { room, user, name: user, role: 'viewer' }) : undefined;
  const q = new URLSearchParams({ room, ...(token ? { token } : {}) });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?${q}`);
  const frames: v1.ServerFrame[] = [];
  ws.on('message', (d: Buffer) => frames.push(v1.ServerFrame.decode(new Uint8Array(d))));
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  return { ws, frames };
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'bin/barrage.ts', 'start'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BARRAGE_SECRET: secret,
      BARRAGE_API_KEY: apiKey,
      BARRAGE_ANALYTICS: 'off',
      BARRAGE_CHAT_BUDGET: '40',
      BARRAGE_LIKE_RATE: '100000',
      BARRAGE_LIKE_MAX_PER_FRAME: '10000',
      BARRAGE_DANMAKU_RATE: '100000',
      BARRAGE_DANMAKU_BURST: '100000',
      BARRAGE_FRAME_RATE: '100000',
      BARRAGE_FRAME_BURST: '100000',
      BARRAGE_LOG_LEVEL: 'warn',
    },
  });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        if (i > 200) throw new Error('server did not start');
      }
      await sleep(100);
    }
    const pid = server.pid as number;

    // 1. Like storm: 50 connections, 20 frames/s each.
    const tappers = await Promise.all(Array.from({ length: 50 }, (_, i) => connect('likes', `t${i}`)));
    const watcher = await connect('likes');
    const perFrame = Math.round(likeRate / 50 / 20);
    const frame = v1.ClientFrame.encode({ like: { count: perFrame } }).finish();
    let cpu0 = cpuMs(pid);
    let t0 = Date.now();
    let sent = 0;
    for (let tick = 0; tick < seconds * 20; tick++) {
      for (const t of tappers) t.ws.send(frame);
      sent += 50 * perFrame;
      await sleep(Math.max(0, t0 + (tick + 1) * 50 - Date.now()));
    }
    await sleep(2_500);
    const likeFrames = watcher.frames.flatMap((f) => f.batch?.events ?? []).filter((e) => e.likes);
    const total = Number(likeFrames.at(-1)?.likes?.total ?? 0);
    const likeCpu = (cpuMs(pid) - cpu0) / (Date.now() - t0);
    console.log(
      `likes: ${sent} sent at ${Math.round(sent / seconds)}/s; total pushed ${total} (${total === sent ? 'exact' : 'MISMATCH'}); ` +
        `${likeFrames.length} likes frames; server CPU ${(likeCpu * 100).toFixed(0)} % of one core (incl. 2.5 s settle)`,
    );
    for (const t of [...tappers, watcher]) t.ws.close();

    // 2. Overloaded room.
    const viewers = [];
    for (let i = 0; i < viewersN; i += 50)
      viewers.push(...(await Promise.all(Array.from({ length: Math.min(50, viewersN - i) }, () => connect('hot')))));
    const senders = await Promise.all(Array.from({ length: 20 }, (_, i) => connect('hot', `s${i}`)));
    const perTick = Math.round(danmakuRate / 20 / 100);
    cpu0 = cpuMs(pid);
    t0 = Date.now();
    let chatSent = 0;
    let gifts = 0;
    // Pre-encoded: the load generator, not the server, is the bottleneck otherwise.
    const texts = Array.from({ length: 64 }, (_, i) => v1.ClientFrame.encode({ sendDanmaku: { text: `message ${i}` } }).finish());
    for (let tick = 0; tick < seconds * 100; tick++) {
      for (const s of senders) for (let k = 0; k < perTick; k++) s.ws.send(texts[chatSent++ % texts.length] as Uint8Array);
      if (tick % 20 === 0) {
        void fetch(`http://127.0.0.1:${port}/api/v1/rooms/hot/gifts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': `b-${gifts++}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user: { id: 'fan' }, gift: 'heart' }),
        });
      }
      await sleep(Math.max(0, t0 + (tick + 1) * 10 - Date.now()));
    }
    const elapsed = (Date.now() - t0) / 1000;
    const overloadCpu = (cpuMs(pid) - cpu0) / (Date.now() - t0);
    await sleep(1_500);
    const per = viewers.map((v) => {
      const events = v.frames.flatMap((f) => f.batch?.events ?? []);
      const skipped = v.frames.reduce(
        (n, f) => n + (f.batch?.skipReason === SkipReason.SKIP_REASON_OVERLOAD ? (f.batch.skipped ?? 0) : 0),
        0,
      );
      return { chat: events.filter((e) => e.danmaku).length, gifts: events.filter((e) => e.gift).length, skipped };
    });
    const allGifts = per.every((p) => p.gifts === gifts);
    const chatPerS = per.map((p) => p.chat / elapsed);
    console.log(
      `overload: ${chatSent} danmaku offered at ${Math.round(chatSent / elapsed)}/s to ${viewersN} viewers; ` +
        `chat per viewer ${Math.min(...chatPerS).toFixed(1)}-${Math.max(...chatPerS).toFixed(1)}/s (budget 40); ` +
        `chat+skipped per viewer ${Math.min(...per.map((p) => p.chat + p.skipped))}-${Math.max(...per.map((p) => p.chat + p.skipped))}; ` +
        `gifts ${gifts}, every viewer got all: ${allGifts}; server CPU ${(overloadCpu * 100).toFixed(0)} % of one core`,
    );
    for (const v of [...viewers, ...senders]) v.ws.close();
  } finally {
    server.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
