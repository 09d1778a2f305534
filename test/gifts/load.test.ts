import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipReason, v1 } from '../../proto/index.js';
import { subjects } from '../../domain/subjects.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';

const apiKey = 'a'.repeat(32);

describe('likes - a storm into one room', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_LIKE_RATE: '5000', BARRAGE_LIKE_MAX_PER_FRAME: '1000', BARRAGE_API_KEY: apiKey });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('likes - 100,000 likes/s: the total is exact and the room gets at most one likes frame per interval', async () => {
    const room = 'likes';
    const tappers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => TestClient.connect(server.wsUrl(room, await server.token({ room, user: `t${i}` })))),
    );
    const watcher = await TestClient.connect(server.wsUrl(room));
    clients.push(...tappers, watcher);
    // 50 connections x 20 frames/s x 100 taps = 100,000 likes per second, for 2 s.
    const start = Date.now();
    let sent = 0;
    for (let tick = 0; tick < 40; tick++) {
      for (const t of tappers) t.send({ like: { count: 100 } });
      sent += tappers.length * 100;
      await sleep(Math.max(0, start + (tick + 1) * 50 - Date.now()));
    }
    const seconds = (Date.now() - start) / 1000;
    expect(sent).toBe(200_000);
    const likes = () => watcher.events.filter((e) => e.likes).map((e) => e.likes as v1.Likes);
    await watcher.until(() => Number(likes().at(-1)?.total ?? 0) === sent, 5_000, 'exact total');
    const frames = watcher.events.filter((e) => e.likes);
    // Deltas add up to the total: no like counted twice or lost.
    expect(likes().reduce((n, l) => n + Number(l.delta), 0)).toBe(sent);
    for (let i = 1; i < frames.length; i++) expect(Number(frames[i]!.tsMs) - Number(frames[i - 1]!.tsMs)).toBeGreaterThanOrEqual(900);
    expect(frames.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(server.likes.total(room)).toBe(sent);
    console.log(`likes: ${sent} in ${seconds.toFixed(2)} s (${Math.round(sent / seconds)}/s), ${frames.length} likes frames`);
  });

  it('likes - a tapper over its limit is clamped silently, with no error storm', async () => {
    const room = 'likes2';
    const tapper = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'fast' })));
    const watcher = await TestClient.connect(server.wsUrl(room));
    clients.push(tapper, watcher);
    // 80 frames of 1,000,000 taps: each is clamped to 1,000, and the bucket holds 10,000 (2 s at 5,000/s).
    for (let i = 0; i < 80; i++) tapper.send({ like: { count: 1_000_000 } });
    await watcher.until(() => watcher.events.some((e) => e.likes && Number(e.likes.total) > 0), 3_000, 'likes');
    await sleep(1_200);
    const total = server.likes.total(room);
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(total).toBeLessThan(12_000);
    expect(tapper.errors).toHaveLength(0);
  });
});

describe('overload - 20,000 danmaku/s into one room with a budget of 40/s per viewer', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_CHAT_BUDGET: '40',
      BARRAGE_OVERLOAD_BUCKETS: '4',
      BARRAGE_API_KEY: apiKey,
      BARRAGE_RETAIN_EVENTS: '100',
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('overload - every viewer gets every gift, chat stays within budget, skipped counts add up, groups see different chat', async () => {
    const room = 'hot';
    const viewers = await Promise.all(Array.from({ length: 8 }, () => TestClient.connect(server.wsUrl(room))));
    clients.push(...viewers);
    const danmaku = (n: number) =>
      v1.Event.encode({ room, danmaku: { text: `m${n}`, user: { id: `s${n % 500}`, name: 'sender' } } }).finish();
    const durationMs = 2_000;
    const perTick = 200; // every 10 ms: 20,000 per second
    const start = Date.now();
    let sent = 0;
    let gifts = 0;
    const giftRequests: Array<Promise<Response>> = [];
    for (let tick = 0; Date.now() - start < durationMs; tick++) {
      for (let i = 0; i < perTick; i++) server.bus.publish(subjects.ingress(room), danmaku(sent++));
      if (tick % 10 === 0) {
        giftRequests.push(
          fetch(`${server.url}/api/v1/rooms/${room}/gifts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': `og-${gifts}`, 'content-type': 'application/json' },
            body: JSON.stringify({ user: { id: `g${gifts % 7}` }, gift: 'heart' }),
          }),
        );
        gifts++;
      }
      await sleep(Math.max(0, start + (tick + 1) * 10 - Date.now()));
    }
    const elapsed = (Date.now() - start) / 1000;
    expect((await Promise.all(giftRequests)).every((r) => r.status === 201)).toBe(true);
    const settled = (c: TestClient) => {
      const chat = c.chat().length;
      const skipped = c.frames.reduce(
        (n, f) => n + (f.batch?.skipReason === SkipReason.SKIP_REASON_OVERLOAD ? (f.batch.skipped ?? 0) : 0),
        0,
      );
      return { chat, skipped, gifts: c.events.filter((e) => e.gift).length };
    };
    await Promise.all(viewers.map((v) => v.until(() => settled(v).chat + settled(v).skipped === sent, 10_000, 'all chat accounted for')));
    const results = viewers.map(settled);
    console.log(`overload: ${sent} danmaku in ${elapsed.toFixed(2)} s, ${gifts} gifts; per viewer`, results);
    for (const r of results) {
      expect(r.gifts).toBe(gifts);
      expect(r.chat + r.skipped).toBe(sent);
      // Budget: 40/s, plus the half-second allowance a quiet room starts with.
      expect(r.chat).toBeLessThanOrEqual(Math.ceil(40 * (elapsed + 1)) + 20);
      expect(r.chat).toBeGreaterThan(40 * elapsed * 0.5);
    }
    // Viewers in different groups were shown different samples.
    const seqs = viewers.map((v) =>
      v
        .chat()
        .map((e) => e.seq)
        .join(','),
    );
    expect(new Set(seqs).size).toBeGreaterThan(1);
  });
});

describe('merge - identical short danmaku in one batch', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_MERGE_DANMAKU: 'true', BARRAGE_BATCH_MS: '200' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('merge - twelve "233" in one window arrive as one danmaku with merged = 12', async () => {
    const room = 'm';
    const viewer = await TestClient.connect(server.wsUrl(room));
    clients.push(viewer);
    const event = (text: string) => v1.Event.encode({ room, danmaku: { text, user: { id: 'u', name: 'u' } } }).finish();
    // A first event opens the window; the next ones share the following frame.
    server.bus.publish(subjects.ingress(room), event('hello'));
    await viewer.until(() => viewer.chat().length === 1, 3_000, 'first');
    for (let i = 0; i < 12; i++) server.bus.publish(subjects.ingress(room), event('233'));
    server.bus.publish(subjects.ingress(room), event('a longer sentence that is not merged'));
    server.bus.publish(subjects.ingress(room), event('a longer sentence that is not merged'));
    await viewer.until(() => viewer.chat().length >= 4, 3_000, 'merged');
    const texts = viewer.chat().map((e) => [e.danmaku?.text, e.danmaku?.merged ?? 0]);
    expect(texts).toEqual([
      ['hello', 0],
      ['233', 12],
      ['a longer sentence that is not merged', 0],
      ['a longer sentence that is not merged', 0],
    ]);
  });
});
