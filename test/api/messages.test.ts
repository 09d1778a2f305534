/**
 * The messages API end to end on a running server: a bot's or the site's
 * danmaku and a system line reach the room's viewers once (retries with the
 * same Idempotency-Key included), a private line reaches only its user's
 * sockets and leaves no gap in the room's seqs, broadcasts reach listed rooms
 * or every socket, and bad requests are refused with a reason.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
const clients: TestClient[] = [];

async function join(room: string, user: string): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user })));
  clients.push(c);
  return c;
}

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const danmakuOf = (c: TestClient): v1.Event[] => c.events.filter((e) => e.danmaku);
const noticesOf = (c: TestClient): string[] => c.events.filter((e) => e.notice).map((e) => e.notice?.text ?? '');

beforeAll(async () => {
  server = await startTestServer({ BARRAGE_BATCH_MS: '10' });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.stop());

describe('messages api - room messages', () => {
  it('messages api - a bot danmaku is shown once, a retry with the same key answers the first result', async () => {
    const v = await join('msg-bot', 'u1');
    const body = { text: 'quiz starts in 5 minutes', bot: { id: 'quizbot', name: 'Quiz Bot' } };
    const first = await post('/api/v1/rooms/msg-bot/messages', body, { 'idempotency-key': 'quiz-1' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ room: 'msg-bot', seq: expect.any(Number), id: expect.any(String), duplicate: false });
    const again = await post('/api/v1/rooms/msg-bot/messages', body, { 'idempotency-key': 'quiz-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    const reused = await post('/api/v1/rooms/msg-bot/messages', { ...body, text: 'something else' }, { 'idempotency-key': 'quiz-1' });
    expect(reused.status).toBe(409);
    expect((reused.body['error'] as { code: string }).code).toBe('IDEMPOTENCY_KEY_REUSED');
    await v.until(() => danmakuOf(v).length === 1, 5000, 'the bot danmaku');
    // A marker after the retries: anything shown twice would be before it.
    await post('/api/v1/rooms/msg-bot/messages', { text: 'marker' });
    await v.until(() => v.texts().includes('marker'), 5000, 'the marker');
    expect(v.texts()).toEqual(['quiz starts in 5 minutes', 'marker']);
    const shown = danmakuOf(v)[0] as v1.Event;
    expect(Number(shown.seq)).toBe(first.body['seq']);
    expect(shown.danmaku?.user).toEqual(expect.objectContaining({ id: 'quizbot', name: 'Quiz Bot', badges: ['bot'] }));
    expect(danmakuOf(v)[1]?.danmaku?.user).toEqual(expect.objectContaining({ id: 'system', badges: ['system'] }));
  });

  it('messages api - a system line is a notice to the room', async () => {
    const v = await join('msg-sys', 'u1');
    const res = await post('/api/v1/rooms/msg-sys/messages', { type: 'system', text: 'stream ends at 22:00', level: 'warn' });
    expect(res.status).toBe(201);
    await v.until(() => noticesOf(v).includes('stream ends at 22:00'), 5000, 'the notice');
    expect(v.events.find((e) => e.notice)?.notice?.level).toBe('warn');
  });

  it('messages api - a private line reaches only its user, on each of its sockets, and leaves no seq gap', async () => {
    const [a1, a2, b] = [await join('msg-dm', 'alice'), await join('msg-dm', 'alice'), await join('msg-dm', 'bob')];
    const before = await post('/api/v1/rooms/msg-dm/messages', { text: 'public one' });
    const dm = await post(
      '/api/v1/rooms/msg-dm/messages',
      { text: 'your prize code is 1234', to_user: 'alice' },
      { 'idempotency-key': 'dm-1' },
    );
    expect(dm.status).toBe(202);
    expect(dm.body).toEqual(expect.objectContaining({ seq: 0, to_user: 'alice', duplicate: false }));
    const retry = await post(
      '/api/v1/rooms/msg-dm/messages',
      { text: 'your prize code is 1234', to_user: 'alice' },
      { 'idempotency-key': 'dm-1' },
    );
    expect(retry.status).toBe(200);
    const after = await post('/api/v1/rooms/msg-dm/messages', { text: 'public two' });
    expect(after.body['seq']).toBe((before.body['seq'] as number) + 1);
    for (const c of [a1, a2, b]) await c.until(() => c.texts().includes('public two'), 5000, 'the second public line');
    expect(a1.texts()).toEqual(['public one', 'your prize code is 1234', 'public two']);
    expect(a2.texts()).toEqual(['public one', 'your prize code is 1234', 'public two']);
    expect(b.texts()).toEqual(['public one', 'public two']);
    expect(Number(danmakuOf(a1).find((e) => e.danmaku?.text === 'your prize code is 1234')?.seq)).toBe(0);
  });

  it('messages api - bad requests are refused with a reason, nothing is shown', async () => {
    const v = await join('msg-bad', 'u1');
    const cases: Array<[unknown, number, string, Record<string, string>?]> = [
      [{ text: '' }, 400, 'TEXT_INVALID'],
      [{ text: 'x'.repeat(101) }, 400, 'TEXT_INVALID'],
      [{ text: 'line\nbreak' }, 400, 'TEXT_INVALID'],
      [{ text: '\u202Eevil' }, 400, 'TEXT_INVALID'],
      [{ type: 'system', text: 'y'.repeat(501) }, 400, 'TEXT_INVALID'],
      [{ type: 'shout', text: 'hi' }, 400, 'INVALID_ARGUMENT'],
      [{ text: 'hi', bot: { id: '', name: 'x' } }, 400, 'INVALID_ARGUMENT'],
      [{ text: 'hi', bot: 'quizbot' }, 400, 'INVALID_ARGUMENT'],
      [{ text: 'hi', to_user: 42 }, 400, 'INVALID_ARGUMENT'],
      [{ text: 'hi', mode: 7 }, 400, 'INVALID_ARGUMENT'],
      [{ text: 'hi', color: -1 }, 400, 'INVALID_ARGUMENT'],
      [{ type: 'system', text: 'hi', level: 'loud' }, 400, 'INVALID_ARGUMENT'],
      ['{"text":', 400, 'INVALID_JSON'],
      ['[1,2]', 400, 'INVALID_JSON'],
      [{ text: 'hi' }, 400, 'IDEMPOTENCY_KEY_INVALID', { 'idempotency-key': 'has space' }],
    ];
    for (const [body, status, code, headers] of cases) {
      const res = await post('/api/v1/rooms/msg-bad/messages', body, headers);
      expect({ body, status: res.status, code: (res.body['error'] as { code: string } | undefined)?.code }).toEqual({ body, status, code });
    }
    expect((await post('/api/v1/rooms/bad.room/messages', { text: 'hi' })).status).toBe(400);
    const anonymous = await fetch(`${server.url}/api/v1/rooms/msg-bad/messages`, { method: 'POST', body: '{"text":"hi"}' });
    expect(anonymous.status).toBe(401);
    await post('/api/v1/rooms/msg-bad/messages', { text: 'only this' });
    await v.until(() => v.texts().length > 0, 5000, 'the good one');
    expect(v.texts()).toEqual(['only this']);
  });
});

describe('messages api - broadcast', () => {
  it('messages api - listed rooms get a sequenced notice each, once per key', async () => {
    const [a, b, c] = [await join('bc-a', 'u1'), await join('bc-b', 'u2'), await join('bc-c', 'u3')];
    const body = { text: 'maintenance at 03:00', rooms: ['bc-a', 'bc-b', 'bc-a'] };
    const res = await post('/api/v1/broadcast', body, { 'idempotency-key': 'maint-1' });
    expect(res.status).toBe(200);
    expect((res.body['results'] as Array<{ room: string; seq: number }>).map((r) => r.room)).toEqual(['bc-a', 'bc-b']);
    expect((res.body['results'] as Array<{ seq: number }>).every((r) => r.seq > 0)).toBe(true);
    const retry = await post('/api/v1/broadcast', body, { 'idempotency-key': 'maint-1' });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    await post('/api/v1/broadcast', { text: 'marker', rooms: ['bc-a', 'bc-b', 'bc-c'] });
    for (const v of [a, b, c]) await v.until(() => noticesOf(v).includes('marker'), 5000, 'the marker');
    expect(noticesOf(a)).toEqual(['maintenance at 03:00', 'marker']);
    expect(noticesOf(b)).toEqual(['maintenance at 03:00', 'marker']);
    expect(noticesOf(c)).toEqual(['marker']);
  });

  it('messages api - "*" reaches every socket of every room, unsequenced', async () => {
    const [a, b] = [await join('bc-all-a', 'u1'), await join('bc-all-b', 'u2')];
    const res = await post('/api/v1/broadcast', { text: 'we are live on the new domain', rooms: '*' });
    expect(res.status).toBe(202);
    for (const v of [a, b]) await v.until(() => noticesOf(v).includes('we are live on the new domain'), 5000, 'the notice');
    expect(Number(a.events.find((e) => e.notice)?.seq)).toBe(0);
  });

  it('messages api - a bad broadcast is refused', async () => {
    for (const [body, code] of [
      [{ text: 'hi' }, 'INVALID_ARGUMENT'],
      [{ text: 'hi', rooms: [] }, 'INVALID_ARGUMENT'],
      [{ text: 'hi', rooms: ['ok', 'not ok'] }, 'BAD_ROOM'],
      [{ text: 'hi', rooms: Array.from({ length: 1001 }, (_, i) => `r${i}`) }, 'INVALID_ARGUMENT'],
      [{ text: '', rooms: '*' }, 'TEXT_INVALID'],
    ] as const) {
      const res = await post('/api/v1/broadcast', body);
      expect([res.status, (res.body['error'] as { code: string }).code]).toEqual([400, code]);
    }
  });
});
