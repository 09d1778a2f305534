import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('rate limit - danmaku per connection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_DANMAKU_RATE: '2', BARRAGE_DANMAKU_BURST: '3' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('rate limit - the burst passes, the rest is refused with retry_after and one error per second', async () => {
    const token = await server.token({ room: 'rl', user: 'fast' });
    const sender = await TestClient.connect(server.wsUrl('rl', token));
    const watcher = await TestClient.connect(server.wsUrl('rl', await server.token({ room: 'rl', user: 'w' })));
    for (let i = 0; i < 10; i++) sender.danmaku(`m${i}`, { clientMsgId: `c${i}` });
    await watcher.until(() => watcher.texts().length === 3);
    await sender.until(() => sender.errors.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.texts()).toEqual(['m0', 'm1', 'm2']);
    expect(sender.errors).toHaveLength(1);
    expect(sender.errors[0]).toMatchObject({ code: ErrorCode.ERROR_CODE_RATE_LIMITED, clientMsgId: 'c3' });
    expect(sender.errors[0]?.retryAfterMs).toBeGreaterThan(0);
    expect(sender.errors[0]?.retryAfterMs).toBeLessThanOrEqual(500);
    // After waiting as told, sending works again.
    await new Promise((r) => setTimeout(r, 600));
    sender.danmaku('later');
    await watcher.until(() => watcher.texts().includes('later'));
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/barrage_rate_limited_total\{limit="danmaku"\} 7/);
    sender.close();
    watcher.close();
  });

  it('rate limit - limits are per connection: another viewer is unaffected', async () => {
    const a = await TestClient.connect(server.wsUrl('rl2', await server.token({ room: 'rl2', user: 'a' })));
    const b = await TestClient.connect(server.wsUrl('rl2', await server.token({ room: 'rl2', user: 'b' })));
    for (let i = 0; i < 5; i++) a.danmaku(`a${i}`);
    b.danmaku('b0');
    await b.until(() => b.texts().includes('b0'));
    expect(b.errors).toHaveLength(0);
    a.close();
    b.close();
  });
});
