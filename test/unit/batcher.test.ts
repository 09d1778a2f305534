import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher, adaptiveWindowMs } from '../../edge/batcher.js';
import { v1 } from '../../proto/index.js';

const event = (seq: number) => v1.Event.encode({ seq, room: 'r', danmaku: { text: `m${seq}` } }).finish();
const seqsOf = (frame: Uint8Array) => v1.ServerFrame.decode(frame).batch?.events?.map((e) => e.seq);

describe('batcher - one frame per room per window, leading edge for quiet rooms', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(windowMs = 25, maxEvents = 100) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const frames: Array<{ room: string; seqs: Array<number | null | undefined> | undefined; at: number }> = [];
    const batcher = new Batcher({
      windowMs,
      maxEvents,
      onFlush: (room, frame) => frames.push({ room, seqs: seqsOf(frame), at: performance.now() }),
    });
    return { batcher, frames };
  }

  it('batcher - a quiet room sends its first events at the end of the turn, together', () => {
    const { batcher, frames } = setup();
    batcher.add('r', event(1));
    batcher.add('r', event(2));
    expect(frames).toHaveLength(0);
    vi.advanceTimersToNextTimer();
    expect(frames).toEqual([{ room: 'r', seqs: [1, 2], at: 0 }]);
  });

  it('batcher - a busy room gets at most one frame per window, nothing lost, in order', () => {
    const { batcher, frames } = setup(25);
    let seq = 0;
    for (let t = 0; t < 200; t += 5) {
      batcher.add('r', event(++seq));
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(100);
    const all = frames.flatMap((f) => f.seqs ?? []);
    expect(all).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.at - frames[i - 1]!.at).toBeGreaterThanOrEqual(25);
    expect(frames.length).toBeLessThanOrEqual(Math.ceil(300 / 25));
  });

  it('batcher - rooms are batched independently', () => {
    const { batcher, frames } = setup();
    batcher.add('a', event(1));
    batcher.add('b', event(1));
    vi.advanceTimersToNextTimer();
    vi.advanceTimersToNextTimer();
    expect(frames.map((f) => f.room).sort()).toEqual(['a', 'b']);
  });

  it('batcher - a full batch is sent at once; drop and stop send what is pending', () => {
    const { batcher, frames } = setup(25, 3);
    for (let i = 1; i <= 3; i++) batcher.add('r', event(i));
    expect(frames).toHaveLength(1);
    batcher.add('r', event(4));
    batcher.drop('r');
    expect(frames.at(-1)?.seqs).toEqual([4]);
    batcher.add('s', event(1));
    batcher.stop();
    expect(frames.at(-1)).toMatchObject({ room: 's', seqs: [1] });
    vi.advanceTimersByTime(1000);
    expect(frames).toHaveLength(3);
  });
});

describe('batcher - adaptive window: grows only for a busy room with a large audience', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('batcher - the window keeps frames per second x viewers under the budget, between the base and the cap', () => {
    // 50,000 writes/s: 1,000 viewers fit at 25 ms (40 frames/s), 2,500 need 50 ms, 10,000 hit the 100 ms cap.
    expect(adaptiveWindowMs(25, 100, 50_000, 0)).toBe(25);
    expect(adaptiveWindowMs(25, 100, 50_000, 1_000)).toBe(25);
    expect(adaptiveWindowMs(25, 100, 50_000, 2_500)).toBe(50);
    expect(adaptiveWindowMs(25, 100, 50_000, 10_000)).toBe(100);
    // Off: no budget, or a cap not above the base.
    expect(adaptiveWindowMs(25, 100, 0, 10_000)).toBe(25);
    expect(adaptiveWindowMs(25, 25, 50_000, 10_000)).toBe(25);
    expect(adaptiveWindowMs(0, 100, 50_000, 2_500)).toBe(50);
  });

  it('batcher - a large busy room gets its longer window; a quiet one still sends at once; nothing lost or reordered', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const frames: Array<{ room: string; seqs: Array<number | null | undefined> | undefined; at: number }> = [];
    const viewers: Record<string, number> = { big: 2_500, small: 10 };
    const batcher = new Batcher({
      windowMs: 25,
      windowFor: (room) => adaptiveWindowMs(25, 100, 50_000, viewers[room] ?? 0),
      maxEvents: 1000,
      onFlush: (room, frame) => frames.push({ room, seqs: seqsOf(frame), at: performance.now() }),
    });
    let seq = 0;
    for (let t = 0; t < 400; t += 5) {
      seq++;
      batcher.add('big', event(seq));
      batcher.add('small', event(seq));
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(200);
    for (const [room, window] of [
      ['big', 50],
      ['small', 25],
    ] as const) {
      const mine = frames.filter((f) => f.room === room);
      expect(mine.flatMap((f) => f.seqs ?? [])).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      // The first frame leaves at once (leading edge), then one per window.
      expect(mine[0]!.at).toBe(0);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(window);
      expect(mine.length).toBeGreaterThanOrEqual(Math.floor(400 / window));
    }
  });
});
