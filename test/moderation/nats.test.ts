/**
 * Moderation across edges on NATS (one core, two edges, real processes):
 * a delete reaches viewers on both edges within a second; a time-out set on
 * one edge holds on the other, and on an edge started after it (state read
 * from the KV bucket before the first upgrade), until the time passes; a ban
 * closes the user's socket on the other edge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { CloseCode } from '../../domain/close-codes.js';
import { TestClient } from '../helpers/client.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';
import { errorOf, eventOf, moderate, sleep } from './helpers.js';

describe('moderation on NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  const clients: TestClient[] = [];

  const join = async (edge: RoleProcess, room: string, user: string, role: 'viewer' | 'moderator' = 'viewer') => {
    const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user, role })));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-1', nats.urls);
    edges = await Promise.all(['m1', 'm2'].map((id) => RoleProcess.start('edge', id, nats.urls)));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([...edges, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('moderation nats - a delete reaches viewers on every edge within a second', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const sender = await join(e1, 'del', 'sender');
    const watcher1 = await join(e1, 'del', 'w1');
    const watcher2 = await join(e2, 'del', 'w2');
    const mod = await join(e2, 'del', 'mod', 'moderator');
    sender.danmaku('delete me');
    await watcher2.until(() => watcher2.texts().includes('delete me'));
    const id = watcher2.chat().find((e) => e.danmaku?.text === 'delete me')?.danmaku?.id as string;
    const t0 = Date.now();
    moderate(mod, { retract: { danmakuId: id }, reason: 'spoiler' });
    for (const w of [watcher1, watcher2, sender]) {
      const e = await eventOf(w, 'retract', (x) => x.retract?.danmakuId === id, 1000);
      expect(e.actor?.id).toBe('mod');
    }
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('moderation nats - a time-out holds on every edge and on a restarted edge until it passes; a ban closes sockets elsewhere', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const mod = await join(e1, 'mute', 'mod', 'moderator');
    const v = await join(e2, 'mute', 'v');
    const seconds = 10;
    const t0 = Date.now();
    moderate(mod, { mute: { userId: 'v', seconds }, reason: 'cool down' });
    await eventOf(v, 'mute');
    // The state reaches the other edge through the KV bucket: poll until it refuses.
    for (let i = 0; ; i++) {
      const before = v.errors.length;
      v.danmaku(`try ${i}`);
      await v.until(() => v.errors.length > before || v.texts().includes(`try ${i}`));
      if (v.errors.length > before) break;
      if (Date.now() - t0 > 1000) throw new Error('time-out not enforced on the other edge within a second');
      await sleep(50);
    }
    expect(v.errors.at(-1)?.code).toBe(ErrorCode.ERROR_CODE_MUTED);
    expect(Date.now() - t0).toBeLessThan(1000);

    // Restart the viewer's edge: the new process knows the time-out before it admits anyone.
    v.close();
    await e2.stop();
    const e3 = await RoleProcess.start('edge', 'm3', nats.urls);
    edges.push(e3);
    const again = await join(e3, 'mute', 'v');
    again.danmaku('I am back');
    const err = await errorOf(again, ErrorCode.ERROR_CODE_MUTED);
    expect(Date.now() + err.retryAfterMs - t0).toBeGreaterThan(seconds * 1000 - 500);
    await sleep(err.retryAfterMs + 100);
    again.danmaku('time passed');
    await again.until(() => again.texts().includes('time passed'), 3000);

    // A ban from the first edge closes the user's socket on the restarted one.
    moderate(mod, { ban: { userId: 'v' } });
    await again.closed(2000);
    expect(again.closeCode).toBe(CloseCode.Banned);
    const t = await token({ room: 'mute', user: 'v' });
    await expect(TestClient.connect(e3.wsUrl('mute', t))).rejects.toMatchObject({ status: 403 });
  });
});
