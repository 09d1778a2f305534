/**
 * The server SDK (`barrage/server`) against a running server: tokens and
 * receipts it mints are accepted, its client reaches the routes with typed
 * errors, retries reuse the Idempotency-Key (a lost answer does not show a
 * message twice), and what may not be repeated is not; webhook signatures
 * verify only with the right secret and a fresh timestamp.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { v1 } from '../../proto/index.js';
import {
  BarrageApiError,
  BarrageClient,
  BarrageNetworkError,
  mintReceipt,
  mintViewerToken,
  operations,
  signWebhook,
  verifyWebhook,
} from '../../sdk/server.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer, testSecret } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const apiKey = 'sdk-test-api-key-0123456789abcdef';
const receiptSecret = 'sdk-receipt-secret-sdk-receipt-secret-01';
let server: TestServer;
const clients: TestClient[] = [];

async function viewer(room: string, user: string): Promise<TestClient> {
  const token = await mintViewerToken(testSecret, { room, user, name: user, role: 'viewer', ttlSeconds: 600 });
  const c = await TestClient.connect(server.wsUrl(room, token));
  clients.push(c);
  return c;
}

/** A fetch that records each request and lets a test decide what happens to it. */
function recordingFetch(decide: (n: number, req: Request) => 'pass' | 'lose-answer' | Response | Error) {
  const seen: Request[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(req.clone());
    const what = decide(seen.length, req);
    if (what instanceof Response) return what;
    if (what instanceof Error) throw what;
    const res = await fetch(req);
    if (what === 'lose-answer') {
      await res.arrayBuffer();
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    }
    return res;
  }) as typeof fetch;
  return { fetch: f, seen };
}

