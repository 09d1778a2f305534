/**
 * The demo's recording (`/replay`): a 5-minute VOD, `demo-replay`, with a few
 * hundred danmaku at video times, sent through the bus like any video
 * danmaku (sequenced, stored by the analytics sink), so a new user sees
 * replay work with nothing to install. Only `barrage start` with demo tokens
 * on seeds it, once per start (an id already registered is left alone).
 */
import { v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import { videoRoom, VideoKind } from '../../domain/video-store.js';
import type { VideoStore } from '../../domain/video-store.js';

/** The demo video's id and length. */
export const demoVideo = { id: 'demo-replay', durationMs: 300_000 } as const;

const lines = ['233', 'first!', '前方高能', 'wow', 'hello from the replay', 'nice', '哈哈哈哈', 'gg', 'again!', 'this part 👀'];
const colors = [0xffffff, 0xffffff, 0xffffff, 0xfe0302, 0x00cd00, 0xffc107, 0x4fc3f7];

/** Registers the demo video and sends its danmaku; a no-op when it exists. */
export async function seedDemoReplay(bus: Bus, store: VideoStore, count = 400): Promise<boolean> {
  if (await store.get(demoVideo.id)) return false;
  await store.put({
    id: demoVideo.id,
    kind: VideoKind.Vod,
    room: '',
    startedMs: 0,
    endedMs: 0,
    offsetMs: 0,
    durationMs: demoVideo.durationMs,
  });
  const room = videoRoom(demoVideo.id);
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    // Denser around 1:00 and 3:30, as a real audience gets at the good parts.
    const u = (i * 0.618034) % 1;
    const peak = i % 3 === 0 ? (i % 2 ? 60_000 : 210_000) + (u - 0.5) * 20_000 : u * demoVideo.durationMs;
    const offsetMs = Math.min(demoVideo.durationMs - 1, Math.max(0, Math.round(peak)));
    const event = v1.Event.encode({
      room,
      tsMs: now,
      danmaku: {
        user: { id: `seed-${i % 37}`, name: `viewer ${i % 37}`, role: v1.Role.ROLE_VIEWER },
        text: lines[i % lines.length] as string,
        mode: i % 23 === 0 ? 1 : i % 29 === 0 ? 2 : 0,
        color: colors[i % colors.length] as number,
        offsetMs,
      },
    }).finish();
    bus.publish(subjects.ingress(room), event);
  }
  return true;
}
