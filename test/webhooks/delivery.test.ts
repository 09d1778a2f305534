/**
 * Webhooks end to end in one process, against a real HTTP receiver started
 * here: events made the way a site and its viewers make them (danmaku and
 * likes over the WebSocket, gifts and moderation through the API, a held
 * danmaku through the word filter) reach the receiver once each, in seq
 * order per room, signed, through 500s, timeouts, refused connections and
 * a receiver that is away for a while.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../domain/webhook-signature.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { api } from '../moderation/helpers.js';
import { Receiver } from './receiver.js';

const secret = 'whsec-test-0123456789abcdef';
const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Settings of a server delivering to `url` with short, real retry timings. */
function webhookEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BARRAGE_WEBHOOK_URL: url,
    BARRAGE_WEBHOOK_SECRET: secret,
    BARRAGE_WEBHOOK_EVENTS: '*',
    BARRAGE_WEBHOOK_BATCH_MS: '20',
    BARRAGE_WEBHOOK_BATCH_MAX: '5',
    BARRAGE_WEBHOOK_TIMEOUT_MS: '300',
    BARRAGE_WEBHOOK_RETRY_MIN_MS: '50',
    BARRAGE_WEBHOOK_RETRY_MAX_MS: '400',
    BARRAGE_DANMAKU_RATE: '1000',
    BARRAGE_DANMAKU_BURST: '1000',
    ...extra,
  };
}