beforeAll(async () => {
  server = await startTestServer({ BARRAGE_API_KEY: apiKey, BARRAGE_RECEIPT_SECRET: receiptSecret, BARRAGE_BATCH_MS: '10' });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.stop());

describe('server sdk - signing', () => {
  it('server sdk - a minted viewer token is admitted and names the user', async () => {
    const c = await viewer('sdk-token', 'ann');
    c.danmaku('signed by the sdk');
    await c.until(() => c.texts().includes('signed by the sdk'), 5000, 'own danmaku');
    expect(c.chat()[0]?.danmaku?.user).toEqual(expect.objectContaining({ id: 'ann', name: 'ann' }));
  });

  it('server sdk - a minted receipt records a gift once', async () => {
    const c = await viewer('sdk-receipt', 'ann');
    const receipt = await mintReceipt(receiptSecret, { user: 'ann', room: 'sdk-receipt', jti: 'order-77', gift: 'rocket' });
    c.send({ sendGift: { receipt, clientMsgId: 'g1' } });
    await c.until(() => c.frames.some((f) => f.ack) && c.events.some((e) => e.gift), 5000, 'ack and gift');
    expect((c.frames.find((f) => f.ack)?.ack as v1.Ack).clientMsgId).toBe('g1');
  });

  it('server sdk - webhook signatures verify with the right secret and a fresh timestamp only', () => {
    const body = '{"events":[]}';
    const header = signWebhook(body, 'whsec-one');
    expect(verifyWebhook(body, header, 'whsec-one')).toEqual({ ok: true, timestamp: expect.any(Number) });
    expect(verifyWebhook(body, header, 'whsec-two')).toEqual({ ok: false, reason: 'signature' });
    expect(verifyWebhook(body + ' ', header, 'whsec-one')).toEqual({ ok: false, reason: 'signature' });
    const old = signWebhook(body, 'whsec-one', Date.now() - 600_000);
    expect(verifyWebhook(body, old, 'whsec-one')).toEqual({ ok: false, reason: 'timestamp' });
    expect(verifyWebhook(body, 'garbage', 'whsec-one')).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('server sdk - client', () => {
  it('server sdk - every /api/v1 operation of the description is reachable by the client', async () => {
    const client = new BarrageClient({ baseUrl: server.url, apiKey });
    const doc = (await client.openapi()).body;
    const ids = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([, ops]) => Object.values(ops).map((o) => o.operationId));
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(operations, `operation ${id}`).toHaveProperty(id);
  });

  it('server sdk - a lost answer is retried with the same key and the message is shown once', async () => {
    const v = await viewer('sdk-retry', 'watcher');
    const rec = recordingFetch((n) => (n === 1 ? 'lose-answer' : 'pass'));
    const client = new BarrageClient({ baseUrl: server.url, apiKey, fetch: rec.fetch, minDelayMs: 1, maxDelayMs: 5 });
    const result = await client.postMessage('sdk-retry', { text: 'hello from the site', bot: { id: 'host-bot', name: 'Host Bot' } });
    expect(rec.seen).toHaveLength(2);
    const keys = rec.seen.map((r) => r.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(result).toEqual(expect.objectContaining({ status: 200, replayed: true, idempotencyKey: keys[0] }));
    await client.postMessage('sdk-retry', { text: 'marker' });
    await v.until(() => v.texts().includes('marker'), 5000, 'the marker');
    expect(v.texts()).toEqual(['hello from the site', 'marker']);
  });

  it('server sdk - 503 with Retry-After is retried with the same key; the gift is recorded once', async () => {
    const rec = recordingFetch((n) =>
      n <= 2 ? new Response('{"error":{"code":"UNAVAILABLE","message":"busy"}}', { status: 503, headers: { 'retry-after': '0' } }) : 'pass',
    );
    const client = new BarrageClient({ baseUrl: server.url, apiKey, fetch: rec.fetch, minDelayMs: 1, maxDelayMs: 5 });
    const res = await client.sendGift(
      'sdk-gift',
      { user: { id: 'u9', name: 'Nine' }, gift: 'rocket', count: 1 },
      { idempotencyKey: 'order-9' },
    );
    expect(res.status).toBe(201);
    expect(rec.seen.map((r) => r.headers.get('idempotency-key'))).toEqual(['order-9', 'order-9', 'order-9']);
    const again = await client.sendGift(
      'sdk-gift',
      { user: { id: 'u9', name: 'Nine' }, gift: 'rocket', count: 1 },
      { idempotencyKey: 'order-9' },
    );
    expect(again).toEqual(expect.objectContaining({ status: 200, replayed: true }));
    expect(again.body.seq).toBe(res.body.seq);
  });

  it('server sdk - errors are typed, and a 4xx is not retried', async () => {
    const rec = recordingFetch(() => 'pass');
    const client = new BarrageClient({ baseUrl: server.url, apiKey, fetch: rec.fetch, minDelayMs: 1 });
    const bad = await client.postMessage('bad.room', { text: 'hi' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BarrageApiError);
    expect(bad).toMatchObject({ name: 'BarrageApiError', status: 400, code: 'BAD_ROOM', retryable: false });
    expect(rec.seen).toHaveLength(1);
    const reused = await client
      .postMessage('sdk-err', { text: 'one' }, { idempotencyKey: 'k1' })
      .then(() => client.postMessage('sdk-err', { text: 'two' }, { idempotencyKey: 'k1' }).catch((e: unknown) => e));
    expect(reused).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    const wrongKey = new BarrageClient({ baseUrl: server.url, apiKey: 'nope' });
    await expect(wrongKey.moderation('sdk-err')).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('server sdk - an action without a key is not repeated after a lost answer', async () => {
    const rec = recordingFetch(() => 'lose-answer');
    const client = new BarrageClient({ baseUrl: server.url, apiKey, fetch: rec.fetch, minDelayMs: 1 });
    const err = await client.moderate('sdk-mod', { action: 'notice', text: 'once' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BarrageNetworkError);
    expect(rec.seen).toHaveLength(1);
  });

  it('server sdk - a server that is not there is retried, then a network error', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    let calls = 0;
    const counting = ((input: RequestInfo | URL, init?: RequestInit) => {
      calls++;
      return fetch(input, init);
    }) as typeof fetch;
    const client = new BarrageClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey,
      retries: 2,
      minDelayMs: 1,
      maxDelayMs: 2,
      fetch: counting,
    });
    const err = await client.moderate('x', { action: 'notice', text: 'hi' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BarrageNetworkError', notSent: true });
    expect(calls).toBe(3);
  });

  it('server sdk - call reaches any operation by id with its parameters', async () => {
    const client = new BarrageClient({ baseUrl: server.url, apiKey });
    await client.putFilter('sdk-call', { terms: ['darn'], action: 'block' });
    const res = await client.call<{ terms: string[] }>('getRoomsRoomFilter', { params: { room: 'sdk-call' } });
    expect(res.body.terms).toEqual(['darn']);
    await expect(client.call('getRoomsRoomFilter')).rejects.toThrow('getRoomsRoomFilter needs params.room');
  });
});
