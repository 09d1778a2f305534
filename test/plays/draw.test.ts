/**
 * Red packet shares: drawn once at creation, they sum to the total exactly,
 * every share is at least the minimum, and a random share is never more than
 * the minimum plus twice the mean of what was left to give.
 */
import { describe, expect, it } from 'vitest';
import { SplitMode, drawShares, maxRedPacketCount, splitProblem } from '../../core/plays/red-packet-draw.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('red packet draw', () => {
  it('draw - random shares sum to the total, each ≥ min and within twice the mean of what was left', () => {
    const cases: Array<[number, number, number]> = [
      [100, 1, 1],
      [100, 100, 1],
      [10_000, 7, 1],
      [1_000_000, 1_000, 5],
      [123_457, 10_000, 10],
      [maxRedPacketCount * 3, maxRedPacketCount, 3], // every share exactly 3
    ];
    for (const [total, count, min] of cases) {
      for (let run = 0; run < (count >= 1_000 ? 1 : 5); run++) {
        const shares = drawShares(total, count, min, SplitMode.Random);
        expect(shares).toHaveLength(count);
        expect(sum(shares)).toBe(total);
        let rest = total;
        for (const [i, share] of shares.entries()) {
          expect(Number.isInteger(share)).toBe(true);
          expect(share).toBeGreaterThanOrEqual(min);
          const left = count - i;
          if (left > 1) expect(share - min).toBeLessThanOrEqual((2 * (rest - left * min)) / left);
          rest -= share;
        }
      }
    }
  });

  it('draw - the random draw uses its whole range (a fixed source gives the bounds)', () => {
    // Always the largest extra: each share is min + floor(2 * spare / left).
    const high = drawShares(1_000, 4, 1, SplitMode.Random, (max) => max - 1);
    expect(sum(high)).toBe(1_000);
    expect(high[0]).toBe(1 + Math.floor((2 * 996) / 4));
    // Always zero extra: every share but the last is the minimum.
    expect(drawShares(1_000, 4, 10, SplitMode.Random, () => 0)).toEqual([10, 10, 10, 970]);
  });

  it('draw - equal shares differ by at most a cent and sum to the total', () => {
    expect(drawShares(100, 3, 1, SplitMode.Equal)).toEqual([34, 33, 33]);
    expect(drawShares(9, 9, 1, SplitMode.Equal)).toEqual(Array(9).fill(1));
    const shares = drawShares(999_999, 10_000, 1, SplitMode.Equal);
    expect(sum(shares)).toBe(999_999);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
  });

  it('draw - out-of-range totals, counts and minimums are refused with a reason', () => {
    expect(splitProblem(100, 0, 1)).toMatch(/count/);
    expect(splitProblem(100, -1, 1)).toMatch(/count/);
    expect(splitProblem(100_000, 10_001, 1)).toMatch(/count/);
    expect(splitProblem(100, 1.5, 1)).toMatch(/count/);
    expect(splitProblem(0, 1, 1)).toMatch(/total_cents/);
    expect(splitProblem(-5, 1, 1)).toMatch(/total_cents/);
    expect(splitProblem(2 ** 53, 1, 1)).toMatch(/total_cents/);
    expect(splitProblem(10, 11, 1)).toMatch(/less than count/);
    expect(splitProblem(100, 10, 11)).toMatch(/less than count/);
    expect(splitProblem(100, 10, 0)).toMatch(/min_cents/);
    expect(splitProblem(100, 10, 1)).toBeUndefined();
    expect(() => drawShares(10, 11, 1, SplitMode.Random)).toThrow(RangeError);
  });
});
