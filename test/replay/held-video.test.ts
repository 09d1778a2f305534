/**
 * A VOD danmaku the word filter holds keeps its video time: the moderator
 * sees it with its `offset_ms`, and once approved it reaches the video's
 * viewers at the time it was sent at, not at the start of the video.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { api, errorOf, moderate } from '../moderation/helpers.js';

describe('held video danmaku', () => {
  let server: TestServer;
  const call = (method: string, path: string, body?: unknown) => api(server.url, server.config.auth.apiKey, method, path, body);
  const videoUrl = async (video: string, user: string, role: 'viewer' | 'moderator') => {
    const token = await server.token({ room: video, user, name: user, role });
    return `ws://127.0.0.1:${server.port}/ws?${new URLSearchParams({ video, token })}`;
  };

  beforeAll(async () => {
    server = await startTestServer();
    expect((await call('PUT', '/api/v1/videos/held-ep', { duration_ms: 600_000 })).status).toBe(201);
    expect((await call('PUT', '/api/v1/filter', { terms: ['spoiler'], action: 'hold' })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('held video danmaku - approved, it is shown at the video time it was sent at', async () => {
    const mod = await TestClient.connect(await videoUrl('held-ep', 'mod', 'moderator'));
    const viewer = await TestClient.connect(await videoUrl('held-ep', 'viewer', 'viewer'));
    viewer.danmaku('spoiler: it was the butler', { videoMs: 42_000 });
    await errorOf(viewer, ErrorCode.ERROR_CODE_HELD);
    await mod.until(() => mod.frames.some((f) => f.held && !f.held.resolved), 5000, 'the moderator sees it held');
    const held = mod.frames.find((f) => f.held)?.held as v1.Held;
    expect(Number(held.danmaku?.offsetMs)).toBe(42_000);
    moderate(mod, { hold: { holdId: held.holdId, approve: true } });
    await viewer.until(() => viewer.texts().includes('spoiler: it was the butler'), 5000, 'approved and shown');
    const shown = viewer.chat().find((e) => e.danmaku?.text === 'spoiler: it was the butler');
    expect(Number(shown?.danmaku?.offsetMs)).toBe(42_000);
    mod.close();
    viewer.close();
  });
});
