import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { SiteDanmakuScreen } from '../../edge/site-danmaku.js';
import type { SiteDanmaku } from '../../domain/video-store.js';
import type { EdgeExtension } from '../../edge/extensions.js';

const d = (user: string, text = 'hi'): SiteDanmaku => ({
  user: { id: user, name: user },
  text,
  mode: 0,
  color: 0xffffff,
  size: 0,
  videoMs: 5,
});

describe('site danmaku screen', () => {
  it('site danmaku - the burst, then RATE_LIMITED with the wait, per viewer and video; time refills', () => {
    let now = 1_000;
    let limited = 0;
    const screen = new SiteDanmakuScreen({
      policies: [],
      danmakuPerSecond: 2,
      danmakuBurst: 3,
      now: () => now,
      onRateLimited: () => limited++,
    });
    for (let i = 0; i < 3; i++) expect(screen.check('_v_a', d('u')).ok).toBe(true);
    const refused = screen.check('_v_a', d('u'));
    expect(refused).toMatchObject({ ok: false, code: ErrorCode.ERROR_CODE_RATE_LIMITED, retryAfterMs: 500 });
    expect(limited).toBe(1);
    expect(screen.check('_v_b', d('u')).ok).toBe(true); // another video
    expect(screen.check('_v_a', d('v')).ok).toBe(true); // another viewer
    now += 500;
    expect(screen.check('_v_a', d('u')).ok).toBe(true);
  });

  it('site danmaku - the policies run in order on a viewer identity in the video room: a refusal stops, a replacement carries on', () => {
    const seen: string[] = [];
    const mask: EdgeExtension = {
      name: 'mask',
      danmakuPolicy: (conn, v) => {
        seen.push(`${conn.room}/${conn.identity.userId}/${conn.identity.role}/${v.videoMs}`);
        return { ok: true, text: v.text.replace('darn', '****') };
      },
    };
    const block: EdgeExtension = {
      name: 'block',
      danmakuPolicy: (_conn, v) =>
        v.text.includes('****') ? { ok: false, code: ErrorCode.ERROR_CODE_BLOCKED_TEXT, message: 'no' } : { ok: true },
    };
    expect(new SiteDanmakuScreen({ policies: [mask], danmakuPerSecond: 1, danmakuBurst: 1 }).check('_v_a', d('u', 'oh darn'))).toEqual({
      ok: true,
      text: 'oh ****',
    });
    expect(seen).toEqual(['_v_a/u/viewer/5']);
    const both = new SiteDanmakuScreen({ policies: [mask, block], danmakuPerSecond: 1, danmakuBurst: 1 });
    expect(both.check('_v_a', d('u', 'oh darn'))).toEqual({
      ok: false,
      code: ErrorCode.ERROR_CODE_BLOCKED_TEXT,
      message: 'no',
      retryAfterMs: 0,
    });
  });

  it('site danmaku - memory is bounded: past maxViewers, refilled buckets go, then the oldest half', () => {
    let now = 0;
    const screen = new SiteDanmakuScreen({ policies: [], danmakuPerSecond: 1, danmakuBurst: 2, maxViewers: 10, now: () => now });
    for (let i = 0; i < 1_000; i++) {
      screen.check('_v_a', d(`u${i}`));
      now += 1;
      expect(screen.size).toBeLessThanOrEqual(10);
    }
    // Idle long enough to refill: all are dropped at the next sweep, the new viewer kept.
    now += 10_000;
    screen.check('_v_a', d('late'));
    expect(screen.size).toBe(1);
  });
});
