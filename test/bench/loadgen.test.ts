import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../domain/auth.js';
import { v1 } from '../../proto/index.js';
import { buildLoadgen } from '../../bench/loadgen/build.js';
import { TestClient } from '../helpers/client.js';
import { scrape } from '../helpers/metrics.js';
import { freePort, startCli } from '../helpers/process.js';
import type { CliProcess } from '../helpers/process.js';
import { RawWs } from '../helpers/raw-ws.js';

const secret = 'loadgen-secret-loadgen-secret-loadgen-0123456';

interface Report {
  viewers: number;
  procs: number;
  open: number;
  failed: number;
  closed: number;
  bytes: number;
  frames: number;
  pings: number;
  cpuSeconds: number;
  window?: { bytes: number; frames: number; cpuSeconds: number; seconds: number };
  reasons?: Record<string, number>;
}

/** A running generator: its stderr lines as they come, its report and exit code at the end. */
function runLoadgen(
  bin: string,
  args: string[],
): {
  child: ChildProcess;
  err: () => string;
  until: (line: string) => Promise<string>;
  done: Promise<{ code: number | null; report: Report }>;
} {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
    for (const w of waiters) w();
  });
  const done = new Promise<{ code: number | null; report: Report }>((resolve) =>
    child.once('exit', (code) => resolve({ code, report: (out.trim() ? JSON.parse(out) : undefined) as Report })),
  );
  const until = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = err.split('\n').find((l) => l.startsWith(prefix));
        if (line !== undefined) resolve(line);
      };
      waiters.push(check);
      check();
      void done.then(() => reject(new Error(`loadgen exited before "${prefix}": ${err}`)));
    });
  return { child, err: () => err, until, done };
}

/** Bytes of a server frame on the wire: the unmasked header plus the payload. */
const wireSize = (payload: Buffer) => payload.length + (payload.length < 126 ? 2 : payload.length < 65_536 ? 4 : 10);

