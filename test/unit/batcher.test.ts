import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../edge/batcher.js';
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
