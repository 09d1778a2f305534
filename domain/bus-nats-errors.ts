/**
 * What a NATS, JetStream or KV failure means, told by the error's type and
 * code (the ones `@nats-io/jetstream` exports), never by its message text,
 * which the client and the server are free to reword. Each answer was
 * checked against a real nats-server: the contract suites under
 * `test/contract/` go through every branch that uses them.
 *
 * | failure                                     | what the client throws                                |
 * |---------------------------------------------|-------------------------------------------------------|
 * | stream info/update on a missing stream      | `JetStreamApiError`, code 10059 (`StreamNotFound`)    |
 * | consumer info on a missing consumer         | `JetStreamApiError`, code 10014 (`ConsumerNotFound`)  |
 * | KV create of an existing key, stale update  | `JetStreamApiError`, code 10071 (`StreamWrongLastSequence`) |
 * | direct get (batch) matching no message      | `JetStreamError` with status `code` 404               |
 */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from '@nats-io/jetstream';

/** True when the stream asked about does not exist (so it should be created). */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/** True when the consumer asked about does not exist (its stream does). */
export function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/**
 * True when a write that expected a revision found another: a KV `create`
 * of a key that exists, or an `update` after someone else wrote. The caller
 * lost a compare-and-set race and should read again.
 */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * True when a get found no message: a direct get (batch) answers with a 404
 * status (`JetStreamStatusError`, exported only as its base `JetStreamError`),
 * the stream API with code 10037. An empty room reads as no events, not as a
 * failure.
 */
export function isNoMessage(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === JetStreamApiCodes.NoMessageFound;
  return err instanceof JetStreamError && (err as JetStreamError & { code?: unknown }).code === 404;
}
