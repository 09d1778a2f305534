/**
 * Replay segments and density on both analytics engines (ClickHouse 18.16
 * and chDB), from rows written by the real sink: boundaries (a danmaku at
 * exactly a boundary is in one segment), the session's edges, empty
 * segments, retractions after the fact, VOD danmaku beside live ones, an
 * offset correction, 10,000 danmaku in one segment and a video with none;
 * rows recorded before the replay tables existed (migration 7 copies them)
 * and a batch written twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../../core/analytics/analytics-schema.js';
import { AnalyticsSink } from '../../core/analytics/analytics-sink.js';
import { BusEventSource } from '../../core/analytics/analytics-source.js';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { ReplayQueries, segmentMs } from '../../core/replay/replay-queries.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { subjects } from '../../domain/subjects.js';
import { videoRoom, VideoKind } from '../../domain/video-store.js';
import type { VideoRecord } from '../../domain/video-store.js';
import type { v1 } from '../../proto/index.js';
import { encode } from '../analytics/events.js';
import { analyticsEngines } from '../analytics/engines.js';

const db = 'barrage_replay';
const t0 = Date.UTC(2026, 10, 25, 18, 0, 0);
const user = { id: 'u1', name: 'Ann', role: 1 };

/** Writes events through the real sink, as core does. */
async function ingest(store: AnalyticsStore, events: v1.IEvent[], database = db): Promise<void> {
  const bus = new MemoryBus();
  const sink = new AnalyticsSink(new BusEventSource(bus), store, { database, flushMs: 20 });
  sink.start();
  for (const e of events) bus.publish(subjects.events(e.room ?? 'x'), encode(e));
  await bus.flush();
  await sink.flush();
  await sink.stop();
  await bus.close();
}

const session = (id: string, room: string, startedMs: number, endedMs: number, offsetMs = 0): VideoRecord => ({
  id,
  kind: VideoKind.Session,
  room,
  startedMs,
  endedMs,
  offsetMs,
  durationMs: 0,
});

let seq = 0;
const danmaku = (room: string, tsMs: number, id: string, extra: Partial<v1.IDanmaku> = {}): v1.IEvent => ({
  room,
  seq: ++seq,
  tsMs,
  danmaku: { id, user, text: `text of ${id}`, ...extra },
});

