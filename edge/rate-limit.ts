/**
 * The one token bucket of the edge: per-connection frame and danmaku limits,
 * per-address budgets, the edge-wide replay budget, likes per connection and
 * the per-room chat allowance under overload all use these functions. The
 * state is two numbers kept by the owner (a plain object or a class with
 * `tokens` and `last`); rate and burst come from configuration and are
 * passed in, so a bucket costs no allocation per frame.
 *
 * A clock that goes back earns nothing and takes nothing away: only time
 * that moved forward refills.
 */

/** The mutable part of one bucket. */
export interface BucketState {
  tokens: number;
  last: number;
}

/** A full bucket at time `now`. */
export function fullBucket(burst: number, now: number): BucketState {
  return { tokens: burst, last: now };
}

/** Adds what the time since the last refill earned at `perSecond`, up to `burst`. */
export function refill(bucket: BucketState, perSecond: number, burst: number, now: number): void {
  const elapsed = now - bucket.last;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000);
    bucket.last = now;
  }
}

/**
 * Takes one token. Returns 0 when allowed, otherwise the milliseconds until a
 * token will be there (what `retry_after_ms` tells the client).
 */
export function take(bucket: BucketState, perSecond: number, burst: number, now: number): number {
  refill(bucket, perSecond, burst, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
}

/**
 * Takes as many whole tokens as the bucket holds, at most `amount`, and
 * returns how many it took: what a caller that can serve part of a request
 * uses (like taps over the limit are dropped, chat over the room's allowance
 * is sampled) instead of refusing all of it.
 */
export function takeUpTo(bucket: BucketState, perSecond: number, burst: number, now: number, amount: number): number {
  refill(bucket, perSecond, burst, now);
  const taken = Math.min(amount, Math.max(0, Math.floor(bucket.tokens)));
  bucket.tokens -= taken;
  return taken;
}

/** True when the bucket holds any tokens (it may have been charged into debt by `charge`). */
export function hasTokens(bucket: BucketState, perSecond: number, burst: number, now: number): boolean {
  refill(bucket, perSecond, burst, now);
  return bucket.tokens > 0;
}

/** Takes `amount` tokens after the fact (a cost known only once paid); the bucket may go into debt. */
export function charge(bucket: BucketState, perSecond: number, burst: number, now: number, amount: number): void {
  refill(bucket, perSecond, burst, now);
  bucket.tokens -= amount;
}
