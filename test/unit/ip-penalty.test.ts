import { describe, expect, it } from 'vitest';
import { IpBudgets } from '../../edge/ip-budget.js';
import { IpPenalties } from '../../edge/ip-penalty.js';
import type { PenaltyLimits } from '../../edge/ip-penalty.js';

const limits: PenaltyLimits = { strikes: 3, penaltyMs: 10_000, maxPenaltyMs: 35_000, decayMs: 60_000, maxEntries: 100 };

/** Strikes `key` `n` times at `now`; returns the last answer (the window started, or 0). */
function strikeTimes(p: IpPenalties, key: string, n: number, now: number): number {
  let last = 0;
  for (let i = 0; i < n; i++) last = p.strike(key, now);
  return last;
}

describe('ip penalty - abuse strikes and penalty windows per address', () => {
  it('ip penalty - under the strike limit nothing is refused; at it the address is refused for the first window, then admitted', () => {
    const p = new IpPenalties(limits, () => 0);
    expect(strikeTimes(p, 'a', 2, 0)).toBe(0);
    expect(p.remaining('a', 0)).toBe(0);
    expect(p.strike('a', 0)).toBe(10_000);
    expect(p.remaining('a', 0)).toBe(10_000);
    expect(p.remaining('a', 9_999)).toBe(1);
    expect(p.remaining('a', 10_000)).toBe(0);
    expect(p.remaining('b', 0)).toBe(0);
    expect(p.penalized(5_000)).toBe(1);
    expect(p.penalized(10_000)).toBe(0);
    expect([p.struck, p.penalties]).toEqual([3, 1]);
  });

  it('ip penalty - each further penalty doubles the window, up to the cap', () => {
    const p = new IpPenalties(limits, () => 0);
    let now = 0;
    const windows: number[] = [];
    for (let i = 0; i < 4; i++) {
      windows.push(strikeTimes(p, 'a', 3, now));
      now += windows[i] as number; // struck again the moment the window ends
    }
    expect(windows).toEqual([10_000, 20_000, 35_000, 35_000]);
  });

  it('ip penalty - quiet time forgives one strike and one doubling per decay period, and a forgiven address is dropped', () => {
    const p = new IpPenalties(limits, () => 0);
    strikeTimes(p, 'a', 3, 0); // window 10 s, level 1
    strikeTimes(p, 'a', 3, 10_000); // window 20 s (ends at 30 s), level 2
    // One decay period after the window ended: one doubling forgiven, so the next window is 20 s again, not 35 s.
    expect(strikeTimes(p, 'a', 3, 30_000 + 60_000)).toBe(20_000);
    // Two strikes, then quiet for a decay period: one of them forgiven, so two more are needed (not one).
    strikeTimes(p, 'b', 2, 0);
    expect(p.strike('b', 60_000)).toBe(0);
    expect(p.strike('b', 60_000)).toBe(10_000);
    // Long quiet forgets both addresses entirely.
    p.sweep(10 * 60_000);
    expect(p.size).toBe(0);
    expect(strikeTimes(p, 'a', 3, 10 * 60_000)).toBe(10_000);
  });

  it('ip penalty - strikes within a window still count, and the window is never shortened', () => {
    const p = new IpPenalties(limits, () => 0);
    strikeTimes(p, 'a', 3, 0); // until 10 s
    expect(strikeTimes(p, 'a', 3, 1_000)).toBe(20_000); // sockets already open keep misbehaving: until 21 s
    expect(p.remaining('a', 1_000)).toBe(20_000);
  });

  it('ip penalty - the table is bounded: past maxEntries the least recently struck address is forgotten', () => {
    const p = new IpPenalties({ ...limits, maxEntries: 3 }, () => 0);
    for (const key of ['a', 'b', 'c']) strikeTimes(p, key, 3, 0);
    p.strike('a', 1); // 'a' struck again: now the most recent
    strikeTimes(p, 'd', 3, 2); // evicts 'b'
    expect(p.size).toBe(3);
    expect(p.remaining('b', 3)).toBe(0);
    expect(p.remaining('a', 3)).toBeGreaterThan(0);
    expect(p.remaining('c', 3)).toBeGreaterThan(0);
    expect(p.remaining('d', 3)).toBeGreaterThan(0);
    for (let i = 0; i < 10_000; i++) p.strike(`x${i}`, 4);
    expect(p.size).toBe(3);
  });

  it('ip penalty - 0 strikes turns it off', () => {
    const p = new IpPenalties({ ...limits, strikes: 0 }, () => 0);
    expect(strikeTimes(p, 'a', 100, 0)).toBe(0);
    expect(p.remaining('a', 0)).toBe(0);
    expect(p.size).toBe(0);
  });

  it('ip penalty - the per-address budgets strike real addresses, never the shared overflow budget', () => {
    const now = 0;
    const budgets = new IpBudgets(
      {
        upgradesPerSecond: 1,
        upgradesBurst: 1,
        costlyPerSecond: 1,
        costlyBurst: 1,
        framesPerSecond: 1,
        framesBurst: 1,
        maxConnections: 0,
        trustProxy: true,
        penalty: { ...limits, strikes: 1 },
      },
      1,
      () => now,
    );
    const a = budgets.get('a');
    const overflow = budgets.get('b');
    expect(overflow.key).toBe('overflow');
    expect(budgets.strike(overflow, now)).toBe(0);
    expect(budgets.penalty(overflow, now)).toBe(0);
    expect(budgets.strike(a, now)).toBe(10_000);
    expect(budgets.penalty(a, now)).toBe(10_000);
    // The budget entry may be swept once refilled; the penalty outlives it.
    budgets.sweep(5_000);
    expect(budgets.penalty(budgets.get('a'), 5_000)).toBe(5_000);
  });
});
