import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

describe('smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('fan-out - a danmaku reaches another viewer', async () => {
    const a = await TestClient.connect(server.wsUrl('r1', await server.token({ room: 'r1', user: 'a' })));
    const b = await TestClient.connect(server.wsUrl('r1', await server.token({ room: 'r1', user: 'b' })));
    a.danmaku('hello');
    await b.until(() => b.texts().length === 1);
    expect(b.texts()).toEqual(['hello']);
    expect(b.events[0]?.seq).toBe(1);
    a.close();
    b.close();
  });
});
