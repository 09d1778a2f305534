import { describe, expect, it } from 'vitest';
import { fullBucket, take } from '../../edge/rate-limit.js';

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
