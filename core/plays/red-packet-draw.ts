/**
 * How a red packet's total is split into shares, once, when it is created:
 * each grab then takes the next share of a stored list, so a grab is a pop
 * and never a computation that two edges or a restarted core could disagree
 * on.
 *
 * Random mode (拼手气) is the usual "double the mean" draw: with `left` shares
 * still to draw and `rest` cents still to give, each of them gets `min` and
 * the next share gets a uniformly random extra of 0 to `2 × spare / left`
 * (spare = rest − left × min), so no share exceeds `min` plus twice the mean
 * spare of what is left; the last share takes what remains. Equal mode gives
 * `floor(total / count)` each, the first `total % count` shares one cent more.
 * Both sum to exactly `total` with every share ≥ `min`.
 */
import { randomInt } from 'node:crypto';

/** Most shares one red packet may have. */
export const maxRedPacketCount = 10_000;
/** Largest total of one red packet (10 million in cents). */
export const maxRedPacketTotalCents = 1_000_000_000;

/** How a total is split. */
export const SplitMode = { Random: 'random', Equal: 'equal' } as const;
export type SplitMode = (typeof SplitMode)[keyof typeof SplitMode];

/** A uniform integer in [0, maxExclusive). */
export type RandomInt = (maxExclusive: number) => number;

const cryptoInt: RandomInt = (max) => (max <= 1 ? 0 : randomInt(max));

/**
 * Why `total`, `count` and `min` cannot be split, or undefined when they can:
 * whole numbers, 1 ≤ count ≤ 10,000, min ≥ 1, count × min ≤ total ≤ 10^9.
 */
export function splitProblem(total: number, count: number, min: number): string | undefined {
  if (!Number.isSafeInteger(count) || count < 1 || count > maxRedPacketCount) return `count must be 1 to ${maxRedPacketCount}`;
  if (!Number.isSafeInteger(min) || min < 1) return 'min_cents must be a whole number ≥ 1';
  if (!Number.isSafeInteger(total) || total < 1 || total > maxRedPacketTotalCents) {
    return `total_cents must be a whole number from 1 to ${maxRedPacketTotalCents}`;
  }
  if (count * min > total) return `total_cents (${total}) is less than count × min_cents (${count * min})`;
  return undefined;
}

/** Splits `total` cents into `count` shares, in the order they will be grabbed. Throws on what `splitProblem` refuses. */
export function drawShares(total: number, count: number, min: number, mode: SplitMode, random: RandomInt = cryptoInt): number[] {
  const problem = splitProblem(total, count, min);
  if (problem) throw new RangeError(problem);
  const shares = new Array<number>(count);
  if (mode === SplitMode.Equal) {
    const each = Math.floor(total / count);
    const extra = total % count;
    for (let i = 0; i < count; i++) shares[i] = each + (i < extra ? 1 : 0);
    return shares;
  }
  let spare = total - count * min;
  for (let i = 0; i < count - 1; i++) {
    const left = count - i;
    const bound = Math.floor((2 * spare) / left);
    const extra = Math.min(spare, random(bound + 1));
    shares[i] = min + extra;
    spare -= extra;
  }
  shares[count - 1] = min + spare;
  return shares;
}
