import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../domain/auth.js';
import { v1 } from '../../proto/index.js';
import { buildLoadgen, testLoadgen } from '../../bench/loadgen/build.js';
import { Loadgen } from '../../bench/loadgen/loadgen.js';
import { TestClient } from '../helpers/client.js';
import { scrape } from '../helpers/metrics.js';
import { freePort, startCli } from '../helpers/process.js';
import type { CliProcess } from '../helpers/process.js';
import { RawWs } from '../helpers/raw-ws.js';

const secret = 'loadgen-secret-loadgen-secret-loadgen-0123456';

/** Bytes of a server frame on the wire: the unmasked header plus the payload. */
const wireSize = (payload: Buffer) => payload.length + (payload.length < 126 ? 2 : payload.length < 65_536 ? 4 : 10);

describe('loadgen - the Go load generator against a real barrage start', () => {
  let server: CliProcess;
  beforeAll(async () => {
    // A real `go build` (cached by source hash in .tools/loadgen), then a real server.
    buildLoadgen();
    server = await startCli(['start'], { env: { BARRAGE_SECRET: secret, BARRAGE_DANMAKU_RATE: '100', BARRAGE_DANMAKU_BURST: '100' } });
  });
  afterAll(() => {
    server?.child.kill('SIGTERM');
    // A failed assertion must not leave a generator holding sockets.
    for (const g of started) g.child.kill('SIGKILL');
  });
  const started: Loadgen[] = [];
  const start = (args: string[]) => {
    const g = Loadgen.start(args);
    started.push(g);
    return g;
  };

  it('loadgen - its frame reader counts frames and control payloads however the bytes are split (go test)', () => {
    expect(testLoadgen()).toMatch(/^ok\s+barrage\/bench\/loadgen/m);
  });

  it('loadgen - opens its viewers over two processes, counts the bytes the room was sent, and closes with 1000 on SIGTERM', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const probe = await RawWs.open(server.port, '/ws?room=lg');
    const closesBefore = (await scrape(base, 'barrage_client_closes_total{code="1000"}')) ?? 0;
    const viewers = 6;
    const gen = start(['-edges', `127.0.0.1:${server.port}`, '-rooms', 'lg', '-viewers', String(viewers), '-procs', '2']);
    const ready = await gen.ready();
    expect(ready).toMatchObject({ open: viewers, failed: 0 });
    expect(ready.pids).toHaveLength(2);
    await expect.poll(() => scrape(base, 'barrage_connections'), { timeout: 10_000 }).toBe(viewers + 1);

    // Start the window just after a frame reached the room (online counts come every 2 s), when nothing is in flight.
    const seenBefore = probe.messages.length;
    await expect.poll(() => probe.messages.length, { timeout: 10_000 }).toBeGreaterThan(seenBefore);
    await gen.mark();
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

    const { code, report } = await gen.stop();
    expect(code).toBe(0);
    expect(report).toMatchObject({ viewers, procs: 2, open: viewers, failed: 0, closed: 0 });
    expect(report!.cpuSeconds).toBeGreaterThan(0);
    // Every viewer got what the probe got in the window: the same frames, byte for byte. An online
    // count racing the end of the window may add one small frame per viewer, never a danmaku.
    const mark = report!.marks![0]!;
    const w = { bytes: report!.bytes - mark.bytes, frames: report!.frames - mark.frames };
    expect(windowBytes).toBeGreaterThan(danmakuBytes);
    expect(w.frames).toBeGreaterThanOrEqual(viewers * windowFrames.length);
    expect(w.frames).toBeLessThanOrEqual(viewers * (windowFrames.length + 1));
    expect(w.bytes).toBeGreaterThanOrEqual(viewers * windowBytes);
    expect(w.bytes).toBeLessThanOrEqual(viewers * (windowBytes + 64));
    expect(report!.marks).toHaveLength(1);
    expect(mark.bytes).toBeGreaterThan(0);
    // Closed cleanly: every socket sent a close frame with 1000, the server holds only the probe and the sender.
    await expect.poll(() => scrape(base, 'barrage_connections'), { timeout: 10_000 }).toBe(2);
    expect(await scrape(base, 'barrage_client_closes_total{code="1000"}')).toBe(closesBefore + viewers);
    sender.close();
    probe.destroy();
  });

  it('loadgen - refused connections and refused upgrades count as failed with their reason, and it still reports and exits', async () => {
    const nobody = await freePort();
    const refused = start(['-edges', `127.0.0.1:${nobody}`, '-viewers', '3', '-hold', '1ms']);
    const a = await refused.done;
    expect(a.code).toBe(0);
    expect(a.report).toMatchObject({ open: 0, failed: 3 });
    expect(a.report?.reasons).toEqual({ 'connect: connection refused': 3 });

    // A bad room and a forged token: the server answers the upgrade with an HTTP error.
    const badRoom = start(['-edges', `127.0.0.1:${server.port}`, '-rooms', 'bad%20room', '-viewers', '2', '-hold', '1ms']);
    const forged = start(['-edges', `127.0.0.1:${server.port}`, '-path', '/ws?room={room}&token=forged', '-viewers', '2', '-hold', '1ms']);
    const [b, f] = await Promise.all([badRoom.done, forged.done]);
    expect(b.report).toMatchObject({ open: 0, failed: 2 });
    expect(Object.keys(b.report?.reasons ?? {})).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(f.report).toMatchObject({ open: 0, failed: 2 });
    expect(Object.keys(f.report?.reasons ?? {})[0]).toMatch(/^HTTP\/1\.1 4\d\d /);

    // Bad flags: a usage error and exit code 2, no report.
    const usage = start(['-viewers', '3']);
    const u = await usage.done;
    expect(u.code).toBe(2);
    expect(usage.stderr()).toContain('-edges is required');
    // More sockets than the processes asked for may hold: refused before any socket opens.
    const crowded = start(['-edges', `127.0.0.1:${server.port}`, '-viewers', '200', '-procs', '1', '-fd-limit', '128']);
    expect((await crowded.done).code).toBe(1);
    expect(crowded.stderr()).toContain('200 viewers over 1 processes exceed 28 sockets per process');
  });

  it("loadgen - answers the server's pings, so viewers held past the idle timeout stay open, also when reading once per tick", async () => {
    // The shortest idle timeout the server allows; uWS pings a quiet socket and closes it if no pong comes back.
    const quick = await startCli(['start'], { env: { BARRAGE_SECRET: secret, BARRAGE_IDLE_TIMEOUT: '8' } });
    try {
      const gen = start(['-edges', `127.0.0.1:${quick.port}`, '-viewers', '4', '-hold', '12s', '-tick', '50ms']);
      const { code, report } = await gen.done;
      expect(code).toBe(0);
      expect(report).toMatchObject({ open: 4, failed: 0, closed: 0 });
      expect(report?.pings).toBeGreaterThanOrEqual(4);
    } finally {
      quick.child.kill('SIGTERM');
    }
  });

  it('loadgen - a server that shuts down closes its viewers with 4000: counted as closed with the code, the rest still reported', async () => {
    const going = await startCli(['start'], { env: { BARRAGE_SECRET: secret } });
    const gen = start(['-edges', `127.0.0.1:${going.port}`, '-viewers', '3']);
    try {
      expect(await gen.ready()).toMatchObject({ open: 3, failed: 0 });
      going.child.kill('SIGTERM');
      expect(await going.exited).toBe(0);
      const { code, report } = await gen.stop();
      expect(code).toBe(0);
      expect(report).toMatchObject({ open: 0, failed: 0, closed: 3 });
      expect(report?.reasons).toEqual({ 'closed by the server 4000': 3 });
    } finally {
      gen.child.kill('SIGKILL');
      going.child.kill('SIGKILL');
    }
  });

  it('loadgen - stops by itself, closing its sockets, when the harness that started it dies without a word', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadgen-'));
    const out = join(dir, 'report.json');
    const base = `http://127.0.0.1:${server.port}`;
    const closesBefore = (await scrape(base, 'barrage_client_closes_total{code="1000"}')) ?? 0;
    // The shell starts the generator in the background, waits for its sockets and exits: the generator is orphaned.
    const script = `"$0" -edges 127.0.0.1:${server.port} -rooms orphan -viewers 2 >"$1" 2>"$1.err" & until grep -q "loadgen ready" "$1.err"; do sleep 0.05; done`;
    const shell = spawn('bash', ['-c', script, buildLoadgen(), out]);
    await new Promise((resolve) => shell.once('exit', resolve));
    await expect.poll(() => (existsSync(out) ? readFileSync(out, 'utf8') : ''), { timeout: 15_000 }).toContain('"viewers":2');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ viewers: 2, open: 2, failed: 0 });
    await expect.poll(() => scrape(base, 'barrage_client_closes_total{code="1000"}'), { timeout: 10_000 }).toBe(closesBefore + 2);
    rmSync(dir, { recursive: true, force: true });
  });
});
