/**
 * A live session recorded across a cluster (`barrage core` and two
 * `barrage edge` on a real nats-server, analytics on a ClickHouse 18.16
 * server): the session is started through one edge and ended through the
 * other (one authority, the KV bucket), viewers on both edges send danmaku,
 * one is retracted after the session; the replay, read through either edge,
 * holds every danmaku at its offset from the session's start, in order, once,
 * never the retracted one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { v1 } from '../../proto/index.js';
import { startClickHouse } from '../analytics/clickhouse-server.js';
import type { TestClickHouse } from '../analytics/clickhouse-server.js';
import { TestClient } from '../helpers/client.js';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';

const apiKey = 'cluster-replay-api-key-0123456789';

describe('replay - clustered', () => {
  let nats: NatsSetup;
  let clickhouse: TestClickHouse;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    [nats, clickhouse] = await Promise.all([startNats(), startClickHouse()]);
    const env = { BARRAGE_API_KEY: apiKey, BARRAGE_ANALYTICS: 'on', BARRAGE_CLICKHOUSE_URL: clickhouse.url, BARRAGE_BATCH_MS: '10' };
    core = await RoleProcess.start('core', 'core-replay', nats.urls, env);
    edges = await Promise.all(['edge-replay-1', 'edge-replay-2'].map((id) => RoleProcess.start('edge', id, nats.urls, env)));
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([...edges.map((e) => e.stop()), core?.stop()]);
    await nats?.stop();
    await clickhouse?.destroy();
  });

  const call = async (edge: RoleProcess, method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${edge.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('replay - a session recorded from two edges replays every danmaku at its offset, in order, once, not the retracted one', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const room = 'show';
    const join = async (edge: RoleProcess, user: string) => {
      const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user })));
      clients.push(c);
      return c;
    };
    const [ann, bob] = await Promise.all([join(e1, 'ann'), join(e2, 'bob')]);
    const started = await call(e1, 'POST', `/api/v1/rooms/${room}/sessions`);
    expect(started.status).toBe(201);
    const id = started.body['session_id'] as string;
    const startedMs = started.body['started_ms'] as number;
    // The other edge knows it (one authority): a second start there is refused.
    expect((await call(e2, 'POST', `/api/v1/rooms/${room}/sessions`)).status).toBe(409);
    for (let i = 0; i < 20; i++) (i % 2 ? bob : ann).danmaku(`d${i}`);
    await ann.until(() => ann.texts().length === 20, 10_000, 'all 20 on edge 1');
    await bob.until(() => bob.texts().length === 20, 10_000, 'all 20 on edge 2');
    const live = ann.chat() as v1.Event[];
    const ended = await call(e2, 'POST', `/api/v1/rooms/${room}/sessions/${id}/end`);
    expect(ended.status).toBe(200);
    const retracted = live[7]?.danmaku?.id as string;
    expect((await call(e1, 'POST', `/api/v1/rooms/${room}/moderate`, { action: 'retract', danmaku_id: retracted })).status).toBe(202);
    const expected = live
      .filter((e) => e.danmaku?.id !== retracted)
      .map((e) => [e.danmaku?.id, Number(e.tsMs) - startedMs, e.danmaku?.text]);
    for (const edge of [e1, e2]) {
      await expect
        .poll(
          async () => {
            const r = await call(edge, 'GET', `/api/v1/videos/${id}/danmaku?segment=0`);
            return ((r.body['danmaku'] as Array<Record<string, unknown>>) ?? []).map((d) => [d['id'], d['offset_ms'], d['text']]);
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual(expected);
    }
  }, 90_000);
});