describe('loadgen - the Go load generator against a real barrage start', () => {
  let server: CliProcess;
  let bin: string;
  beforeAll(async () => {
    [server, bin] = await Promise.all([
      startCli(['start'], { env: { BARRAGE_SECRET: secret, BARRAGE_DANMAKU_RATE: '100', BARRAGE_DANMAKU_BURST: '100' } }),
      Promise.resolve(buildLoadgen()),
    ]);
  });
  afterAll(() => {
    server?.child.kill('SIGTERM');
  });

  it('loadgen - opens its viewers over two processes, counts the bytes the room was sent, and closes with 1000 on SIGTERM', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const probe = await RawWs.open(server.port, '/ws?room=lg');
    const closesBefore = (await scrape(base, 'barrage_client_closes_total{code="1000"}')) ?? 0;
    const viewers = 6;
    const gen = runLoadgen(bin, ['-edges', `127.0.0.1:${server.port}`, '-rooms', 'lg', '-viewers', String(viewers), '-procs', '2']);
    const ready = JSON.parse((await gen.until('loadgen ready ')).slice('loadgen ready '.length)) as {
      open: number;
      failed: number;
      pids: number[];
    };
    expect(ready).toMatchObject({ open: viewers, failed: 0 });
    expect(ready.pids).toHaveLength(2);
    await expect.poll(() => scrape(base, 'barrage_connections'), { timeout: 10_000 }).toBe(viewers + 1);

    // Start the window just after a frame reached the room (online counts come every 2 s), when nothing is in flight.
    const seenBefore = probe.messages.length;
    await expect.poll(() => probe.messages.length, { timeout: 10_000 }).toBeGreaterThan(seenBefore);
    gen.child.kill('SIGUSR1');
    await gen.until('loadgen marked');
    const from = probe.messages.length;

    const token = await mintToken(new TextEncoder().encode(secret), { room: 'lg', user: 'sender', name: 'Sender', role: 'viewer' });
    const sender = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws?room=lg&token=${token}`);
    const count = 20;
    const text = (i: number) => `loadgen ${i} ${'弾幕'.repeat(20)}`;
    const danmakuSeen = () =>
      probe.messages
        .slice(from)
        .flatMap((m) => v1.ServerFrame.decode(m).batch?.events ?? [])
        .filter((e) => e.danmaku?.text?.startsWith('loadgen ')).length;
    for (let i = 0; i < count; i++) {
      sender.danmaku(text(i));
      await sender.until(() => sender.texts().includes(text(i)));
    }
    await expect.poll(danmakuSeen, { timeout: 10_000 }).toBe(count);
    const windowFrames = probe.messages.slice(from);
    const windowBytes = windowFrames.reduce((n, m) => n + wireSize(m), 0);
    const danmakuBytes = count * text(0).length;

    gen.child.kill('SIGTERM');
    const { code, report } = await gen.done;
    expect(code).toBe(0);
    expect(report).toMatchObject({ viewers, procs: 2, open: viewers, failed: 0, closed: 0 });
    expect(report.cpuSeconds).toBeGreaterThan(0);
    // Every viewer got what the probe got in the window: the same frames, byte for byte. An online
    // count racing the end of the window may add one small frame per viewer, never a danmaku.
    const w = report.window!;
    expect(windowBytes).toBeGreaterThan(danmakuBytes);
    expect(w.frames).toBeGreaterThanOrEqual(viewers * windowFrames.length);
    expect(w.frames).toBeLessThanOrEqual(viewers * (windowFrames.length + 1));
    expect(w.bytes).toBeGreaterThanOrEqual(viewers * windowBytes);
    expect(w.bytes).toBeLessThanOrEqual(viewers * (windowBytes + 64));
    expect(report.bytes).toBeGreaterThan(w.bytes);
    // Closed cleanly: every socket sent a close frame with 1000, the server holds only the probe and the sender.
    await expect.poll(() => scrape(base, 'barrage_connections'), { timeout: 10_000 }).toBe(2);
    expect(await scrape(base, 'barrage_client_closes_total{code="1000"}')).toBe(closesBefore + viewers);
    sender.close();
    probe.destroy();
  });

  it('loadgen - refused connections and refused upgrades count as failed with their reason, and it still reports and exits', async () => {
    const nobody = await freePort();
    const refused = runLoadgen(bin, ['-edges', `127.0.0.1:${nobody}`, '-viewers', '3', '-hold', '1ms']);
    const a = await refused.done;
    expect(a.code).toBe(0);
    expect(a.report).toMatchObject({ open: 0, failed: 3 });
    expect(a.report.reasons).toEqual({ 'connect: connection refused': 3 });

    // A bad room and a forged token: the server answers the upgrade with an HTTP error.
    const badRoom = runLoadgen(bin, ['-edges', `127.0.0.1:${server.port}`, '-rooms', 'bad%20room', '-viewers', '2', '-hold', '1ms']);
    const forged = runLoadgen(bin, [
      '-edges',
      `127.0.0.1:${server.port}`,
      '-path',
      '/ws?room={room}&token=forged',
      '-viewers',
      '2',
      '-hold',
      '1ms',
    ]);
    const [b, f] = await Promise.all([badRoom.done, forged.done]);
    expect(b.report).toMatchObject({ open: 0, failed: 2 });
    expect(Object.keys(b.report.reasons ?? {})).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(f.report).toMatchObject({ open: 0, failed: 2 });
    expect(Object.keys(f.report.reasons ?? {})[0]).toMatch(/^HTTP\/1\.1 4\d\d /);

    // Bad flags: a usage error and exit code 2, no report.
    const usage = runLoadgen(bin, ['-viewers', '3']);
    const u = await usage.done;
    expect(u.code).toBe(2);
    expect(usage.err()).toContain('-edges is required');
  });

  it("loadgen - answers the server's pings, so viewers held past the idle timeout stay open", async () => {
    // The shortest idle timeout the server allows; uWS pings a quiet socket and closes it if no pong comes back.
    const quick = await startCli(['start'], { env: { BARRAGE_SECRET: secret, BARRAGE_IDLE_TIMEOUT: '8' } });
    try {
      const gen = runLoadgen(bin, ['-edges', `127.0.0.1:${quick.port}`, '-viewers', '4', '-hold', '12s']);
      const { code, report } = await gen.done;
      expect(code).toBe(0);
      expect(report).toMatchObject({ open: 4, failed: 0, closed: 0 });
      expect(report.pings).toBeGreaterThanOrEqual(4);
    } finally {
      quick.child.kill('SIGTERM');
    }
  });
});
