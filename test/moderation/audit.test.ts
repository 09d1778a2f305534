/**
 * The audit log: moderation actions by a moderator (WebSocket), the site
 * (HTTP) and the system (automatic slow mode) are read back from the
 * analytics store (chDB here) with who, what, when and why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { v1 } from '../../proto/index.js';
import { api, eventOf, moderate, sleep } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-audit-'));

describe('moderation audit', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
      BARRAGE_REPORT_HOLD_THRESHOLD: '2',
    });
    await server.analytics?.ready;
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moderation audit - every action is logged with who, what, when and why', async () => {
    const t0 = Date.now();
    const mod = await TestClient.connect(
      server.wsUrl('aud', await server.token({ room: 'aud', user: 'mod-1', name: 'Mod One', role: 'moderator' })),
    );
    moderate(mod, { mute: { userId: 'troll', seconds: 600 }, reason: 'insults' });
    moderate(mod, { ban: { userId: 'spammer' }, reason: 'link spam' });
    await eventOf(mod, 'ban');
    const call = (method: string, path: string, body?: unknown) => api(server.url, server.config.auth.apiKey, method, path, body);
    expect(
      (
        await call('POST', '/api/v1/rooms/aud/moderate', {
          action: 'slow_mode',
          seconds: 10,
          reason: 'raid',
          actor: { id: 'staff-9', name: 'Staff' },
        })
      ).status,
    ).toBe(202);
    expect((await api(server.url, 'nope', 'GET', '/api/v1/rooms/aud/audit')).status).toBe(401);
    let entries: Array<Record<string, unknown>> = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
      const r = await call('GET', `/api/v1/rooms/aud/audit?from=${t0 - 1000}`);
      expect(r.status).toBe(200);
      entries = r.body['entries'] as Array<Record<string, unknown>>;
      if (entries.length >= 3) break;
    }
    expect(entries.map((e) => [e['action'], (e['actor'] as { id: string }).id, e['target'], e['reason']])).toEqual([
      ['slow_mode', 'staff-9', '', 'raid'],
      ['ban', 'mod-1', 'spammer', 'link spam'],
      ['mute', 'mod-1', 'troll', 'insults'],
    ]);
    expect(entries[2]).toMatchObject({ count: 600, actor: { name: 'Mod One', role: 2 } });
    expect(entries[2]?.['tsMs']).toBeGreaterThanOrEqual(t0);
    mod.close();
  });

  it('moderation audit - reports: the auto-hold and the resolution are logged with the reporters counted, never who reported', async () => {
    const t0 = Date.now();
    const room = 'aud-rep';
    const join = async (user: string) => TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user })));
    const [author, r1, r2] = await Promise.all([join('author'), join('r1'), join('r2')]);
    author.danmaku('report me');
    const d = (await eventOf(r1, 'danmaku', (e) => e.danmaku?.text === 'report me')).danmaku as v1.Danmaku;
    r1.send({ report: { danmakuId: d.id } });
    r2.send({ report: { danmakuId: d.id } });
    await eventOf(r1, 'retract', (e) => e.retract?.danmakuId === d.id);
    const call = (method: string, path: string, body?: unknown) => api(server.url, server.config.auth.apiKey, method, path, body);
    expect(
      (await call('POST', `/api/v1/rooms/${room}/reports/${d.id}/resolve`, { action: 'remove', reason: 'spam', actor: { id: 'staff-2' } }))
        .status,
    ).toBe(200);
    const entries = async () =>
      ((await call('GET', `/api/v1/rooms/${room}/audit?from=${t0 - 1000}`)).body['entries'] ?? []) as Array<Record<string, unknown>>;
    await expect.poll(async () => (await entries()).filter((e) => e['action'] === 'report_outcome').length, { timeout: 15_000 }).toBe(2);
    const outcomes = (await entries()).filter((e) => e['action'] === 'report_outcome');
    expect(outcomes.map((e) => [(e['actor'] as { id: string }).id, e['target'], e['count'], e['reason']])).toEqual([
      ['staff-2', d.id, 2, 'spam'],
      ['system', d.id, 2, 'reported by 2 viewers'],
    ]);
    expect(JSON.parse(outcomes[0]?.['extra'] as string)).toMatchObject({ resolution: 'removed', user_id: 'author' });
    expect(JSON.stringify(outcomes)).not.toMatch(/"r[12]"/);
    for (const c of [author, r1, r2]) c.close();
  });
  it('moderation audit - plays: who opened a poll over the socket and a lottery over the API, and their ends by system', async () => {
    const t0 = Date.now();
    const room = 'aud-plays';
    const host = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'host-1', name: 'Host', role: 'host' })));
    host.send({ startPoll: { question: 'Which map?', options: ['A', 'B'], durationS: 5 } });
    const call = (method: string, path: string, body?: unknown) => api(server.url, server.config.auth.apiKey, method, path, body);
    expect((await call('POST', `/api/v1/rooms/${room}/lotteries`, { prize: 'A mug', winners: 1, duration_s: 5 })).status).toBe(201);
    await eventOf(host, 'pollResult', () => true, 15_000);
    await eventOf(host, 'lotteryResult', () => true, 15_000);
    const entries = async () =>
      ((await call('GET', `/api/v1/rooms/${room}/audit?from=${t0 - 1000}`)).body['entries'] ?? []) as Array<Record<string, unknown>>;
    await expect.poll(async () => (await entries()).length, { timeout: 15_000 }).toBe(4);
    const rows = (await entries()).map((e) => [e['action'], (e['actor'] as { id: string }).id, e['text']]);
    expect(rows.filter((r) => r[0] === 'poll' || r[0] === 'lottery').sort()).toEqual([
      ['lottery', 'api', 'A mug'],
      ['poll', 'host-1', 'Which map?'],
    ]);
    expect(rows.filter((r) => r[0] === 'poll_result' || r[0] === 'lottery_result').map((r) => r[1])).toEqual(['system', 'system']);
    host.close();
  });
});
