/**
 * Waiting between attempts, one way everywhere: core's stream and consumer
 * set-up, the gift ledger, the analytics sink (the bus's reconnect delay adds
 * jitter of its own, in bus-nats.ts).
 */

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff: `baseMs` doubling per attempt (from 0), never above `maxMs`. */
export const backoffMs = (attempt: number, baseMs: number, maxMs: number): number => Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
