/**
 * The counter policy of the analytics sink: which online, likes and
 * leaderboard events are stored (the sink and both engines are exercised in
 * analytics-sink.test.ts and test/analytics).
 */
import { describe, expect, it } from 'vitest';
import { CounterPolicy, onlineSampleMs } from '../../core/analytics/analytics-counters.js';
import { v1 } from '../../proto/index.js';
import { encode } from '../analytics/events.js';

const t0 = Date.UTC(2026, 10, 21, 12); // a minute boundary

function online(room: string, seq: number, tsMs: number, count: number): Uint8Array {
  return encode({ room, seq, tsMs, online: { count } });
}

/** What the policy released, decoded. */
function released(policy: CounterPolicy, nowMs?: number): v1.Event[] {
  const out: v1.Event[] = [];
  policy.release((bytes) => out.push(v1.Event.decode(bytes)), nowMs);
  return out;
}

describe('analytics counters', () => {
  it('online - rooms that never had a sequenced event store nothing, however many', () => {
    const policy = new CounterPolicy();
    for (let i = 0; i < 5_000; i++) expect(policy.intercepts(online(`guest-made-up-${i}`, 0, t0 + i, 1), t0 + i)).toBe(true);
    expect(released(policy)).toEqual([]);
    expect(policy.skipped).toBe(5_000);
  });

  it('online - one row per room and minute, the minute peak, released when the minute ends', () => {
    const policy = new CounterPolicy();
    const counts = [5, 9, 7, 9, 3];
    counts.forEach((c, i) => expect(policy.intercepts(online('live', 4, t0 + i * 2_000, c), t0 + i * 2_000)).toBe(true));
    // Still the same minute: nothing is due yet.
    expect(released(policy, t0 + 59_999)).toEqual([]);
    const [peak, ...rest] = released(policy, t0 + onlineSampleMs);
    expect(rest).toEqual([]);
    expect(peak?.online?.count).toBe(9);
    expect(Number(peak?.tsMs)).toBe(t0 + 2_000); // the first sample that reached the peak
    expect(policy.skipped).toBe(counts.length - 1);
    expect(released(policy)).toEqual([]);
  });

  it('online - a sample of the next minute displaces the held peak, which is released at once', () => {
    const policy = new CounterPolicy();
    policy.intercepts(online('live', 4, t0 + 1_000, 40), t0);
    policy.intercepts(online('live', 4, t0 + onlineSampleMs + 1_000, 30), t0 + onlineSampleMs);
    const out: number[] = [];
    policy.releaseDisplaced((bytes) => out.push(Number(v1.Event.decode(bytes).online?.count)));
    expect(out).toEqual([40]);
    // The new minute's sample is held until its minute ends or the sink flushes.
    expect(released(policy).map((e) => e.online?.count)).toEqual([30]);
  });

  it('likes - heartbeats with no new likes are left out, real deltas kept', () => {
    const policy = new CounterPolicy();
    expect(policy.intercepts(encode({ room: 'r', seq: 3, tsMs: t0, likes: { total: 40, delta: 40 } }), t0)).toBe(false);
    expect(policy.intercepts(encode({ room: 'r', seq: 3, tsMs: t0 + 2_000, likes: { total: 40, delta: 0 } }), t0)).toBe(true);
    expect(policy.skipped).toBe(1);
  });

  it('leaderboard - stored when it changes, heartbeats of the same board left out until long forgotten', () => {
    const policy = new CounterPolicy();
    const board = (cents: number, tsMs: number): Uint8Array =>
      encode({
        room: 'r',
        seq: 9,
        tsMs,
        leaderboard: { entries: [{ user: { id: 'u1' }, totalCents: cents }], totalCents: cents, totalGifts: 1 },
      });
    expect(policy.intercepts(board(500, t0), t0)).toBe(false);
    expect(policy.intercepts(board(500, t0 + 2_000), t0 + 2_000)).toBe(true);
    expect(policy.intercepts(board(900, t0 + 4_000), t0 + 4_000)).toBe(false);
    // Not pushed for eleven minutes: the room is forgotten, and its next board is stored again.
    released(policy, t0 + 4_000 + 11 * 60_000);
    expect(policy.intercepts(board(900, t0 + 15 * 60_000), t0 + 15 * 60_000)).toBe(false);
  });

  it('other events - danmaku, gifts, control and undecodable bytes are never intercepted', () => {
    const policy = new CounterPolicy();
    expect(policy.intercepts(encode({ room: 'r', seq: 1, tsMs: t0, danmaku: { id: 'd', text: 'hi' } }), t0)).toBe(false);
    expect(policy.intercepts(encode({ room: 'r', seq: 2, tsMs: t0, gift: { id: 'g', giftId: 'rose', count: 1 } }), t0)).toBe(false);
    expect(policy.intercepts(encode({ room: 'r', seq: 3, tsMs: t0, mute: { userId: 'u' } }), t0)).toBe(false);
    expect(policy.intercepts(new Uint8Array([0xff, 0xff, 0xff]), t0)).toBe(false);
    expect(policy.skipped).toBe(0);
  });
});
