/**
 * Live sessions and the replay API end to end in one process (chDB): a
 * session recorded from a live run replays every danmaku at its offset from
 * the session's start, in order, once, without the retracted one; segments
 * are cacheable (strong ETag, 304, Cache-Control, CORS) in protobuf and JSON;
 * bad input is refused with a code that says why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-replay-api-'));

describe('replay api', () => {
  let server: TestServer;
  let key: string;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = true) => {
    const res = await fetch(server.url + path, {
      method,
      headers: {
        ...(auth ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // protobuf or empty
    }
    return { status: res.status, headers: res.headers, bytes, json };
  };
  const code = (r: { json: Record<string, unknown> }) => (r.json['error'] as { code?: string } | undefined)?.code;

  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
      BARRAGE_DANMAKU_RATE: '100',
      BARRAGE_DANMAKU_BURST: '100',
    });
    key = server.config.auth.apiKey;
    await server.analytics?.ready;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replay api - a recorded session replays each danmaku at its offset, in order, once, never the retracted one', async () => {
    const room = 'show';
    const viewers = await Promise.all(
      ['ann', 'bob'].map(async (user) => TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user })))),
    );
    const [ann, bob] = viewers as [TestClient, TestClient];
    ann.danmaku('before the session');
    await ann.until(() => ann.texts().length === 1);

    const started = await call('POST', `/api/v1/rooms/${room}/sessions`);
    expect(started.status).toBe(201);
    const id = started.json['session_id'] as string;
    const startedMs = started.json['started_ms'] as number;
    expect(id).toMatch(/^[A-Za-z0-9_-]{1,60}$/);
    // One open session per room.
    const again = await call('POST', `/api/v1/rooms/${room}/sessions`);
    expect([again.status, code(again), again.json['session_id']]).toEqual([409, 'SESSION_OPEN', id]);
    expect((await call('GET', `/api/v1/rooms/${room}/sessions/current`)).json['session_id']).toBe(id);
    // The start is a control event every viewer sees.
    await bob.until(() => bob.events.some((e) => e.session?.id === id), 5000, 'session event');
    // A live session is not a video yet.
    expect(code(await call('GET', `/api/v1/videos/${id}/danmaku?segment=0`))).toBe('SESSION_LIVE');

    for (let i = 0; i < 12; i++) (i % 2 ? bob : ann).danmaku(`live ${i}`, { color: i === 3 ? 0xff0000 : 0, mode: i === 4 ? 1 : 0 });
    await ann.until(() => ann.texts().length === 13, 5000, 'all live danmaku');
    const live = ann.chat().filter((e) => e.danmaku?.text?.startsWith('live '));
    const retracted = live[5]?.danmaku?.id as string;
    const retract = await call('POST', `/api/v1/rooms/${room}/moderate`, { action: 'retract', danmaku_id: retracted });
    expect(retract.status).toBe(202);

    const ended = await call('POST', `/api/v1/rooms/${room}/sessions/${id}/end`);
    expect(ended.status).toBe(200);
    expect(ended.json['duration_ms']).toBe((ended.json['ended_ms'] as number) - startedMs);
    expect(code(await call('POST', `/api/v1/rooms/${room}/sessions/${id}/end`))).toBe('SESSION_ENDED');
    ann.danmaku('after the session');

    const info = await call('GET', `/api/v1/videos/${id}`, undefined, {}, false);
    expect(info.json).toMatchObject({ video: id, kind: 'session', room, finished: true, segment_ms: 360_000, segments: 1 });

    const expected = live
      .filter((e) => e.danmaku?.id !== retracted)
      .map((e) => ({ id: e.danmaku?.id, offset_ms: Number(e.tsMs) - startedMs, text: e.danmaku?.text }));
    let got: Array<Record<string, unknown>> = [];
    await expect
      .poll(
        async () => {
          const r = await call('GET', `/api/v1/videos/${id}/danmaku?segment=0`, undefined, { accept: 'application/json' }, false);
          got = (r.json['danmaku'] as Array<Record<string, unknown>>) ?? [];
          return got.map((d) => ({ id: d['id'], offset_ms: d['offset_ms'], text: d['text'] }));
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual(expected);
    expect(got.find((d) => d['text'] === 'live 3')).toMatchObject({ color: 0xff0000, mode: 0 });
    expect(got.find((d) => d['text'] === 'live 4')).toMatchObject({ mode: 1 });

    // The protobuf answer holds the same danmaku.
    const proto = await call('GET', `/api/v1/videos/${id}/danmaku?segment=0`, undefined, {}, false);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    const segment = v1.DanmakuSegment.decode(proto.bytes);
    expect(segment.danmaku.map((d) => [d.id, Number(d.offsetMs)])).toEqual(expected.map((d) => [d.id, d.offset_ms]));
    expect([segment.video, segment.segment, segment.segmentMs]).toEqual([id, 0, 360_000]);
    for (const v of viewers) v.close();
  }, 60_000);

  it('replay api - segments carry a strong ETag, Cache-Control and CORS, and answer 304 to a matching If-None-Match', async () => {
    expect((await call('PUT', '/api/v1/videos/cache-vod', { duration_ms: 1_000_000 })).status).toBe(201);
    const first = await call('GET', '/api/v1/videos/cache-vod/danmaku?segment=2', undefined, {}, false);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('vary')).toBe('Accept');
    expect(v1.DanmakuSegment.decode(first.bytes).danmaku).toEqual([]); // empty segment
    const again = await call('GET', '/api/v1/videos/cache-vod/danmaku?segment=2', undefined, { 'if-none-match': etag }, false);
    expect([again.status, again.bytes.length, again.headers.get('etag')]).toEqual([304, 0, etag]);
    // Another representation, another tag.
    const asJson = await call('GET', '/api/v1/videos/cache-vod/danmaku?segment=2', undefined, { accept: 'application/json' }, false);
    expect(asJson.headers.get('etag')).not.toBe(etag);
    const density = await call('GET', '/api/v1/videos/cache-vod/danmaku/density?buckets=50', undefined, {}, false);
    expect(density.json).toMatchObject({ video: 'cache-vod', duration_ms: 1_000_000, bucket_ms: 20_000 });
    expect(density.json['counts']).toEqual(Array(50).fill(0));
  });

  it('sessions - like totals start from zero when a session starts', async () => {
    const room = 'likes';
    const viewer = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'fan' })));
    viewer.send({ like: { count: 7 } });
    await viewer.until(() => viewer.events.some((e) => Number(e.likes?.total) === 7), 10_000, 'likes total 7');
    expect((await call('POST', `/api/v1/rooms/${room}/sessions`)).status).toBe(201);
    const seen = viewer.events.length;
    await viewer.until(() => viewer.events.slice(seen).some((e) => e.likes && Number(e.likes.total) === 0), 10_000, 'likes total 0');
    viewer.send({ like: { count: 2 } });
    await viewer.until(() => viewer.events.slice(seen).some((e) => Number(e.likes?.total) === 2), 10_000, 'likes total 2');
    viewer.close();
  }, 30_000);

  it('bad input - unknown videos, bad segments, bad durations and offsets, and no key are refused with a code', async () => {
    await call('PUT', '/api/v1/videos/bad-vod', { duration_ms: 400_000 });
    const get = (path: string) => call('GET', path, undefined, {}, false);
    expect([(await get('/api/v1/videos/nope/danmaku?segment=0')).status, code(await get('/api/v1/videos/nope'))]).toEqual([
      404,
      'NOT_FOUND',
    ]);
    expect(code(await get(`/api/v1/videos/${'x'.repeat(61)}`))).toBe('BAD_VIDEO');
    for (const s of ['-1', 'abc', '2', '1.5', '99999999999'])
      expect(code(await get(`/api/v1/videos/bad-vod/danmaku?segment=${s}`)), s).toBe('BAD_SEGMENT');
    expect((await get('/api/v1/videos/bad-vod/danmaku?segment=1')).status).toBe(200); // 400 s: segments 0 and 1
    for (const b of ['0', '2001', 'x']) expect(code(await get(`/api/v1/videos/bad-vod/danmaku/density?buckets=${b}`))).toBe('BAD_BUCKETS');
    for (const d of [0, -5, 1.5, 'long', 31 * 86_400_000])
      expect(code(await call('PUT', '/api/v1/videos/v2', { duration_ms: d }))).toBe('BAD_DURATION');
    expect(code(await call('PUT', '/api/v1/videos/v2', 'not json'))).toBe('BAD_JSON');
    expect((await call('PUT', '/api/v1/videos/v2', { duration_ms: 5 }, {}, false)).status).toBe(401);
    expect((await call('POST', '/api/v1/rooms/r1/sessions', undefined, {}, false)).status).toBe(401);
    expect(code(await call('POST', '/api/v1/rooms/r1/sessions', { offset_ms: 'soon' }))).toBe('BAD_OFFSET');
    expect(code(await call('POST', '/api/v1/rooms/_v_r1/sessions'))).toBe('BAD_ROOM');
    expect(code(await call('POST', '/api/v1/rooms/r1/sessions/nope/end'))).toBe('NOT_FOUND');
    // A session's id cannot be registered as a VOD, and its offset is corrected through the session.
    const s = await call('POST', '/api/v1/rooms/r1/sessions', { offset_ms: 1500 });
    const id = s.json['session_id'] as string;
    expect(s.json['offset_ms']).toBe(1500);
    expect(code(await call('PUT', `/api/v1/videos/${id}`, { duration_ms: 5 }))).toBe('VIDEO_IS_SESSION');
    expect((await call('PUT', `/api/v1/rooms/r1/sessions/${id}`, { offset_ms: -700 })).json['offset_ms']).toBe(-700);
    expect(code(await call('PUT', `/api/v1/rooms/r1/sessions/${id}`, { offset_ms: 86_400_001 }))).toBe('BAD_OFFSET');
    expect(code(await call('PUT', `/api/v1/rooms/other/sessions/${id}`, { offset_ms: 1 }))).toBe('NOT_FOUND');
    // Stream state: offline ends the open session, live starts one (and is a no-op while one is open).
    expect((await call('POST', '/api/v1/rooms/r1/stream-state', { live: false })).json['session_id']).toBe(id);
    const on = await call('POST', '/api/v1/rooms/r1/stream-state', { live: true });
    expect(on.status).toBe(201);
    expect((await call('POST', '/api/v1/rooms/r1/stream-state', { live: true })).json['session_id']).toBe(on.json['session_id']);
    expect(code(await call('POST', '/api/v1/rooms/r1/stream-state', { live: 'yes' }))).toBe('BAD_STATE');
  });
});
