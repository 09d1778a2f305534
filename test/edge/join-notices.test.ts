/**
 * Join notices (issue 17, `BARRAGE_JOIN_NOTICES`): signed-in viewers joining a
 * room become one `join_notice` per window ("Alice, Bob and 3 others
 * joined"), a counter; guests, reconnects that resume and repeat joins of one
 * user in a window are not counted; off by default. On NATS, joins on two
 * edges make one notice for the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { v1 } from '../../proto/index.js';
import { EventClass, classOf } from '../../domain/event-kind.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';

const notices = (c: TestClient): v1.Event[] => c.events.filter((e) => e.kind === 'joinNotice');
const total = (c: TestClient): number => notices(c).reduce((n, e) => n + (e.joinNotice?.count ?? 0), 0);

describe('join notices', () => {
  let server: TestServer;
  let off: TestServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    [server, off] = await Promise.all([
      startTestServer({ BARRAGE_JOIN_NOTICES: 'on', BARRAGE_JOIN_NOTICE_MS: '1500' }),
      startTestServer({ BARRAGE_JOIN_NOTICE_MS: '1500' }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([server?.stop(), off?.stop()]);
  });

  const join = async (s: TestServer, room: string, user?: string, extra: Record<string, string> = {}) => {
    const c = await TestClient.connect(s.wsUrl(room, user ? await s.token({ room, user, name: user }) : undefined, extra));
    clients.push(c);
    return c;
  };

  it('join notices - joins in a window are one counter line naming the first three; guests and repeats do not count', async () => {
    const room = 'joins';
    const watcher = await join(server, room); // a guest: sees notices, is not one
    const names = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin'];
    for (const name of names) await join(server, room, name);
    // Alice again in the same window (a second tab): counted once.
    await join(server, room, 'Alice');
    await join(server, room); // another guest
    await watcher.until(() => total(watcher) >= names.length, 5000, 'the notice');
    // Usually one line; two when the joins straddle a window's end. Each names at most three, first come first.
    const lines = notices(watcher);
    expect(total(watcher)).toBe(5);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines.flatMap((e) => e.joinNotice?.users?.map((u) => u.name) ?? []).slice(0, 3)).toEqual(['Alice', 'Bob', 'Carol']);
    for (const e of lines) {
      expect(classOf(e)).toBe(EventClass.Counter);
      expect(e.joinNotice?.users?.length).toBeLessThanOrEqual(3);
    }
    // A reconnect that resumes is the same viewer coming back, not a join; it joined before Grace,
    // so it would be counted in her line or an earlier one.
    const welcome = watcher.welcome as v1.Welcome;
    await join(server, room, 'Frank', { since: String(welcome.seq), epoch: welcome.epoch });
    await join(server, room, 'Grace');
    const named = (name: string) => notices(watcher).some((e) => e.joinNotice?.users?.some((u) => u.name === name));
    await watcher.until(() => named('Grace'), 5000, "Grace's line");
    expect(total(watcher)).toBe(6);
    expect(named('Frank')).toBe(false);
  });

  it('join notices - off by default: nobody is told', async () => {
    const watcher = await join(off, 'quiet', 'w');
    for (const name of ['a', 'b', 'c']) await join(off, 'quiet', name);
    // The server with notices on is the clock: two of its notices, for joins made after those
    // above, are a whole window (the same 1.5 s) later, when a notice would have come.
    const clock = await join(server, 'clock');
    await join(server, 'clock', 'x');
    await clock.until(() => notices(clock).length === 1, 5000, 'a first notice');
    await join(server, 'clock', 'y');
    await clock.until(() => notices(clock).length === 2, 5000, 'a second notice');
    expect(notices(watcher)).toEqual([]);
  });
});

describe('join notices on NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const env = { BARRAGE_JOIN_NOTICES: 'on', BARRAGE_JOIN_NOTICE_MS: '1000' };
    core = await RoleProcess.start('core', 'jc1', nats.urls, env);
    edges = await Promise.all(['je1', 'je2'].map((id) => RoleProcess.start('edge', id, nats.urls, env)));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([...edges, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('join notices nats - joins on two edges add up to the room total, told to viewers on both', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const room = 'joins-nats';
    const connect = async (edge: RoleProcess, user: string) => {
      const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user })));
      clients.push(c);
      return c;
    };
    const t0 = Date.now();
    const w1 = await connect(e1, 'watch-1');
    const w2 = await connect(e2, 'watch-2');
    for (let i = 0; i < 6; i++) await connect(i % 2 ? e1 : e2, `v${i}`);
    // The first to join is told of every join, its own included, from both edges; the other of those after it.
    await w1.until(() => total(w1) === 8, 8000, 'notices adding up to every join');
    await w2.until(() => total(w2) >= 7, 8000, 'notices on the other edge');
    // One line per room per window of core, not one per edge.
    const windows = Math.ceil((Date.now() - t0) / 1000) + 1;
    expect(notices(w1).length).toBeLessThanOrEqual(windows);
  });
});
