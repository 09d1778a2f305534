/**
 * How the analytics sink tries an insert while the store may be away: the
 * schema is checked before the first insert and again after every failure
 * (a server that came back empty is migrated anew), failures are counted and
 * logged without flooding the log, and the next attempt waits a backoff
 * doubling from `minMs` to `maxMs`, with jitter so that several cores do not
 * retry in step.
 */
import type { Logger } from 'pino';
import { backoffMs, sleep } from '../../domain/retry.js';

/** Timings and hooks of `InsertRetry`. */
export interface RetryOptions {
  minMs: number;
  maxMs: number;
  /** Called before the first attempt and before the first one after a failure; awaited. */
  prepare?: (afterFailure: boolean) => Promise<void>;
  logger?: Logger;
}

/** Attempts and backoff of the sink's inserts, one batch at a time. */
export class InsertRetry {
  /** Failed attempts since start. */
  failures = 0;
  private prepared = false;
  /** Failures since the last success: the backoff's exponent. */
  private streak = 0;

  constructor(private readonly options: RetryOptions) {}

  /**
   * Runs `insert` once, after `prepare` when it is due. Resolves with what
   * `insert` returned, or `undefined` when it (or `prepare`) failed: the
   * failure is counted and logged, and `pause` gives the wait before the next try.
   */
  async attempt<T>(batch: string, insert: () => Promise<T>): Promise<T | undefined> {
    try {
      if (!this.prepared && this.options.prepare) await this.options.prepare(this.failures > 0);
      this.prepared = true;
      const result = await insert();
      this.streak = 0;
      return result;
    } catch (err) {
      this.failures++;
      this.prepared = false;
      if (this.failures === 1 || this.failures % 20 === 0) {
        this.options.logger?.warn({ err, batch, failures: this.failures }, 'analytics insert failed; retrying');
      }
      return undefined;
    }
  }

  /** Waits before the next attempt after a failure: the backoff, plus up to a fifth of it at random. */
  pause(): Promise<void> {
    const delay = backoffMs(this.streak++, this.options.minMs, this.options.maxMs);
    return sleep(delay + Math.random() * delay * 0.2);
  }

  /** Starts the backoff from `minMs` again (a new round of writing). */
  reset(): void {
    this.streak = 0;
  }
}
