/**
 * The server the replay browser tests play against: analytics on (chDB under
 * `dir`), one recorded video of 60 s whose danmaku are seeded at the given
 * video times (text → ms) and stored before it resolves (waited for, never
 * slept).
 */
import { join } from 'node:path';
import { subjects } from '../../domain/subjects.js';
import { videoRoom } from '../../domain/video-store.js';
import { v1 } from '../../proto/index.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

export async function startReplayServer(dir: string, video: string, times: Record<string, number>): Promise<TestServer> {
  const server = await startTestServer({
    BARRAGE_ANALYTICS: 'on',
    BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
    BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
  });
  await server.analytics?.ready;
  const put = await fetch(`${server.url}/api/v1/videos/${video}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ duration_ms: 60_000 }),
  });
  if (put.status !== 201) throw new Error(`PUT video ${video}: ${put.status}, not 201`);
  const entries = Object.entries(times);
  for (const [text, offsetMs] of entries) {
    const event = { room: videoRoom(video), tsMs: Date.now(), danmaku: { text, color: 0xffffff, offsetMs, user: { id: 'u', name: 'U' } } };
    server.bus.publish(subjects.ingress(videoRoom(video)), v1.Event.encode(event).finish());
  }
  for (const deadline = Date.now() + 20_000; ;) {
    const r = await fetch(`${server.url}/api/v1/videos/${video}/danmaku?segment=0`, { headers: { accept: 'application/json' } });
    if (((await r.json()) as { danmaku: unknown[] }).danmaku.length === entries.length) break;
    if (Date.now() > deadline) throw new Error('the seeded danmaku were not stored');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return server;
}
