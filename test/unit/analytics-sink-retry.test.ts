/**
 * The sink's insert retry on its own: the schema check before the first
 * attempt and after each failure, failures counted, and a backoff that
 * doubles up to its ceiling and starts over after a success.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InsertRetry } from '../../core/analytics/sink-retry.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Resolves to how long `pause` took, in fake milliseconds, stepping 1 ms at a time. */
async function pauseMs(retry: InsertRetry): Promise<number> {
  let done = false;
  void retry.pause().then(() => (done = true));
  let ms = 0;
  while (!done) {
    await vi.advanceTimersByTimeAsync(1);
    ms++;
  }
  return ms;
}

describe('analytics sink retry', () => {
  it('retry - the schema is checked before the first insert and again after each failure, not otherwise', async () => {
    const prepared: boolean[] = [];
    const retry = new InsertRetry({ minMs: 1, maxMs: 1, prepare: async (afterFailure) => void prepared.push(afterFailure) });
    expect(await retry.attempt('b1', async () => 'ok')).toBe('ok');
    expect(await retry.attempt('b2', async () => 'ok')).toBe('ok');
    expect(
      await retry.attempt('b3', async () => {
        throw new Error('store down');
      }),
    ).toBeUndefined();
    expect(await retry.attempt('b3', async () => 'ok')).toBe('ok');
    expect(prepared).toEqual([false, true]);
    expect(retry.failures).toBe(1);
  });

  it('retry - a failing schema check counts as a failed attempt and the insert is not tried', async () => {
    let inserts = 0;
    const retry = new InsertRetry({
      minMs: 1,
      maxMs: 1,
      prepare: async () => {
        throw new Error('migration failed');
      },
    });
    expect(await retry.attempt('b1', async () => inserts++)).toBeUndefined();
    expect(inserts).toBe(0);
    expect(retry.failures).toBe(1);
  });

  it('retry - the wait doubles from its minimum to its ceiling, with at most a fifth more, and starts over after a success', async () => {
    vi.useFakeTimers();
    const retry = new InsertRetry({ minMs: 10, maxMs: 40 });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push(await pauseMs(retry));
    const expected = [10, 20, 40, 40];
    waits.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(expected[i] as number);
      expect(ms).toBeLessThanOrEqual((expected[i] as number) * 1.2 + 1);
    });
    await retry.attempt('b', async () => 'ok');
    const after = await pauseMs(retry);
    expect(after).toBeGreaterThanOrEqual(10);
    expect(after).toBeLessThanOrEqual(13);
  });
});
