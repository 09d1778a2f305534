/**
 * The SSE fallback transport against a running server: the same frames as
 * a WebSocket viewer, sending by POST with the same token and limits,
 * resume from Last-Event-ID, and bad input (tokens, floods, a reader that
 * never reads, a hung connection, a proxy that buffers whole responses).
 */
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { scrape } from '../helpers/metrics.js';
import { SseClient } from '../helpers/sse-client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('sse - the fallback transport', () => {
  let server: TestServer;
  const open: Array<() => void> = [];
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_DANMAKU_RATE: '1',
      BARRAGE_DANMAKU_BURST: '5',
      BARRAGE_FRAME_RATE: '20',
      BARRAGE_FRAME_BURST: '20',
      BARRAGE_BATCH_MS: '10',
    });
  });
  afterEach(() => {
    for (const close of open.splice(0)) close();
  });
  afterAll(async () => {
    await server.stop();
  });

  const sse = async (query: Record<string, string>, headers?: Record<string, string>) => {
    const c = await SseClient.connect(server.url, query, headers ? { headers } : {});
    open.push(() => c.disconnect());
    return c;
  };
  const ws = async (room: string, user?: string) => {
    const c = await TestClient.connect(server.wsUrl(room, user ? await server.token({ room, user }) : undefined));
    open.push(() => c.close());
    return c;
  };

  it('sse - an SSE viewer gets the same welcome, history and live events, in the same order, as a WebSocket viewer', async () => {
    const sender = await ws('same', 'sender');
    sender.danmaku('before');
    await sender.until(() => sender.texts().length === 1);
    const viaSse = await sse({ room: 'same' });
    const viaWs = await ws('same');
    expect(viaSse.welcome?.seq).toBe(viaWs.welcome?.seq);
    expect(viaSse.welcome?.sessionId).toMatch(/-\d+$/);
    // Joining shows recent chat as history on both.
    const history = (frames: v1.ServerFrame[]) =>
      frames.filter((f) => f.batch?.history).flatMap((f) => f.batch!.events!.map((e) => e.danmaku?.text));
    expect(history(viaSse.frames)).toEqual(['before']);
    expect(history(viaWs.frames)).toEqual(['before']);
    for (let i = 0; i < 4; i++) sender.danmaku(`live${i}`);
    await viaSse.until(() => viaSse.texts().length === 4, 5_000, 'live danmaku on SSE');
    await viaWs.until(() => viaWs.texts().length === 4, 5_000, 'live danmaku on WS');
    const seqs = (events: v1.Event[]) => events.filter((e) => e.danmaku).map((e) => `${e.seq}:${e.danmaku?.text}`);
    expect(seqs(viaSse.events)).toEqual(seqs(viaWs.events));
    // Each message with a seq carries it as the SSE id, with the epoch.
    expect(viaSse.ids.at(-1)).toBe(`${viaSse.welcome?.epoch}:${viaSse.events.filter((e) => e.danmaku).at(-1)?.seq}`);
  });

  it('sse - sends danmaku by POST with the same token, under the same per-connection limit', async () => {
    const token = await server.token({ room: 'post', user: 'poster' });
    const viewer = await sse({ room: 'post', token });
    const watcher = await ws('post');
    // Each POST is answered once its frame was handled.
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => viewer.danmaku(`p${i}`)));
    expect(statuses).toEqual(Array(8).fill(202));
    // A burst of 5 at 1/s: the rest is refused with RATE_LIMITED on the stream, as on a WebSocket.
    await viewer.until(() => viewer.errors.some((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED), 5_000, 'RATE_LIMITED');
    await expect.poll(() => watcher.texts().length).toBeGreaterThanOrEqual(5);
    expect(watcher.texts().length).toBeLessThanOrEqual(6);
    expect(watcher.events.filter((e) => e.danmaku).every((e) => e.danmaku?.user?.id === 'poster')).toBe(true);
  });

  it('sse - bad tokens and sessions: 401 at open, 403 for another user, 404 for an unknown session; a guest stream cannot send', async () => {
    await expect(SseClient.connect(server.url, { room: 'bad', token: 'not.a.token' })).rejects.toMatchObject({ status: 401 });
    await expect(SseClient.connect(server.url, { room: 'bad room!' })).rejects.toMatchObject({ status: 400 });
    const token = await server.token({ room: 'bad', user: 'alice' });
    const alice = await sse({ room: 'bad', token });
    expect(await alice.send({ ping: {} }, await server.token({ room: 'bad', user: 'mallory' }))).toBe(403);
    expect(await alice.send({ ping: {} }, '')).toBe(401);
    expect(await alice.send({ ping: {} }, 'garbage')).toBe(403);
    const res = await fetch(`${server.url}/sse/send?session=nobody-1&token=${token}`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
    const guest = await sse({ room: 'bad' });
    expect(await guest.danmaku('hi')).toBe(202);
    await guest.until(() => guest.errors.some((e) => e.code === ErrorCode.ERROR_CODE_READ_ONLY), 5_000, 'READ_ONLY');
    // Bytes that are no ClientFrame get an error frame, as on a WebSocket.
    const junk = await fetch(`${server.url}/sse/send?session=${alice.welcome?.sessionId}&token=${token}`, {
      method: 'POST',
      body: new Uint8Array([0xff, 0xff, 0xff]),
    });
    expect(junk.status).toBe(202);
    await alice.until(() => alice.errors.some((e) => e.code === ErrorCode.ERROR_CODE_BAD_FRAME), 5_000, 'BAD_FRAME');
  });

  it('sse - a flood of POSTs is limited like a frame flood and closes the stream with 4501', async () => {
    const token = await server.token({ room: 'flood', user: 'flooder' });
    const flooder = await sse({ room: 'flood', token });
    const statuses = await Promise.all(Array.from({ length: 60 }, () => flooder.send({ ping: {} })));
    // Every POST is answered (202, or 404 once the stream is gone); the stream is told why it ends.
    expect(statuses.every((s) => s === 202 || s === 404)).toBe(true);
    await flooder.until(() => flooder.close !== undefined, 5_000, 'close event');
    expect(flooder.close?.code).toBe(4501);
    await expect.poll(() => scrape(server.url, 'barrage_closes_total{code="4501"}')).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('sse - Last-Event-ID resumes where the stream stopped: recovered, the missed events replayed once', async () => {
    const sender = await ws('resume', 'sender');
    const first = await sse({ room: 'resume' });
    sender.danmaku('a');
    await first.until(() => first.texts().length === 1, 5_000, 'a');
    const lastId = first.ids.at(-1) as string;
    first.disconnect();
    sender.danmaku('b');
    sender.danmaku('c');
    await sender.until(() => sender.texts().length === 3);
    const again = await sse({ room: 'resume' }, { 'last-event-id': lastId });
    expect(again.welcome?.recovered).toBe(true);
    const replayed = again.frames.filter((f) => f.batch?.history).flatMap((f) => f.batch!.events!.map((e) => e.danmaku?.text));
    expect(replayed).toEqual(['b', 'c']);
    // An id that is not ours is a join.
    const fresh = await sse({ room: 'resume' }, { 'last-event-id': 'zzz' });
    expect(fresh.welcome?.recovered).toBe(false);
  });
});

describe('sse - slow, hung and buffered readers', () => {
  let server: TestServer;
  afterEach(async () => {
    await server.stop();
  });

  it('sse - a stream that is never read is skipped and counted, then closed with 4001; the others get everything', async () => {
    server = await startTestServer({
      BARRAGE_MAX_BACKPRESSURE: '65536',
      BARRAGE_MAX_TEXT: '1000',
      BARRAGE_DANMAKU_RATE: '100000',
      BARRAGE_DANMAKU_BURST: '100000',
      BARRAGE_FRAME_RATE: '100000',
      BARRAGE_FRAME_BURST: '100000',
      BARRAGE_BATCH_MS: '5',
      BARRAGE_SLOW_READER_CLOSE_MS: '1000',
    });
    // A hung client: sends the request and never reads a byte.
    const hung = connect(server.port, '127.0.0.1');
    hung.pause();
    hung.write(`GET /sse?room=slow HTTP/1.1\r\nHost: x\r\n\r\n`);
    await expect.poll(() => server.edge.connectionCount).toBe(1);
    const sender = await TestClient.connect(server.wsUrl('slow', await server.token({ room: 'slow', user: 's' })));
    const watcher = await SseClient.connect(server.url, { room: 'slow' });
    const text = 'x'.repeat(1000);
    let sent = 0;
    while (((await scrape(server.url, 'barrage_dropped_total{reason="backpressure"}')) ?? 0) === 0 && sent < 40_000) {
      for (let i = 0; i < 500; i++) sender.danmaku(text);
      sent += 500;
      await watcher.until(() => watcher.texts().length === sent, 20_000, `watcher at ${sent}`);
    }
    expect(await scrape(server.url, 'barrage_dropped_total{reason="backpressure"}')).toBeGreaterThan(0);
    await expect.poll(() => scrape(server.url, 'barrage_closes_total{code="4001"}'), { timeout: 10_000 }).toBe(1);
    // The reading SSE viewer saw every danmaku, in order.
    expect(watcher.events.filter((e) => e.danmaku).map((e) => e.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(watcher.ended).toBe(false);
    hung.destroy();
    watcher.disconnect();
    sender.close();
  });

  it('sse - through a proxy that holds whole responses, mode=poll still delivers, one poll at a time', async () => {
    server = await startTestServer({ BARRAGE_BATCH_MS: '10' });
    const proxy = await bufferingProxy(server.port);
    try {
      const sender = await TestClient.connect(server.wsUrl('poll', await server.token({ room: 'poll', user: 's' })));
      const framesOf = (text: string) =>
        text
          .split('\n\n')
          .map((m) => m.split('\n').find((l) => l.startsWith('data: ')))
          .filter((l): l is string => l !== undefined)
          .map((l) => v1.ServerFrame.decode(Buffer.from(l.slice(6), 'base64')));
      // A join's poll returns at once with the Welcome (and history): the proxy hands it over when it ends.
      const first = framesOf(await (await fetch(`${proxy.url}/sse?room=poll&mode=poll`)).text());
      const welcome = first[0]?.welcome;
      expect(welcome?.room).toBe('poll');
      // The next poll resumes from there and waits for news.
      const body = fetch(`${proxy.url}/sse?room=poll&mode=poll&since=${welcome?.seq}&epoch=${welcome?.epoch}`).then((r) => r.text());
      await expect.poll(() => server.edge.connectionCount).toBe(2);
      sender.danmaku('through the proxy');
      const frames = framesOf(await body);
      expect(frames[0]?.welcome?.recovered).toBe(true);
      expect(frames.flatMap((f) => f.batch?.events ?? []).map((e) => e.danmaku?.text)).toContain('through the proxy');
      sender.close();
    } finally {
      await proxy.close();
    }
  });
});

/** An HTTP proxy that forwards a response only once it has ended (as a buffering intermediary does). */
async function bufferingProxy(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy: Server = createServer((req, res) => {
    const up = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        res.writeHead(upRes.statusCode ?? 502, { 'content-type': upRes.headers['content-type'] ?? 'text/plain' });
        res.end(Buffer.concat(chunks));
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => proxy.close(() => r())),
  };
}
