/**
 * The per-hop latency histograms on a running server (one process: the
 * edge's /metrics carries core's histogram too): every hop is observed for
 * the danmaku that went through it, once per event and never per socket,
 * and an event without a time is delivered without being measured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { promValue } from '../helpers/metrics.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';

describe('latency - per-hop histograms on /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_DANMAKU_RATE: '1000', BARRAGE_DANMAKU_BURST: '1000', BARRAGE_BATCH_MS: '20' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
  const count = (text: string, metric: string, hop: string) => promValue(text, `${metric}_count{hop="${hop}"}`) ?? -1;

  it('latency - each hop counts every danmaku once, whatever the number of viewers', async () => {
    const viewers = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(server.wsUrl('lat'))));
    const sender = await TestClient.connect(server.wsUrl('lat', await server.token({ room: 'lat', user: 'sender' })));
    const before = await metrics();
    const n = 25;
    for (let i = 0; i < n; i++) sender.danmaku(`m${i}`);
    await Promise.all([...viewers, sender].map((c) => c.until(() => c.texts().length === n, 10_000, `${n} danmaku`)));

    const edge = 'barrage_edge_latency_seconds';
    const core = 'barrage_core_latency_seconds';
    // Received frames and sequenced events: exactly the danmaku sent.
    const text = await metrics();
    expect(count(text, edge, 'ingress') - count(before, edge, 'ingress')).toBe(n);
    expect(count(text, core, 'ingress') - count(before, core, 'ingress')).toBe(n);
    expect(count(text, core, 'store') - count(before, core, 'store')).toBe(n);
    // Every event the edge received from the bus (online counts too) is observed once on each edge hop,
    // not once per socket: 21 sockets and 25 danmaku are 525 deliveries, the hops see ~25.
    await expect
      .poll(async () => {
        const t = await metrics();
        const bus = promValue(t, 'barrage_bus_messages_in_total') ?? 0;
        return [count(t, edge, 'bus'), count(t, edge, 'flush'), count(t, edge, 'total')].map((c) => c - bus);
      })
      .toEqual([0, 0, 0]);
    const after = await metrics();
    const delivered = (promValue(after, 'barrage_events_out_total') ?? 0) - (promValue(before, 'barrage_events_out_total') ?? 0);
    const flushed = count(after, edge, 'flush') - count(before, edge, 'flush');
    expect(delivered).toBeGreaterThanOrEqual(21 * n);
    expect(flushed).toBeGreaterThanOrEqual(n);
    expect(flushed).toBeLessThan(2 * n);
    // The sums are durations of a few milliseconds on a local server, not timestamps or garbage.
    for (const hop of ['bus', 'flush', 'total']) {
      const sum = promValue(after, `${edge}_sum{hop="${hop}"}`) ?? -1;
      expect(sum, hop).toBeGreaterThanOrEqual(0);
      expect(sum / count(after, edge, hop), hop).toBeLessThan(10);
    }
    for (const c of [...viewers, sender]) c.close();
  });

  it('latency - an event without ts_ms (another publisher, an old core) is delivered and left out of the time hops', async () => {
    const viewer = await TestClient.connect(server.wsUrl('untimed'));
    const before = await metrics();
    server.bus.publish(subjects.events('untimed'), v1.Event.encode({ seq: 1, room: 'untimed', notice: { text: 'no ts' } }).finish());
    await viewer.until(() => viewer.events.some((e) => e.notice?.text === 'no ts'), 5_000, 'the notice');
    const text = await metrics();
    const edge = 'barrage_edge_latency_seconds';
    expect(count(text, edge, 'bus')).toBe(count(before, edge, 'bus'));
    expect(count(text, edge, 'total')).toBe(count(before, edge, 'total'));
    // The time it waited on the edge is still known.
    expect(count(text, edge, 'flush')).toBeGreaterThan(count(before, edge, 'flush'));
    viewer.close();
  });
});
