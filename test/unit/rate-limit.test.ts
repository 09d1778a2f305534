import { describe, expect, it } from 'vitest';
import { ChatAllowance, planWindow } from '../../edge/overload.js';
import { charge, fullBucket, take, takeUpTo } from '../../edge/rate-limit.js';
import { v1 } from '../../proto/index.js';

describe('rate limit - token bucket', () => {
  it('rate limit - allows the burst, then refuses with the wait until the next token', () => {
    const b = fullBucket(3, 0);
    expect([take(b, 2, 3, 0), take(b, 2, 3, 0), take(b, 2, 3, 0)]).toEqual([0, 0, 0]);
    expect(take(b, 2, 3, 0)).toBe(500);
    expect(take(b, 2, 3, 250)).toBe(250);
  });

  it('rate limit - refills at the configured rate and never above the burst', () => {
    const b = fullBucket(2, 0);
    take(b, 10, 2, 0);
    take(b, 10, 2, 0);
    expect(take(b, 10, 2, 100)).toBe(0); // one token after 100 ms at 10/s
    expect(take(b, 10, 2, 100)).toBeGreaterThan(0);
    take(b, 10, 2, 60_000);
    expect(b.tokens).toBeLessThanOrEqual(2);
  });

  it('rate limit - a steady sender at the rate is never refused', () => {
    const b = fullBucket(1, 0);
    let refused = 0;
    for (let t = 0; t < 10_000; t += 200) if (take(b, 5, 1, t) > 0) refused++;
    expect(refused).toBe(0);
  });
});

describe('rate limit - taking part of a request', () => {
  it('rate limit - takeUpTo takes whole tokens up to what was asked, and nothing from an empty or indebted bucket', () => {
    const b = fullBucket(5, 0);
    expect(takeUpTo(b, 10, 5, 0, 3)).toBe(3);
    expect(takeUpTo(b, 10, 5, 0, 3)).toBe(2);
    expect(takeUpTo(b, 10, 5, 0, 3)).toBe(0);
    expect(takeUpTo(b, 10, 5, 250, 9)).toBe(2); // 2.5 tokens earned, whole ones taken
    expect(b.tokens).toBeCloseTo(0.5);
    charge(b, 10, 5, 250, 4);
    expect(takeUpTo(b, 10, 5, 300, 1)).toBe(0);
    expect(b.tokens).toBeCloseTo(-3);
  });

  it('rate limit - a clock that goes back neither refills nor drains a bucket', () => {
    const b = fullBucket(4, 1_000);
    expect(takeUpTo(b, 2, 4, 1_000, 2)).toBe(2);
    expect(take(b, 2, 4, 0)).toBe(0);
    expect(b).toEqual({ tokens: 1, last: 1_000 });
  });
});

describe('rate limit - the room chat allowance is the same bucket', () => {
  const chat = (seq: number) => v1.Event.encode({ seq, room: 'r', danmaku: { text: `m${seq}` } }).finish();
  const options = { budget: 40, buckets: 2, merge: false, mergeMaxLength: 8 };

  it('rate limit - a window after the clock went back is sent whole when the allowance holds it', () => {
    const allowance = new ChatAllowance(20, 10_000);
    const plan = planWindow(
      Array.from({ length: 20 }, (_, i) => chat(i + 1)),
      allowance,
      9_000,
      options,
    );
    expect(plan.kind).toBe('all');
    expect(allowance.tokens).toBe(0);
  });

  it('rate limit - a window over the allowance keeps the whole tokens it holds and refills at the budget', () => {
    const allowance = new ChatAllowance(20, 0);
    const first = planWindow(
      Array.from({ length: 30 }, (_, i) => chat(i + 1)),
      allowance,
      0,
      options,
    );
    expect(first.kind === 'sampled' && first.groups.map((g) => g.skipped)).toEqual([10, 10]);
    // 100 ms at 40/s earns 4 tokens.
    const second = planWindow(
      Array.from({ length: 6 }, (_, i) => chat(i + 31)),
      allowance,
      100,
      options,
    );
    expect(second.kind === 'sampled' && second.groups.map((g) => g.items.length)).toEqual([4, 4]);
  });
});
