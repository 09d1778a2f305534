/**
 * Token buckets for per-connection limits. The state is two numbers kept on
 * the connection; rate and burst come from configuration and are shared, so
 * a bucket costs no allocation per frame.
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

/**
 * Takes one token. Returns 0 when allowed, otherwise the milliseconds until a
 * token will be there (what `retry_after_ms` tells the client).
 */
export function take(bucket: BucketState, perSecond: number, burst: number, now: number): number {
  const elapsed = now - bucket.last;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000);
    bucket.last = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
}

function refill(bucket: BucketState, perSecond: number, burst: number, now: number): void {
  const elapsed = now - bucket.last;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000);
    bucket.last = now;
  }
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
