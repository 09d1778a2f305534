import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';
import { Viewer } from './helpers/viewer.js';
import { sleep } from './helpers/inject.js';
import { promValue } from '../helpers/metrics.js';

interface Conn {
  name: string;
  out_msgs: number;
  subscriptions_list?: string[];
}

describe('nats - three edges and one core on one NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-1', nats.urls);
    edges = await Promise.all(['e1', 'e2', 'e3'].map((id) => RoleProcess.start('edge', id, nats.urls)));
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    await Promise.all([...edges, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  const connz = async (): Promise<Conn[]> => (await nats.servers[0]!.monitor<{ connections: Conn[] }>('/connz?subs=1')).connections;
  const conn = (list: Conn[], edgeId: string) => list.find((c) => c.name === `barrage-edge-${edgeId}`) as Conn;

  it('order - viewers on every edge see every danmaku of the room in the same order', async () => {
    const senders: Viewer[] = [];
    for (const [i, edge] of edges.entries()) {
      const t = await token({ room: 'r', user: `s${i}` });
      const sender = await new Viewer((_a, since) => edge.wsUrl('r', t, since)).start();
      const watcher = await new Viewer((_a, since) => edge.wsUrl('r', undefined, since)).start();
      senders.push(sender);
      viewers.push(sender, watcher);
    }
    const perSender = 30;
    for (let n = 0; n < perSender; n++) {
      for (const [i, s] of senders.entries()) s.danmaku(`s${i}-${n}`);
      await sleep(5);
    }
    const total = perSender * senders.length;
    await Promise.all(viewers.map((v) => v.until(() => v.texts().length >= total, 20_000, `${total} danmaku`)));

    const reference = viewers[0]!.ordered().map((e) => `${e.seq}:${e.danmaku?.text}`);
    expect(reference).toHaveLength(total);
    expect(viewers[0]!.ordered().map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const v of viewers) {
      expect(v.ordered().map((e) => `${e.seq}:${e.danmaku?.text}`)).toEqual(reference);
      expect(v.duplicates).toBe(0);
    }
    // Each sender's own danmaku keep the order it sent them in.
    for (let i = 0; i < senders.length; i++) {
      const mine = viewers[0]!.texts().filter((t) => t.startsWith(`s${i}-`));
      expect(mine).toEqual(Array.from({ length: perSender }, (_, n) => `s${i}-${n}`));
    }
  });

  it('latency - core times ingress and the JetStream store, each edge times its hops, for the danmaku just sent', async () => {
    // 90 danmaku went through core above: 30 from a sender on each edge.
    const count = (text: string, series: string) => promValue(text, series) ?? 0;
    const coreText = (await core.http('/metrics')).body;
    expect(count(coreText, 'barrage_core_latency_seconds_count{hop="ingress"}')).toBeGreaterThanOrEqual(90);
    expect(count(coreText, 'barrage_core_latency_seconds_count{hop="store"}')).toBeGreaterThanOrEqual(90);
    // A store hop includes a JetStream acknowledgement: never below the 1 ms bucket in total.
    expect(count(coreText, 'barrage_core_latency_seconds_sum{hop="store"}')).toBeGreaterThan(0);
    for (const edge of edges) {
      const text = (await edge.http('/metrics')).body;
      expect(count(text, 'barrage_edge_latency_seconds_count{hop="ingress"}'), edge.id).toBe(30);
      for (const hop of ['bus', 'flush', 'total']) {
        expect(count(text, `barrage_edge_latency_seconds_count{hop="${hop}"}`), `${edge.id} ${hop}`).toBeGreaterThanOrEqual(90);
      }
      // Core's histogram lives in core's process, not on the edges.
      expect(text).not.toContain('barrage_core_latency_seconds');
    }
  });

  it('online - the count is summed over all edges and pushed to the room', async () => {
    const v = viewers[1]!;
    await v.until(() => v.online === viewers.length, 6_000, `online count ${viewers.length}`);
    expect(v.online).toBe(6);
  });

  it('interest - an edge with no viewers in a room receives no traffic for it', async () => {
    // Edge 3 keeps one viewer in another room; its viewers of room r leave.
    const other = await new Viewer((_a, since) => edges[2]!.wsUrl('other', undefined, since)).start();
    viewers.push(other);
    for (const v of viewers.splice(4, 2)) v.close();
    await expect
      .poll(async () => conn(await connz(), 'e3').subscriptions_list ?? [], { timeout: 5_000 })
      .not.toContain('barrage.room.r.ev');

    const before = await connz();
    const sender = viewers[0]!;
    const flood = 200;
    for (let n = 0; n < flood; n++) sender.danmaku(`flood-${n}`);
    await viewers[2]!.until(() => viewers[2]!.texts().filter((t) => t.startsWith('flood-')).length === flood, 20_000, 'flood');
    const after = await connz();

    const e1 = conn(after, 'e1').out_msgs - conn(before, 'e1').out_msgs;
    const e3 = conn(after, 'e3').out_msgs - conn(before, 'e3').out_msgs;
    expect(e1).toBeGreaterThanOrEqual(flood);
    // What edge 3 got meanwhile is room "other"'s online count, a message or two; none of room r.
    expect(e3).toBeLessThan(5);
    expect(conn(after, 'e3').subscriptions_list).not.toContain('barrage.room.r.ev');
    expect(conn(after, 'e3').subscriptions_list).toContain('barrage.room.other.ev');
    expect(core.alive && edges.every((e) => e.alive)).toBe(true);
  });
});
