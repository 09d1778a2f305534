/**
 * The pieces of the per-hop latency histograms that need no server: reading
 * an event's ts_ms without decoding it, the batcher telling when each event
 * went out, and durations that cannot be negative.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { Batcher } from '../../edge/batcher.js';
import { eventTsMs } from '../../edge/frames.js';
import { coreLatency, edgeLatency, latencyBuckets, observeMs } from '../../domain/latency.js';
import { v1 } from '../../proto/index.js';
import { promValue } from '../helpers/metrics.js';

describe('latency - ts_ms of an encoded event', () => {
  it('latency - reads ts_ms of every kind of event, whatever the room length', () => {
    const ts = 1_764_000_000_123;
    expect(eventTsMs(v1.Event.encode({ seq: 7, room: 'r', tsMs: ts, danmaku: { text: 'hi' } }).finish())).toBe(ts);
    expect(eventTsMs(v1.Event.encode({ seq: 1, room: 'x'.repeat(64), tsMs: ts, gift: { id: 'g' } }).finish())).toBe(ts);
    expect(eventTsMs(v1.Event.encode({ seq: 0, room: 'r', tsMs: 5, online: { count: 3 } }).finish())).toBe(5);
  });

  it('latency - 0 for an event without ts_ms, an empty buffer and bytes that are not protobuf', () => {
    expect(eventTsMs(v1.Event.encode({ seq: 7, room: 'r', danmaku: { text: 'no time' } }).finish())).toBe(0);
    expect(eventTsMs(new Uint8Array(0))).toBe(0);
    expect(eventTsMs(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(0);
    expect(eventTsMs(new Uint8Array([0x12, 0x40, 0x61]))).toBe(0); // room longer than the bytes
    expect(eventTsMs(new TextEncoder().encode('{"ts_ms": 12}'))).toBe(0);
  });

  it('latency - stops at the event body: a ts_ms-like field inside a danmaku is not read', () => {
    // Field 3 varint only inside the body (Danmaku field 3 is `mode`): the event itself has no ts_ms.
    const bytes = v1.Event.encode({ seq: 2, room: 'r', danmaku: { text: 'a', mode: 2 } }).finish();
    expect(eventTsMs(bytes)).toBe(0);
  });
});

describe('latency - histograms', () => {
  it('latency - buckets run from 1 ms to 10 s, ascending', () => {
    expect(latencyBuckets[0]).toBe(0.001);
    expect(latencyBuckets.at(-1)).toBe(10);
    for (let i = 1; i < latencyBuckets.length; i++) expect(latencyBuckets[i]).toBeGreaterThan(latencyBuckets[i - 1]!);
  });

  it('latency - every hop is exported before any traffic, and a negative duration (clock skew) counts as 0', async () => {
    const registry = new Registry();
    const edge = edgeLatency(registry);
    const core = coreLatency();
    core.registerIn(registry);
    let text = await registry.metrics();
    for (const hop of ['ingress', 'bus', 'flush', 'total']) {
      expect(promValue(text, `barrage_edge_latency_seconds_count{hop="${hop}"}`), hop).toBe(0);
    }
    for (const hop of ['ingress', 'store']) expect(promValue(text, `barrage_core_latency_seconds_count{hop="${hop}"}`), hop).toBe(0);
    observeMs(edge.hops.bus, -40);
    observeMs(edge.hops.bus, 30);
    text = await registry.metrics();
    expect(promValue(text, 'barrage_edge_latency_seconds_bucket{le="0.001",hop="bus"}')).toBe(1);
    expect(promValue(text, 'barrage_edge_latency_seconds_bucket{le="0.03",hop="bus"}')).toBe(2);
    expect(promValue(text, 'barrage_edge_latency_seconds_sum{hop="bus"}')).toBeCloseTo(0.03, 6);
  });
});

describe('latency - the batcher tells when each event went out', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('latency - one call per window with each event arrival and ts_ms, in order; nothing kept after it', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const sent: Array<{ arrivedAt: number[]; tsMs: number[]; sentAt: number }> = [];
    const batcher = new Batcher({
      windowMs: 25,
      maxEvents: 100,
      onFlush: () => undefined,
      onSent: (arrivedAt, tsMs, count, sentAt) => sent.push({ arrivedAt: arrivedAt.slice(0, count), tsMs: tsMs.slice(0, count), sentAt }),
    });
    const ev = v1.Event.encode({ seq: 1, room: 'r', danmaku: { text: 'x' } }).finish();
    batcher.add('r', ev, 100);
    vi.advanceTimersByTime(0);
    // The room just flushed: the next events wait for the window.
    batcher.add('r', ev, 101);
    vi.advanceTimersByTime(10);
    batcher.add('r', ev, 0);
    vi.advanceTimersByTime(30);
    // Reported a turn after the flush (at 0 and 25), which fake timers run 1 ms later.
    expect(sent).toEqual([
      { arrivedAt: [0], tsMs: [100], sentAt: 1 },
      { arrivedAt: [0, 10], tsMs: [101, 0], sentAt: 26 },
    ]);
    batcher.stop();
    expect(sent).toHaveLength(2);
  });

  it('latency - a window is reported at the next turn, after uWS wrote the published frame, not inside onFlush', async () => {
    const order: string[] = [];
    const batcher = new Batcher({
      windowMs: 0,
      maxEvents: 2,
      onFlush: () => order.push('flush'),
      onSent: (_arrivedAt, tsMs, count) => order.push(`sent ${tsMs.slice(0, count).join(',')}`),
    });
    const ev = v1.Event.encode({ seq: 1, room: 'r', danmaku: { text: 'x' } }).finish();
    batcher.add('r', ev, 7);
    // A full batch goes out inside add: the report still waits for the next turn.
    batcher.add('r', ev, 8);
    expect(order).toEqual(['flush']);
    batcher.add('r', ev, 9);
    await expect.poll(() => order).toEqual(['flush', 'sent 7,8', 'flush', 'sent 9']);
  });
});
