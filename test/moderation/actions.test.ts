/**
 * Moderation in one process, as users see it: every action by every role
 * (and the refusals), each refusal a viewer can meet, the HTTP API, the word
 * filter's actions with a moderator's approval, and automatic slow mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { RoleName } from '../../domain/auth.js';
import { CloseCode } from '../../domain/close-codes.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { api, errorOf, eventOf, moderate, sleep } from './helpers.js';

let server: TestServer;
const open: TestClient[] = [];

/**
 * Waits until the room's stored state includes `e`. The memory store hands
 * each write to the edge before it returns, so the edge has it too (its own
 * copy is dropped once the state is back at its defaults, so it cannot say).
 */
async function applied(e: v1.Event): Promise<void> {
  await expect.poll(async () => (await server.moderation.store.getState(e.room))?.seq ?? 0).toBeGreaterThanOrEqual(Number(e.seq));
}

async function join(room: string, user: string, role: RoleName, member = false): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role, member })));
  open.push(c);
  return c;
}

beforeAll(async () => {
  server = await startTestServer({
    BARRAGE_DANMAKU_RATE: '100',
    BARRAGE_DANMAKU_BURST: '100',
    BARRAGE_EMOTES: '[doge],[smile]',
    BARRAGE_AUTO_SLOW_RATE: '8',
    BARRAGE_AUTO_SLOW_SECONDS: '2',
    BARRAGE_AUTO_SLOW_CALM_MS: '1000',
  });
});
afterAll(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

/** Each action, and the event kind it makes. */
const actions: Array<[string, v1.IModerate]> = [
  ['retract', { retract: { danmakuId: 'a1' } }],
  ['mute', { mute: { userId: 'target', seconds: 60 } }],
  ['unmute', { unmute: { userId: 'target' } }],
  ['ban', { ban: { userId: 'target' } }],
  ['unban', { unban: { userId: 'target' } }],
  ['slowMode', { slowMode: { seconds: 3 } }],
  ['pin', { pin: { text: 'pinned words', seconds: 30 } }],
  ['notice', { notice: { text: 'be kind' } }],
  ['roomMode', { roomMode: { danmakuOff: false } }],
  ['roomClose', { roomClose: { reason: 'stream over' } }],
];

describe('moderation roles', () => {
  const roles: RoleName[] = ['viewer', 'moderator', 'host', 'admin'];
  it.each(roles)('moderation roles - every action by a %s', async (role) => {
    const room = `roles-${role}`;
    const watcher = await join(room, 'w', 'host');
    const actor = await join(room, `${role}-1`, role);
    for (const [kind, m] of actions) {
      const errors = actor.errors.length;
      moderate(actor, { ...m, reason: `because ${kind}` });
      const allowed = role === 'host' || role === 'admin' || (role === 'moderator' && kind !== 'roomClose');
      if (allowed) {
        const e = await eventOf(watcher, kind, (x) => x.reason === `because ${kind}`);
        expect(e.actor?.id).toBe(`${role}-1`);
        expect(e.seq).toBeGreaterThan(0);
      } else {
        const err = await errorOf(actor, ErrorCode.ERROR_CODE_FORBIDDEN, errors);
        expect(err.message).toMatch(new RegExp(`a ${role} may not`));
      }
    }
    if (role === 'viewer' || role === 'moderator') expect(watcher.events.filter((e) => e.kind === 'roomClose')).toHaveLength(0);
  });

  it('moderation roles - a guest may not moderate', async () => {
    const guest = await TestClient.connect(server.wsUrl('roles-guest'));
    open.push(guest);
    moderate(guest, { ban: { userId: 'x' } });
    await errorOf(guest, ErrorCode.ERROR_CODE_FORBIDDEN);
  });

  it('moderation roles - bad arguments are refused with INVALID_ARGUMENT', async () => {
    const mod = await join('roles-bad', 'm', 'moderator');
    moderate(mod, { mute: { userId: 'x', seconds: 14 * 86_400 + 1 } });
    expect((await errorOf(mod, ErrorCode.ERROR_CODE_INVALID_ARGUMENT)).message).toMatch(/1 to 1209600 seconds/);
    moderate(mod, { mute: { userId: '', seconds: 5 } });
    await mod.until(() => mod.errors.length >= 2);
    moderate(mod, { roomMode: { emoteOnly: true } });
    await eventOf(mod, 'roomMode', (e) => e.roomMode?.emoteOnly === true); // this site defines emotes
  });
});

describe('moderation refusals', () => {
  it('moderation refusals - a timed-out viewer gets MUTED with retry_after until the time passes', async () => {
    const mod = await join('mute', 'm', 'moderator');
    const v = await join('mute', 'v', 'viewer');
    moderate(mod, { mute: { userId: 'v', seconds: 1 } });
    await applied(await eventOf(v, 'mute'));
    v.danmaku('hello?');
    const err = await errorOf(v, ErrorCode.ERROR_CODE_MUTED);
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(1000);
    await sleep(err.retryAfterMs + 50);
    v.danmaku('back again');
    await v.until(() => v.texts().includes('back again'));
  });

  it('moderation refusals - slow mode per viewer with retry_after', async () => {
    const mod = await join('slow', 'm', 'moderator');
    const a = await join('slow', 'a', 'viewer');
    const b = await join('slow', 'b', 'viewer');
    moderate(mod, { slowMode: { seconds: 2 } });
    await applied(await eventOf(a, 'slowMode'));
    a.danmaku('first');
    b.danmaku('other viewer');
    await a.until(() => a.texts().includes('first') && a.texts().includes('other viewer'));
    a.danmaku('second');
    const err = await errorOf(a, ErrorCode.ERROR_CODE_SLOW_MODE);
    expect(err.retryAfterMs).toBeGreaterThan(1000);
    mod.danmaku('moderators are exempt');
    mod.danmaku('twice');
    await a.until(() => a.texts().includes('twice'));
  });

  it('moderation refusals - danmaku off, members only and emote only', async () => {
    const host = await join('modes', 'h', 'host');
    const v = await join('modes', 'v', 'viewer');
    const member = await join('modes', 'mem', 'viewer', true);
    moderate(host, { roomMode: { danmakuOff: true } });
    await applied(await eventOf(v, 'roomMode'));
    v.danmaku('anyone?');
    expect((await errorOf(v, ErrorCode.ERROR_CODE_ROOM_MODE)).message).toMatch(/off/);
    moderate(host, { roomMode: { membersOnly: true } });
    await applied(await eventOf(v, 'roomMode', (e) => e.roomMode?.membersOnly === true));
    v.danmaku('me too');
    await v.until(() => v.errors.filter((e) => /members only/.test(e.message)).length === 1);
    member.danmaku('a member speaks');
    await v.until(() => v.texts().includes('a member speaks'));
    moderate(host, { roomMode: { emoteOnly: true } });
    await applied(await eventOf(v, 'roomMode', (e) => e.roomMode?.emoteOnly === true));
    v.danmaku('words');
    await v.until(() => v.errors.filter((e) => /emote only/.test(e.message)).length === 1);
    v.danmaku('[doge] [smile][doge]');
    await v.until(() => v.texts().includes('[doge] [smile][doge]'));
  });

  it('moderation refusals - a ban closes the socket with 4502 and refuses the next upgrade; unban lets them back', async () => {
    const mod = await join('ban', 'm', 'moderator');
    const v = await join('ban', 'bad', 'viewer');
    const other = await join('ban', 'fine', 'viewer');
    moderate(mod, { ban: { userId: 'bad' }, reason: 'spam' });
    await v.closed();
    expect(v.closeCode).toBe(CloseCode.Banned);
    const token = await server.token({ room: 'ban', user: 'bad', role: 'viewer' });
    await expect(TestClient.connect(server.wsUrl('ban', token))).rejects.toMatchObject({ status: 403 });
    expect(other.closeCode).toBeUndefined();
    moderate(mod, { unban: { userId: 'bad' } });
    await applied(await eventOf(mod, 'unban'));
    const back = await TestClient.connect(server.wsUrl('ban', token));
    back.close();
  });

  it('moderation refusals - a closed room closes viewers with 4503 and refuses them; the host reopens it', async () => {
    const host = await join('close', 'h', 'host');
    const v = await join('close', 'v', 'viewer');
    moderate(host, { roomClose: { reason: 'stream over' } });
    await v.closed();
    expect(v.closeCode).toBe(CloseCode.RoomClosed);
    expect(host.closeCode).toBeUndefined();
    const token = await server.token({ room: 'close', user: 'v2', role: 'viewer' });
    await expect(TestClient.connect(server.wsUrl('close', token))).rejects.toMatchObject({ status: 403 });
    moderate(host, { roomClose: { reopen: true } });
    await applied(await eventOf(host, 'roomClose', (e) => e.roomClose?.reopen === true));
    (await TestClient.connect(server.wsUrl('close', token))).close();
  });
});

describe('moderation state on join', () => {
  it('moderation state on join - a viewer who arrives later is told the pin, slow mode and room mode, after the history', async () => {
    const room = 'late-join';
    const host = await join(room, 'h', 'host');
    host.danmaku('said before the pin');
    moderate(host, { pin: { danmakuId: 'd-1', text: 'rules: be kind', seconds: 30 } });
    moderate(host, { slowMode: { seconds: 4 } });
    moderate(host, { roomMode: { membersOnly: true } });
    await applied(await eventOf(host, 'roomMode'));

    const late = await join(room, 'late', 'viewer');
    const historyBatches = () => late.frames.filter((f) => f.batch?.history).map((f) => f.batch as v1.Batch);
    await late.until(() => historyBatches().some((b) => b.events.some((e) => e.pin)), 3000, 'the state batch');
    const batches = historyBatches();
    const state = batches.at(-1) as v1.Batch;
    expect(batches.flatMap((b) => b.events).some((e) => e.danmaku?.text === 'said before the pin')).toBe(true);
    expect(state.events.map((e) => e.kind)).toEqual(['pin', 'slowMode', 'roomMode']);
    expect(state.events.every((e) => Number(e.seq) === 0)).toBe(true);
    const pin = state.events[0]?.pin as v1.Pin;
    expect(pin.text).toBe('rules: be kind');
    expect(pin.danmakuId).toBe('d-1');
    expect(pin.seconds).toBeGreaterThan(25);
    expect(pin.seconds).toBeLessThanOrEqual(30);
    expect(state.events[1]?.slowMode?.seconds).toBe(4);
    expect(state.events[2]?.roomMode).toMatchObject({ membersOnly: true, danmakuOff: false, emoteOnly: false });

    // A recovered resume replays what it missed and gets no state batch (the chat would repeat its lines).
    const back = await TestClient.connect(
      server.wsUrl(room, await server.token({ room, user: 'late', name: 'late', role: 'viewer' }), { since: String(late.welcome?.seq) }),
    );
    open.push(back);
    expect(back.welcome?.recovered).toBe(true);
    await sleep(200);
    const seqZero = back.frames
      .filter((f) => f.batch?.history)
      .flatMap((f) => (f.batch as v1.Batch).events)
      .filter((e) => Number(e.seq) === 0);
    expect(seqZero).toEqual([]);

    // Lifted state is not announced: unpinned, slow mode off, modes cleared.
    moderate(host, { pin: { seconds: 0 } });
    moderate(host, { slowMode: { seconds: 0 } });
    moderate(host, { roomMode: {} });
    await applied(await eventOf(host, 'roomMode', (e) => !e.roomMode?.membersOnly));
    const later = await join(room, 'later', 'viewer');
    await sleep(200);
    expect(
      later.frames
        .filter((f) => f.batch?.history)
        .flatMap((f) => (f.batch as v1.Batch).events)
        .filter((e) => Number(e.seq) === 0),
    ).toEqual([]);
  });
});

describe('moderation api', () => {
  const call = (method: string, path: string, body?: unknown) => api(server.url, server.config.auth.apiKey, method, path, body);

  it('moderation api - needs the key; actions take effect; state and errors are JSON', async () => {
    const noKey = await api(server.url, 'wrong', 'POST', '/api/v1/rooms/api/moderate', { action: 'ban', user_id: 'x' });
    expect(noKey.status).toBe(401);
    const v = await join('api', 'v', 'viewer');
    const r = await call('POST', '/api/v1/rooms/api/moderate', {
      action: 'timeout',
      user_id: 'v',
      seconds: 600,
      reason: 'rude',
      actor: { id: 'staff-7', name: 'Staff' },
    });
    expect(r.status).toBe(202);
    const e = await eventOf(v, 'mute');
    expect(e.actor?.id).toBe('staff-7');
    expect(e.reason).toBe('rude');
    await applied(e);
    v.danmaku('hi');
    expect((await errorOf(v, ErrorCode.ERROR_CODE_MUTED)).retryAfterMs).toBeGreaterThan(590_000);
    const state = await call('GET', '/api/v1/rooms/api/moderation');
    expect(state.body['timeouts']).toEqual([{ user_id: 'v', until_ms: expect.any(Number) }]);
    expect((await call('POST', '/api/v1/rooms/api/moderate', { action: 'explode' })).status).toBe(400);
    expect((await call('POST', '/api/v1/rooms/api/moderate', { action: 'timeout', user_id: 'v', seconds: 0 })).body).toMatchObject({
      error: { code: 'ERROR_CODE_INVALID_ARGUMENT' },
    });
    expect((await call('POST', '/api/v1/rooms/bad.room/moderate', { action: 'ban', user_id: 'v' })).status).toBe(400);
    // `*` is no room (it names the global filter in the store): refused, however it is written.
    for (const star of ['*', '%2A']) {
      const r = await call('POST', `/api/v1/rooms/${star}/moderate`, { action: 'close', reason: 'all rooms?' });
      expect(r).toMatchObject({ status: 400, body: { error: { code: 'BAD_ROOM' } } });
      expect((await call('PUT', `/api/v1/rooms/${star}/filter`, { terms: ['x'] })).status).toBe(400);
    }
    for (const action of ['untimeout', 'ban', 'unban']) {
      expect((await call('POST', '/api/v1/rooms/api/moderate', { action, user_id: 'v' })).status).toBe(202);
    }
    for (const body of [
      { action: 'slow_mode', seconds: 5 },
      { action: 'pin', text: 'read the rules', seconds: 60 },
      { action: 'unpin' },
      { action: 'notice', text: 'welcome' },
      { action: 'room_mode', members_only: true },
      { action: 'retract', danmaku_id: 'zz' },
      { action: 'close', reason: 'done' },
      { action: 'reopen' },
    ]) {
      expect((await call('POST', '/api/v1/rooms/api/moderate', body)).status).toBe(202);
    }
    await sleep(100);
    const after = await call('GET', '/api/v1/rooms/api/moderation');
    expect(after.body).toMatchObject({ closed: false, bans: [], slow_mode: { seconds: 5 }, mode: { members_only: true }, pin: null });
  });

  it('moderation api - filter rules: replace with *, block, and hold for a moderator', async () => {
    const v = await join('filter', 'v', 'viewer');
    const mod = await join('filter', 'm', 'moderator');
    expect((await call('PUT', '/api/v1/rooms/filter/filter', { terms: ['darn'], patterns: ['('] })).status).toBe(400);
    expect((await call('PUT', '/api/v1/filter', { terms: ['heck'], action: 'replace' })).status).toBe(200);
    expect((await call('PUT', '/api/v1/rooms/filter/filter', { terms: ['darn', '笨蛋'], action: 'block' })).status).toBe(200);
    expect((await call('GET', '/api/v1/rooms/filter/filter')).body).toMatchObject({ terms: ['darn', '笨蛋'], action: 'block' });
    await sleep(50);
    v.danmaku('what the h e c k');
    await v.until(() => v.texts().includes('what the *******'));
    v.danmaku('ｄａｒｎ it');
    await errorOf(v, ErrorCode.ERROR_CODE_BLOCKED_TEXT);
    v.danmaku('你这个笨 蛋');
    await v.until(() => v.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_BLOCKED_TEXT).length === 2);
    expect((await call('PUT', '/api/v1/rooms/filter/filter', { terms: ['darn'], action: 'hold' })).status).toBe(200);
    await sleep(50);
    v.danmaku('darn, I missed it');
    await errorOf(v, ErrorCode.ERROR_CODE_HELD);
    await mod.until(() => mod.frames.some((f) => f.held && !f.held.resolved));
    const held = mod.frames.find((f) => f.held)?.held as v1.Held;
    expect(held.danmaku?.text).toBe('darn, I missed it');
    expect(held.matched).toBe('darn');
    expect(v.frames.some((f) => f.held)).toBe(false); // viewers never see held danmaku
    const list = await call('GET', '/api/v1/rooms/filter/held');
    expect(list.body['held']).toEqual([expect.objectContaining({ hold_id: held.holdId, text: 'darn, I missed it' })]);
    moderate(v, { hold: { holdId: held.holdId, approve: true } });
    await errorOf(v, ErrorCode.ERROR_CODE_FORBIDDEN);
    moderate(mod, { hold: { holdId: held.holdId, approve: true }, reason: 'harmless' });
    await v.until(() => v.texts().includes('darn, I missed it'));
    const decision = await eventOf(v, 'holdDecision');
    expect(decision.actor?.id).toBe('m');
    moderate(mod, { hold: { holdId: held.holdId, approve: true } });
    await errorOf(mod, ErrorCode.ERROR_CODE_NOT_FOUND);
    v.danmaku('darn again');
    await v.until(() => v.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_HELD).length === 2);
    await mod.until(() => mod.frames.filter((f) => f.held && !f.held.resolved).length === 2);
    const second = mod.frames.filter((f) => f.held && !f.held.resolved)[1]?.held as v1.Held;
    expect((await call('POST', `/api/v1/rooms/filter/held/${second.holdId}`, { approve: false })).status).toBe(200);
    await mod.until(() => mod.frames.some((f) => f.held?.resolved && f.held.holdId === second.holdId));
    await sleep(100);
    expect(v.texts()).not.toContain('darn again');
    await call('PUT', '/api/v1/filter', { terms: [] });
  });
});

describe('moderation automatic slow mode', () => {
  it('moderation automatic slow mode - turns on over the threshold, off when calm, and tells the room', async () => {
    const v = await join('busy', 'watcher', 'viewer');
    const talkers = await Promise.all([1, 2, 3, 4].map((i) => join('busy', `t${i}`, 'viewer')));
    for (let round = 0; round < 10; round++) {
      for (const t of talkers) t.danmaku(`round ${round}`);
      await sleep(100);
    }
    const on = await eventOf(v, 'slowMode', (e) => e.slowMode?.seconds === 2, 5000);
    expect(on.slowMode?.automatic).toBe(true);
    expect(on.actor?.id).toBe('system');
    await eventOf(v, 'notice', (e) => /slow mode is on/.test(e.notice?.text ?? ''));
    const off = await eventOf(v, 'slowMode', (e) => e.slowMode?.seconds === 0, 8000);
    expect(off.slowMode?.automatic).toBe(true);
    await eventOf(v, 'notice', (e) => /slow mode is off/.test(e.notice?.text ?? ''));
  });
});
