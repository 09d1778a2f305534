/**
 * The messages API clustered (`barrage core` and two `barrage edge` on a real
 * nats-server): a private line posted through one edge reaches its user's
 * sockets on both edges and no one else, with seq 0 and no gap in the room's
 * seqs; a retry of the same key through the other edge shows nothing twice;
 * a broadcast to every room reaches sockets on both edges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';
import { TestClient } from '../helpers/client.js';

const apiKey = 'cluster-messages-api-key-0123456789';

describe('messages api - clustered', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-msg', nats.urls, { BARRAGE_API_KEY: apiKey });
    edges = await Promise.all(
      ['edge-msg-1', 'edge-msg-2'].map((id) =>
        RoleProcess.start('edge', id, nats.urls, { BARRAGE_API_KEY: apiKey, BARRAGE_BATCH_MS: '10' }),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([...edges.map((e) => e.stop()), core?.stop()]);
    await nats?.stop();
  });

  const join = async (edge: RoleProcess, room: string, user: string): Promise<TestClient> => {
    const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user })));
    clients.push(c);
    return c;
  };
  const post = async (edge: RoleProcess, path: string, body: unknown, key?: string) => {
    const res = await fetch(`http://127.0.0.1:${edge.port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('messages api - a private line reaches its user on every edge, once, without a seq gap', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const a1 = await join(e1, 'dm', 'alice');
    const a2 = await join(e2, 'dm', 'alice');
    const b1 = await join(e1, 'dm', 'bob');
    const b2 = await join(e2, 'dm', 'bob');
    const first = await post(e1, '/api/v1/rooms/dm/messages', { text: 'public one' });
    expect(first.status).toBe(201);
    const dm = await post(e2, '/api/v1/rooms/dm/messages', { text: 'for alice only', to_user: 'alice' }, 'dm-key-1');
    expect(dm.status).toBe(202);
    // The same key through the other edge: the first answer, nothing sent again.
    const retry = await post(e1, '/api/v1/rooms/dm/messages', { text: 'for alice only', to_user: 'alice' }, 'dm-key-1');
    expect(retry.status).toBe(200);
    const second = await post(e2, '/api/v1/rooms/dm/messages', { text: 'public two' });
    expect(second.body['seq']).toBe((first.body['seq'] as number) + 1);
    for (const c of [a1, a2, b1, b2]) await c.until(() => c.texts().includes('public two'), 10_000, 'the second public line');
    expect(a1.texts()).toEqual(['public one', 'for alice only', 'public two']);
    expect(a2.texts()).toEqual(['public one', 'for alice only', 'public two']);
    expect(b1.texts()).toEqual(['public one', 'public two']);
    expect(b2.texts()).toEqual(['public one', 'public two']);
  });

  it('messages api - a broadcast to every room reaches sockets on both edges', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const x = await join(e1, 'bc-x', 'u1');
    const y = await join(e2, 'bc-y', 'u2');
    const res = await post(e2, '/api/v1/broadcast', { text: 'site-wide notice', rooms: '*' });
    expect(res.status).toBe(202);
    for (const c of [x, y]) await c.until(() => c.events.some((e) => e.notice?.text === 'site-wide notice'), 10_000, 'the notice');
  });
});