describe.each(analyticsEngines('replay'))('replay segments on $name', (engine) => {
  let store: AnalyticsStore;
  let replay: ReplayQueries;
  let version = '';
  // Session s1 of room live1: 20 minutes from t0, so segments 0..3 (the last one 2 minutes long).
  const s1 = session('s1', 'live1', t0, t0 + 20 * 60_000);

  beforeAll(async () => {
    store = await engine.open();
    version = await store.version();
    await migrate(store, db);
    replay = new ReplayQueries(store, db);
    await ingest(store, [
      danmaku('live1', t0 - 1, 'before-start'),
      danmaku('live1', t0, 'at-start', { mode: 1, color: 0xff0000, size: 2 }),
      danmaku('live1', t0 + segmentMs - 1, 'last-of-0'),
      danmaku('live1', t0 + segmentMs, 'first-of-1'),
      danmaku('live1', t0 + segmentMs + 5, 'retracted-later'),
      danmaku('live1', t0 + 3 * segmentMs + 1000, 'in-3'),
      danmaku('live1', t0 + 20 * 60_000, 'at-end'),
      danmaku('live1', t0 + 21 * 60_000, 'after-end'),
      danmaku('other', t0 + 1000, 'other-room'),
      // Posted to the recording afterwards, at video times of their own.
      danmaku(videoRoom('s1'), t0 + 3_600_000, 'vod-at-10s', { offsetMs: 10_000, color: 0x00ff00 }),
      danmaku(videoRoom('s1'), t0 + 3_600_001, 'vod-at-0', { offsetMs: 0 }),
      // A moderator retracts a live danmaku an hour after the session ended.
      { room: 'live1', seq: ++seq, tsMs: t0 + 2 * 3_600_000, retract: { danmakuId: 'retracted-later' }, actor: { id: 'mod' } },
    ]);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await engine.close();
  });

  it('replay - each danmaku in exactly one segment, ordered by video time, within the session, retracted ones never', async () => {
    const seg0 = await replay.segment(s1, 0);
    expect(seg0.map((d) => [d.id, d.offsetMs])).toEqual([
      ['at-start', 0],
      ['vod-at-0', 0],
      ['vod-at-10s', 10_000],
      ['last-of-0', segmentMs - 1],
    ]);
    expect(seg0[0]).toMatchObject({ mode: 1, color: 0xff0000, size: 2, user, text: 'text of at-start', merged: 1 });
    expect(seg0[2]?.color).toBe(0x00ff00);
    expect((await replay.segment(s1, 1)).map((d) => [d.id, d.offsetMs])).toEqual([['first-of-1', segmentMs]]);
    expect(await replay.segment(s1, 2)).toEqual([]); // empty
    expect((await replay.segment(s1, 3)).map((d) => d.id)).toEqual(['in-3']); // the session's end is not in it
  });

  it('replay - an offset correction moves every live danmaku and keeps each in one segment', async () => {
    // The recording started 2 s after the session: live danmaku are 2 s earlier in it.
    const shifted = { ...s1, offsetMs: -2_000 };
    const seg0 = (await replay.segment(shifted, 0)).map((d) => [d.id, d.offsetMs]);
    expect(seg0).toContainEqual(['last-of-0', segmentMs - 2_001]);
    expect(seg0.map(([id]) => id)).not.toContain('at-start'); // before the recording's time 0
    const seg1 = (await replay.segment(shifted, 1)).map((d) => d.id);
    expect(seg1).toEqual([]);
    expect((await replay.segment(shifted, 0)).map((d) => d.id)).toContain('first-of-1');
  });

  it('replay - density counts what the segments hold', async () => {
    const { bucketMs, counts } = await replay.density(s1, 20);
    expect(bucketMs).toBe(60_000);
    expect(counts).toHaveLength(20);
    expect(counts[0]).toBe(3);
    expect(counts[5]).toBe(1);
    expect(counts[6]).toBe(1);
    expect(counts[18]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('replay - a video with no danmaku: empty segments and zero density', async () => {
    const quiet = session('quiet', 'nobody-here', t0, t0 + 60_000);
    expect(await replay.segment(quiet, 0)).toEqual([]);
    expect((await replay.density(quiet, 10)).counts).toEqual(Array(10).fill(0));
    const vod: VideoRecord = { id: 'vod-empty', kind: VideoKind.Vod, room: '', startedMs: 0, endedMs: 0, offsetMs: 0, durationMs: 5_000 };
    expect(await replay.segment(vod, 0)).toEqual([]);
  });

  it('replay - 10,000 danmaku in one segment come back in order, each once', async () => {
    const room = 'busy';
    const events = Array.from({ length: 10_000 }, (_, i) =>
      // Sent out of time order within the segment; some share a millisecond.
      danmaku(room, t0 + ((i * 7919) % 10_000) * 30, `b${i}`),
    );
    await ingest(store, events);
    const busy = session('busy-s', room, t0, t0 + segmentMs);
    const got = await replay.segment(busy, 0);
    expect(got).toHaveLength(10_000);
    expect(new Set(got.map((d) => d.id)).size).toBe(10_000);
    for (let i = 1; i < got.length; i++) expect(got[i]!.offsetMs).toBeGreaterThanOrEqual(got[i - 1]!.offsetMs);
  }, 120_000);

  it('replay - danmaku recorded before migration 7 are copied into the replay tables; a batch written twice counts once', async () => {
    const old = 'barrage_replay_old';
    // A database as an older version left it: migrations 1-6 only, with a session's danmaku and a retraction.
    await store.exec(`CREATE DATABASE IF NOT EXISTS ${old}`);
    for (const m of migrations.filter((x) => x.version < 7 && (!x.when || x.when(version)))) {
      for (const sql of m.statements) await store.exec(sql.replaceAll('{db}', old));
    }
    const before = [
      danmaku('live2', t0 + 1_000, 'old-1'),
      danmaku('live2', t0 + 2_000, 'old-retracted'),
      danmaku(videoRoom('s2'), t0 + 3_600_000, 'old-vod', { offsetMs: 1_500 }),
      { room: 'live2', seq: ++seq, tsMs: t0 + 3_000, retract: { danmakuId: 'old-retracted' }, actor: { id: 'mod' } },
    ];
    await ingest(store, before, old);
    const report = await migrate(store, old);
    expect(report.applied).toContain(7);
    const s2 = session('s2', 'live2', t0, t0 + 60_000);
    const q = new ReplayQueries(store, old);
    expect((await q.segment(s2, 0)).map((d) => [d.id, d.offsetMs])).toEqual([
      ['old-1', 1_000],
      ['old-vod', 1_500],
    ]);
    // After it, the views copy what arrives; the same batch again (a retried write) is still one row each.
    const after = [danmaku('live2', t0 + 4_000, 'new-1')];
    await ingest(store, after, old);
    await ingest(store, after, old);
    await ingest(store, before, old);
    expect((await q.segment(s2, 0)).map((d) => d.id)).toEqual(['old-1', 'old-vod', 'new-1']);
    await store.exec(`DROP DATABASE IF EXISTS ${old}`);
  }, 120_000);
});
