import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('adaptive window - a room over the write budget gets a longer window (BARRAGE_BATCH_WRITES)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A budget of 1 write/s: any audience asks for the 1,000 ms cap, over a base window of 0.
    server = await startTestServer({
      BARRAGE_BATCH_MS: '0',
      BARRAGE_BATCH_WRITES: '1',
      BARRAGE_BATCH_MAX_MS: '1000',
      BARRAGE_DANMAKU_RATE: '1000',
      BARRAGE_DANMAKU_BURST: '1000',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('adaptive window - the first danmaku goes at once, the ones right after wait together for the grown window, in order', async () => {
    const c = await TestClient.connect(server.wsUrl('grown', await server.token({ room: 'grown' })));
    c.danmaku('first');
    await c.until(() => c.texts().length === 1);
    // Paced a turn or more apart (well inside the 1,000 ms window), so a 0 ms window would send each alone.
    for (let i = 0; i < 5; i++) {
      c.danmaku(`next-${i}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.until(() => c.texts().length === 6, 10_000, 'the held danmaku');
    expect(c.texts()).toEqual(['first', 'next-0', 'next-1', 'next-2', 'next-3', 'next-4']);
    // With a 0 ms window each would leave in its own frame; held for the grown window, one frame carries them.
    const withChat = c.frames.filter((f) => f.batch && !f.batch.history && f.batch.events?.some((e) => e.danmaku));
    expect(withChat.map((f) => f.batch?.events?.filter((e) => e.danmaku).length)).toEqual([1, 5]);
    c.close();
  });
});
