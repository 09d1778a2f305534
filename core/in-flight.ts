/**
 * One attempt per idempotency key at a time, in one core: a concurrent retry
 * of the same key waits for the attempt under way and gets its reply marked
 * as a duplicate (never a second attempt racing the first to the ledger).
 * Shared by gifts (core/gifts/gifts.ts) and the site API's messages
 * (core/messages/message-service.ts).
 */
import { ErrorCode, v1 } from '../proto/index.js';

/** Runs `attempt` for `key` unless one is under way; `onDuplicate` counts a caller that got another's answer. */
export async function onceInFlight(
  inflight: Map<string, Promise<v1.PaidReply>>,
  key: string,
  attempt: () => Promise<v1.PaidReply>,
  onDuplicate: () => void,
): Promise<v1.PaidReply> {
  const running = inflight.get(key);
  if (running) {
    const first = await running;
    if (first.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return first;
    onDuplicate();
    return new v1.PaidReply({ ...first, duplicate: true, conflict: false });
  }
  const started = attempt();
  inflight.set(key, started);
  try {
    return await started;
  } finally {
    inflight.delete(key);
  }
}