async function start(receiver: Receiver, extra: Record<string, string> = {}): Promise<TestServer> {
  const dir = `/tmp/barrage-webhooks-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const server = await startTestServer(
    webhookEnv(receiver.url, { BARRAGE_WEBHOOK_SPILL: `${dir}/spill`, BARRAGE_WEBHOOK_DEAD_DIR: `${dir}/dead`, ...extra }),
  );
  stops.push(() => server.stop());
  return server;
}

async function viewer(server: TestServer, room: string, user: string, role: 'viewer' | 'moderator' = 'viewer'): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role })));
  stops.push(() => client.close());
  return client;
}

/** A gift or super chat through the API, as a site's backend records one. */
function postGift(server: TestServer, room: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}/api/v1/rooms/${room}/gifts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'idempotency-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Per room, the seqs of sequenced events in the order the receiver took them. */
function seqsByRoom(events: ReturnType<Receiver['events']>): Map<string, Array<{ seq: number; kind: string }>> {
  const out = new Map<string, Array<{ seq: number; kind: string }>>();
  for (const e of events) {
    if (e.seq === null) continue;
    const list = out.get(e.room) ?? [];
    list.push({ seq: e.seq, kind: e.kind });
    out.set(e.room, list);
  }
  return out;
}

describe('webhooks - delivery to a real receiver', () => {
  it('webhooks - every kind arrives once, in seq order per room, signed, through 500s, timeouts and a receiver away for a while', async () => {
    const receiver = new Receiver(secret);
    await receiver.start();
    stops.push(() => receiver.stop());
    // The first requests fail every way a receiver can fail while up: 500, 503, a hang past the timeout.
    receiver.answer = (_body, n) => (n === 0 ? 500 : n === 1 ? 'hang' : n === 2 ? 503 : 200);
    const server = await start(receiver);
    const key = server.config.auth.apiKey;
    const a = await viewer(server, 'room-a', 'ann');
    const b = await viewer(server, 'room-b', 'bob');

    for (let i = 0; i < 8; i++) a.danmaku(`a${i}`);
    for (let i = 0; i < 8; i++) b.danmaku(`b${i}`);
    a.send({ like: { count: 3 } });
    expect((await postGift(server, 'room-a', 'g-1', { user: { id: 'ann' }, gift: 'flower' })).status).toBe(201);
    await expect.poll(() => receiver.accepted().length, { timeout: 10_000 }).toBeGreaterThan(0);

    // The receiver goes away (connection refused) while events keep coming.
    await receiver.stop();
    for (let i = 8; i < 14; i++) a.danmaku(`a${i}`);
    expect(
      (await postGift(server, 'room-b', 'sc-1', { user: { id: 'bob' }, super_chat: { text: 'hello', price_cents: 500 } })).status,
    ).toBe(201);
    expect(
      (await api(server.url, key, 'POST', '/api/v1/rooms/room-a/moderate', { action: 'timeout', user_id: 'eve', seconds: 60 })).status,
    ).toBe(202);
    expect((await api(server.url, key, 'POST', '/api/v1/rooms/room-b/moderate', { action: 'slow_mode', seconds: 2 })).status).toBe(202);
    expect((await api(server.url, key, 'PUT', '/api/v1/rooms/room-a/filter', { terms: ['forbidden'], action: 'hold' })).status).toBe(200);
    await expect.poll(() => server.webhooks?.stats().failed ?? 0, { timeout: 10_000 }).toBeGreaterThan(4);
    await receiver.start();

    // The held danmaku is sent once the filter is in force at the edge (within a second).
    await expect
      .poll(
        async () => {
          a.danmaku('this is forbidden');
          return receiver.events().some((e) => e.kind === 'held');
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);

    const want = ['danmaku', 'gift', 'super_chat', 'like_total', 'moderation', 'room_state', 'held'];
    await expect.poll(() => want.filter((k) => !receiver.events().some((e) => e.kind === k)), { timeout: 20_000 }).toEqual([]);
    const texts = () =>
      receiver
        .events()
        .filter((e) => e.kind === 'danmaku')
        .map((e) => (e['payload'] as { text: string }).text);
    // 'this is forbidden' may pass as a danmaku before the filter is in force: only a* and b* are counted.
    await expect.poll(() => texts().filter((t) => /^[ab][0-9]+$/.test(t)).length, { timeout: 20_000 }).toBe(22);

    const events = receiver.events();
    // Once each: no id twice among the deliveries the receiver took.
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    // In order per room: sequenced events strictly increasing, counters repeat the latest seq.
    for (const [room, list] of seqsByRoom(events)) {
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as { seq: number };
        const cur = list[i] as { seq: number; kind: string };
        if (cur.kind === 'like_total') expect(cur.seq, room).toBeGreaterThanOrEqual(prev.seq);
        else expect(cur.seq, `${room} seq order`).toBeGreaterThan(prev.seq);
      }
    }
    expect(texts().filter((t) => /^a[0-9]+$/.test(t))).toEqual([...Array(14).keys()].map((i) => `a${i}`));
    expect(texts().filter((t) => /^b[0-9]+$/.test(t))).toEqual([...Array(8).keys()].map((i) => `b${i}`));
    // Every request was signed with the secret, and a retry carries the same delivery id and body.
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    const first = receiver.requests[0];
    expect(receiver.requests.filter((r) => r.delivery === first?.delivery).every((r) => r.body === first?.body)).toBe(true);
    // Its events arrived in the end (as the same delivery, or split by room after the failure).
    const firstIds = first?.events.map((e) => e.id) ?? [];
    expect(firstIds.length).toBeGreaterThan(0);
    expect(firstIds.every((id) => ids.includes(id))).toBe(true);
    const stats = server.webhooks?.stats();
    expect(stats?.retried).toBeGreaterThan(3);
    expect(stats?.deadEvents).toBe(0);

    // The shape of one event, as docs/webhooks.md shows it.
    const gift = events.find((e) => e.kind === 'gift') as Record<string, unknown>;
    expect(gift).toMatchObject({ type: 'gift', room: 'room-a', user: { id: 'ann', role: 'viewer' } });
    expect(gift['payload']).toMatchObject({ gift_id: 'flower', count: 1 });
    expect(gift['time']).toBe(new Date(gift['ts_ms'] as number).toISOString());
    const mod = events.find((e) => e.kind === 'moderation') as Record<string, unknown>;
    expect(mod).toMatchObject({ type: 'mute', payload: { user_id: 'eve', seconds: 60 } });
  }, 60_000);

  it('webhooks - a wrong secret fails verification, and so does an old or altered delivery', async () => {
    const receiver = new Receiver(secret);
    await receiver.start();
    stops.push(() => receiver.stop());
    const server = await start(receiver);
    const a = await viewer(server, 'room-s', 'sam');
    a.danmaku('signed');
    await expect.poll(() => receiver.accepted().length, { timeout: 10_000 }).toBeGreaterThan(0);
    const r = receiver.accepted()[0] as { body: string; signature: string };
    expect(verifyWebhook(r.body, r.signature, secret).ok).toBe(true);
    expect(verifyWebhook(r.body, r.signature, 'not-the-secret-0123456789')).toEqual({ ok: false, reason: 'signature' });
    expect(verifyWebhook(r.body + ' ', r.signature, secret)).toEqual({ ok: false, reason: 'signature' });
    expect(verifyWebhook(r.body, r.signature, secret, { now: Date.now() + 3_600_000 })).toEqual({ ok: false, reason: 'timestamp' });
  }, 30_000);

  it('webhooks - a room whose batches fail waits without holding up other rooms, then goes on in order', async () => {
    const receiver = new Receiver(secret);
    await receiver.start();
    stops.push(() => receiver.stop());
    let refuseBad = true;
    receiver.answer = (body) => (refuseBad && body.includes('"room":"bad"') ? 500 : 200);
    const server = await start(receiver, { BARRAGE_WEBHOOK_BATCH_MAX: '3' });
    const bad = await viewer(server, 'bad', 'bea');
    const good = await viewer(server, 'good', 'gus');
    for (let i = 0; i < 6; i++) bad.danmaku(`bad${i}`);
    await expect.poll(() => receiver.requests.length, { timeout: 10_000 }).toBeGreaterThan(0);
    for (let i = 0; i < 9; i++) good.danmaku(`good${i}`);
    const textsOf = (room: string) =>
      receiver
        .events()
        .filter((e) => e.room === room && e.kind === 'danmaku')
        .map((e) => (e['payload'] as { text: string }).text);
    await expect.poll(() => textsOf('good'), { timeout: 10_000 }).toEqual([...Array(9).keys()].map((i) => `good${i}`));
    expect(textsOf('bad')).toEqual([]);
    expect(server.webhooks?.stats().failed).toBeGreaterThan(0);
    refuseBad = false;
    await expect.poll(() => textsOf('bad'), { timeout: 10_000 }).toEqual([...Array(6).keys()].map((i) => `bad${i}`));
  }, 30_000);

  it('webhooks - past the retry horizon a batch becomes a dead letter an operator lists and replays', async () => {
    const receiver = new Receiver(secret);
    await receiver.start();
    stops.push(() => receiver.stop());
    let down = true;
    receiver.answer = () => (down ? 500 : 200);
    const server = await start(receiver, { BARRAGE_WEBHOOK_RETRY_HORIZON: '1', BARRAGE_WEBHOOK_EVENTS: 'danmaku' });
    const key = server.config.auth.apiKey;
    const a = await viewer(server, 'room-d', 'dan');
    a.danmaku('lost?');
    a.danmaku('not lost');
    const list = async () =>
      (await api(server.url, key, 'GET', '/api/v1/webhooks/dead')).body as { letters: Array<Record<string, unknown>> };
    await expect.poll(async () => (await list()).letters.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const letter = (await list()).letters[0] as Record<string, unknown>;
    expect(letter).toMatchObject({ url: receiver.url, lastError: 'HTTP 500', rooms: ['room-d'] });
    expect(letter['attempts']).toBeGreaterThan(1);
    expect(server.webhooks?.stats().deadEvents).toBeGreaterThan(0);

    // Refused without the key, unknown ids are 404, bad limits 400.
    expect((await fetch(`${server.url}/api/v1/webhooks/dead`)).status).toBe(401);
    expect((await api(server.url, key, 'POST', '/api/v1/webhooks/dead/999999999999999-000001/replay')).status).toBe(404);
    expect((await api(server.url, key, 'GET', '/api/v1/webhooks/dead?limit=0')).status).toBe(400);
    expect((await api(server.url, key, 'GET', '/api/v1/webhooks/dead?after=../../x')).status).toBe(400);

    down = false;
    await expect.poll(async () => (await list()).letters.length, { timeout: 10_000 }).toBe((await list()).letters.length);
    const all = (await list()).letters;
    for (const l of all) {
      const res = await api(server.url, key, 'POST', `/api/v1/webhooks/dead/${String(l['id'])}/replay`);
      expect(res.status).toBe(202);
    }
    const texts = () =>
      receiver
        .events()
        .map((e) => (e['payload'] as { text: string }).text)
        .sort();
    await expect.poll(texts, { timeout: 10_000 }).toEqual(['lost?', 'not lost']);
    await expect.poll(async () => (await list()).letters.length, { timeout: 10_000 }).toBe(0);
    expect((await api(server.url, key, 'POST', `/api/v1/webhooks/dead/${String(all[0]?.['id'])}/replay`)).status).toBe(404);
  }, 30_000);

  it('webhooks - a hostile receiver (redirects, an endless answer body) only fails its own deliveries', async () => {
    const other = new Receiver(secret);
    await other.start();
    stops.push(() => other.stop());
    // First a redirect to another receiver (never followed), then a 2xx whose body never ends (never read).
    let mode: 'redirect' | 'endless' = 'redirect';
    const hostile = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (mode === 'redirect') {
          res.writeHead(307, { location: other.url }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
    });
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
    stops.push(() => new Promise<void>((r) => hostile.close(() => r())));
    stops.push(() => hostile.closeAllConnections());
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/hook`;
    const server = await startTestServer(
      webhookEnv(url, { BARRAGE_WEBHOOK_EVENTS: 'danmaku', BARRAGE_WEBHOOK_DEAD_DIR: `/tmp/barrage-webhooks-hostile-${process.pid}` }),
    );
    stops.push(() => server.stop());
    const a = await viewer(server, 'room-h', 'hal');
    a.danmaku('one');
    await expect.poll(() => server.webhooks?.stats().failed ?? 0, { timeout: 10_000 }).toBeGreaterThan(1);
    expect(other.requests).toEqual([]);
    mode = 'endless';
    await expect.poll(() => server.webhooks?.stats().delivered ?? 0, { timeout: 10_000 }).toBe(1);
    // The process is fine: its memory did not take the endless body, and it goes on delivering.
    a.danmaku('two');
    await expect.poll(() => server.webhooks?.stats().delivered ?? 0, { timeout: 10_000 }).toBe(2);
    expect(process.memoryUsage().rss).toBeLessThan(2 * 1024 ** 3);
  }, 30_000);

  it('webhooks - join and leave of signed-in viewers are sent when asked for, guests are not', async () => {
    const receiver = new Receiver(secret);
    await receiver.start();
    stops.push(() => receiver.stop());
    const server = await start(receiver, { BARRAGE_WEBHOOK_EVENTS: 'join,leave' });
    const ann = await viewer(server, 'room-j', 'ann');
    const guest = await TestClient.connect(server.wsUrl('room-j'));
    stops.push(() => guest.close());
    ann.close();
    guest.close();
    const seen = () => receiver.events().map((e) => `${e.kind}:${(e['user'] as { id: string }).id}`);
    await expect.poll(seen, { timeout: 10_000 }).toEqual(['join:ann', 'leave:ann']);
    const join = receiver.events()[0] as Record<string, unknown>;
    expect(join).toMatchObject({ kind: 'join', type: 'join', room: 'room-j', seq: null, user: { id: 'ann', name: 'ann', role: 'viewer' } });
    expect(join['payload']).toMatchObject({ edge: 'test-edge' });
  }, 30_000);

  it('webhooks - without BARRAGE_WEBHOOK_URL the dead-letter API says webhooks are off', async () => {
    const server = await startTestServer();
    stops.push(() => server.stop());
    const res = await api(server.url, server.config.auth.apiKey, 'GET', '/api/v1/webhooks/dead');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'WEBHOOKS_OFF' } } });
    expect(server.webhooks).toBeUndefined();
  });
});
