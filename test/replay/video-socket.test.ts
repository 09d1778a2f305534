/**
 * VOD danmaku over a socket joined with `video=`: sent at a video time, shown
 * live to the video's other viewers, stored and replayed at that time; the
 * same validation and rate limits as a live room; bad times, unknown videos
 * and a session that is still live are refused with a code that says why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-video-socket-'));

describe('video sockets', () => {
  let server: TestServer;
  const api = (method: string, path: string, body?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const videoUrl = async (video: string, user: string, role: 'viewer' | 'guest' = 'viewer') => {
    const q = new URLSearchParams({ video, ...(role === 'guest' ? {} : { token: await server.token({ room: video, user, name: user }) }) });
    return `ws://127.0.0.1:${server.port}/ws?${q}`;
  };
  const sentError = (c: TestClient, code: (typeof ErrorCode)[keyof typeof ErrorCode]) =>
    c.until(() => c.errors.some((e) => e.code === code), 5000, `error ${code}`);

  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    await server.analytics?.ready;
    expect((await api('PUT', '/api/v1/videos/ep1', { duration_ms: 600_000 })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('video sockets - a danmaku sent at a video time reaches the video’s viewers at once and replays at that time', async () => {
    const ann = await TestClient.connect(await videoUrl('ep1', 'ann'));
    const bob = await TestClient.connect(await videoUrl('ep1', 'bob'));
    const guest = await TestClient.connect(await videoUrl('ep1', '', 'guest'));
    expect(ann.welcome?.room).toBe('_v_ep1');
    ann.danmaku('at five seconds', { videoMs: 5_000, color: 0x00ff00 });
    await bob.until(() => bob.texts().includes('at five seconds'), 5000, 'live to the other viewer');
    expect(Number(bob.chat()[0]?.danmaku?.offsetMs)).toBe(5_000);
    await guest.until(() => guest.texts().length === 1);
    guest.danmaku('guests read only', { videoMs: 1 });
    await sentError(guest, ErrorCode.ERROR_CODE_READ_ONLY);
    bob.danmaku('on the boundary', { videoMs: 360_000 });
    bob.danmaku('at the very end', { videoMs: 599_999 });
    await ann.until(() => ann.texts().length === 3);
    await expect
      .poll(
        async () => {
          const r = await fetch(`${server.url}/api/v1/videos/ep1/danmaku?segment=0`, { headers: { accept: 'application/json' } });
          return ((await r.json()) as { danmaku: Array<{ text: string; offset_ms: number; color: number }> }).danmaku;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual([expect.objectContaining({ text: 'at five seconds', offset_ms: 5_000, color: 0x00ff00 })]);
    // 360,000 ms is the first millisecond of segment 1, and only there.
    const seg1 = await fetch(`${server.url}/api/v1/videos/ep1/danmaku?segment=1`, { headers: { accept: 'application/json' } });
    expect(((await seg1.json()) as { danmaku: Array<{ text: string }> }).danmaku.map((d) => d.text)).toEqual([
      'on the boundary',
      'at the very end',
    ]);
    for (const c of [ann, bob, guest]) c.close();
  }, 40_000);

  it('video danmaku - posted by the site backend at a video time: shown to the video’s viewers, replayed there; bad posts refused', async () => {
    const viewer = await TestClient.connect(await videoUrl('ep1', 'watcher'));
    const post = (video: string, body: unknown, auth = true) =>
      fetch(`${server.url}/api/v1/videos/${video}/danmaku`, {
        method: 'POST',
        headers: { ...(auth ? { authorization: `Bearer ${server.config.auth.apiKey}` } : {}), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post('ep1', { user: { id: 'site-u1', name: 'Sam' }, text: 'posted at 7s', video_ms: 7_000, color: 0xff00ff });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ video: 'ep1', offset_ms: 7_000 });
    await viewer.until(() => viewer.texts().includes('posted at 7s'), 5000, 'live to the video’s viewer');
    expect(viewer.chat().find((e) => e.danmaku?.text === 'posted at 7s')).toMatchObject({
      danmaku: { offsetMs: 7_000, user: { id: 'site-u1' } },
    });
    await expect
      .poll(
        async () => {
          const r = await fetch(`${server.url}/api/v1/videos/ep1/danmaku?segment=0`, { headers: { accept: 'application/json' } });
          return ((await r.json()) as { danmaku: Array<{ text: string; offset_ms: number }> }).danmaku.find(
            (d) => d.text === 'posted at 7s',
          )?.offset_ms;
        },
        { timeout: 20_000 },
      )
      .toBe(7_000);
    const code = async (res: Response) => [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
    const good = { user: { id: 'u', name: 'U' }, text: 'x', video_ms: 1 };
    expect(await code(await post('ep1', { ...good, video_ms: 600_000 }))).toEqual([400, 'VIDEO_TIME_INVALID']);
    expect(await code(await post('ep1', { ...good, video_ms: -1 }))).toEqual([400, 'VIDEO_TIME_INVALID']);
    expect(await code(await post('ep1', { ...good, text: '   ' }))).toEqual([400, 'TEXT_INVALID']);
    expect(await code(await post('ep1', { ...good, text: 'y'.repeat(5_000) }))).toEqual([400, 'TEXT_INVALID']);
    expect(await code(await post('ep1', { ...good, user: { id: '' } }))).toEqual([400, 'INVALID_ARGUMENT']);
    expect(await code(await post('nosuch', good))).toEqual([404, 'NOT_FOUND']);
    expect((await post('ep1', good, false)).status).toBe(401);
    const live = (await (await api('POST', '/api/v1/rooms/onair2/sessions')).json()) as { session_id: string };
    expect(await code(await post(live.session_id, good))).toEqual([409, 'SESSION_LIVE']);
    viewer.close();
  }, 40_000);

  it('video danmaku - a site post gets a viewer’s live checks: per-viewer rate limit, word filter (block, replace, hold), a time-out', async () => {
    expect((await api('PUT', '/api/v1/videos/ep-site', { duration_ms: 600_000 })).status).toBe(201);
    const vroom = '_v_ep-site';
    const viewer = await TestClient.connect(await videoUrl('ep-site', 'site-watcher'));
    const post = (user: string, text: string) =>
      api('POST', '/api/v1/videos/ep-site/danmaku', { user: { id: user, name: user }, text, video_ms: 2_000 });
    const code = async (res: Response) => [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
    // The rate: a burst of 5 (BARRAGE_DANMAKU_BURST), then 429 with Retry-After, for this viewer only.
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const res = await post('fast', `quick ${i}`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.body?.cancel();
    }
    expect(limited, `statuses ${statuses.join(',')}`).toBeDefined();
    expect(statuses.filter((x) => x === 201).length).toBeGreaterThanOrEqual(5);
    expect(Number((limited as Response).headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await (limited as Response).json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect((await post('calm', 'not me')).status).toBe(201);
    // The word filter of the video's room, as a socket danmaku meets it (the edge loads rules as they change).
    expect((await api('PUT', `/api/v1/rooms/${vroom}/filter`, { terms: ['darn'], action: 'block' })).status).toBe(200);
    await expect.poll(async () => code(await post('w1', 'oh darn')), { timeout: 5_000 }).toEqual([422, 'BLOCKED_TEXT']);
    expect((await api('PUT', `/api/v1/rooms/${vroom}/filter`, { terms: ['heck'], action: 'replace' })).status).toBe(200);
    await expect.poll(async () => (await post('w2', 'what the heck')).status, { timeout: 5_000 }).toBe(201);
    await viewer.until(() => viewer.texts().includes('what the ****'), 5_000, 'published masked');
    expect(viewer.texts()).not.toContain('what the heck');
    expect((await api('PUT', `/api/v1/rooms/${vroom}/filter`, { terms: ['hmm'], action: 'hold' })).status).toBe(200);
    await expect
      .poll(
        async () => {
          const res = await post('w3', 'hmm indeed');
          return [res.status, ((await res.json()) as { held?: boolean }).held];
        },
        { timeout: 5_000 },
      )
      .toEqual([202, true]);
    const held = (await (await api('GET', `/api/v1/rooms/${vroom}/held`)).json()) as unknown;
    expect(JSON.stringify(held)).toContain('hmm indeed');
    // A time-out in the video's room holds for what the site posts for that viewer too.
    expect((await api('POST', `/api/v1/rooms/${vroom}/moderate`, { action: 'timeout', user_id: 'rude', seconds: 600 })).status).toBe(202);
    await expect.poll(async () => code(await post('rude', 'let me')), { timeout: 5_000 }).toEqual([403, 'MUTED']);
    viewer.close();
  }, 40_000);

  it('bad input - times past the end or not integers, unknown videos, a live session, reserved rooms, floods', async () => {
    const ann = await TestClient.connect(await videoUrl('ep1', 'ann2'));
    ann.danmaku('too late', { videoMs: 600_000 });
    await sentError(ann, ErrorCode.ERROR_CODE_VIDEO_TIME_INVALID);
    ann.danmaku('negative', { videoMs: -1 });
    await ann.until(() => ann.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_VIDEO_TIME_INVALID).length === 2);
    // The usual validation applies.
    ann.danmaku('', { videoMs: 10 });
    await sentError(ann, ErrorCode.ERROR_CODE_TEXT_EMPTY);
    // A flood is rate limited as in a live room.
    for (let i = 0; i < 40; i++) ann.danmaku(`flood ${i}`, { videoMs: i });
    await sentError(ann, ErrorCode.ERROR_CODE_RATE_LIMITED);
    ann.close();

    // Unknown video: looked up on the first try, refused at the upgrade from then on.
    const first = await TestClient.connect(await videoUrl('nosuch', 'x'));
    first.danmaku('hello', { videoMs: 1 });
    await first.until(() =>
      first.errors.some((e) => e.code === ErrorCode.ERROR_CODE_NOT_FOUND || e.code === ErrorCode.ERROR_CODE_UNAVAILABLE),
    );
    first.close();
    await expect
      .poll(async () =>
        TestClient.connect(await videoUrl('nosuch', 'x')).then(
          (c) => (c.close(), 0),
          (err: { status?: number }) => err.status,
        ),
      )
      .toBe(404);

    // A session still live is not a video to post to.
    const started = (await (await api('POST', '/api/v1/rooms/onair/sessions')).json()) as { session_id: string };
    const early = await TestClient.connect(await videoUrl(started.session_id, 'y'));
    await expect
      .poll(() => {
        early.danmaku('too early', { videoMs: 1 });
        return early.errors.some((e) => e.code === ErrorCode.ERROR_CODE_FORBIDDEN);
      })
      .toBe(true);
    early.close();

    // Video rooms are reached with video=, never room=; bad ids are refused.
    await expect(TestClient.connect(`ws://127.0.0.1:${server.port}/ws?room=_v_ep1`)).rejects.toMatchObject({ status: 400 });
    await expect(TestClient.connect(`ws://127.0.0.1:${server.port}/ws?video=${'x'.repeat(61)}`)).rejects.toMatchObject({ status: 400 });
    // A token for a room does not open a video of another name.
    const token = await server.token({ room: 'ep2', user: 'z' });
    await expect(TestClient.connect(`ws://127.0.0.1:${server.port}/ws?video=ep1&token=${token}`)).rejects.toMatchObject({ status: 403 });
  }, 40_000);
});
