/**
 * The example site backend (examples/site-backend.ts, walked through in
 * docs/integration.md) against a running Barrage: its login token connects,
 * its payment records a gift once whatever the retries, its moderation
 * callback decides what viewers see, and its webhook receiver gets the
 * room's events, signed, once each.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { createSiteBackend } from '../../examples/site-backend.js';
import { BarrageClient } from '../../sdk/server.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer, testSecret } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const apiKey = 'example-backend-api-key-0123456789';
let barrage: TestServer;
let site: Server;
let siteUrl = '';
const events: Array<{ id: string; kind: string; room: string | null; payload?: Record<string, unknown> }> = [];

const postSite = async (path: string, body: unknown) => {
  const res = await fetch(siteUrl + path, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  site = createSiteBackend({
    barrageUrl: () => barrage.url,
    apiKey,
    tokenSecret: testSecret,
    webhookSecret: 'example-webhook-secret',
    moderationSecret: 'example-moderation-secret',
    onEvent: (e) => events.push(e),
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  barrage = await startTestServer({
    BARRAGE_API_KEY: apiKey,
    BARRAGE_MODERATION_HOOK_URL: `${siteUrl}/moderation`,
    BARRAGE_MODERATION_HOOK_SECRET: 'example-moderation-secret',
    BARRAGE_WEBHOOK_URL: `${siteUrl}/webhooks/barrage`,
    BARRAGE_WEBHOOK_SECRET: 'example-webhook-secret',
    BARRAGE_WEBHOOK_EVENTS: 'danmaku,gift',
    BARRAGE_WEBHOOK_BATCH_MS: '20',
    BARRAGE_BATCH_MS: '10',
  });
});
afterAll(async () => {
  await barrage?.stop();
  site.closeAllConnections();
  await new Promise<void>((r) => site.close(() => r()));
});

describe('example backend - the walk-through of docs/integration.md', () => {
  it('example backend - login, chat through the callback, pay twice, hear it all by webhook', async () => {
    const login = await postSite('/login', { user: 'u42', name: 'Alice', room: 'show' });
    expect(login.status).toBe(200);
    const alice = await TestClient.connect(String(login.body['ws']));
    const bob = await TestClient.connect(String((await postSite('/login', { user: 'u7', name: 'Bob', room: 'show' })).body['ws']));
    try {
      alice.danmaku('hello everyone');
      alice.danmaku('visit https://spam.example');
      alice.danmaku('call me 555 0100');
      alice.danmaku('THIS IS SO LOUD');
      alice.danmaku('bye');
      await bob.until(() => bob.texts().includes('bye'), 5000, 'the last danmaku');
      expect(bob.texts()).toEqual(['hello everyone', 'this is so loud', 'bye']);
      await alice.until(() => alice.errors.length >= 2, 5000, 'the refusals');
      expect(alice.errors.map((e) => [e.code, e.message])).toEqual([
        [ErrorCode.ERROR_CODE_MODERATION_HOOK_REJECTED, 'links are not allowed in chat'],
        [ErrorCode.ERROR_CODE_HELD, 'held for a moderator to approve'],
      ]);

      // The payment provider calls twice (a retry): one gift.
      const pay = { user: 'u42', name: 'Alice', room: 'show', gift: 'rocket', count: 1, order_id: 'A-1001' };
      const first = await postSite('/pay', pay);
      const second = await postSite('/pay', pay);
      expect(first).toEqual({ status: 200, body: { seq: expect.any(Number), replayed: false } });
      expect(second).toEqual({ status: 200, body: { seq: first.body['seq'], replayed: true } });
      await bob.until(() => bob.events.some((e) => e.gift), 5000, 'the gift');
      expect(bob.events.filter((e) => e.gift)).toHaveLength(1);
      expect((await postSite('/pay', { ...pay, gift: 'no-such-gift', order_id: 'A-1002' })).body).toEqual({ error: 'GIFT_UNKNOWN' });

      // The webhook receiver heard every published danmaku and the gift, once each.
      await expect
        .poll(() => events.filter((e) => e.room === 'show').map((e) => e.kind), { timeout: 15_000 })
        .toEqual(['danmaku', 'danmaku', 'danmaku', 'gift']);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    } finally {
      alice.close();
      bob.close();
    }
  });

  it('example backend - the SDK reads the webhook dead-letter store and the catalogues', async () => {
    const client = new BarrageClient({ baseUrl: barrage.url, apiKey });
    expect((await client.deadWebhooks()).status).toBe(200);
    expect((await client.gifts()).status).toBe(200);
    await expect(client.replayWebhook('no-such-delivery')).rejects.toMatchObject({ name: 'BarrageApiError', status: 404 });
  });

  it('example backend - a webhook with a bad signature is refused', async () => {
    const res = await fetch(`${siteUrl}/webhooks/barrage`, {
      method: 'POST',
      headers: { 'barrage-signature': 't=1,v1=00' },
      body: '{"events":[]}',
    });
    expect(res.status).toBe(400);
  });
});
