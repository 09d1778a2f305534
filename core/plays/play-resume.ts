/**
 * What polls and lotteries share to survive a core restart: reading their
 * stored plays at start (retried until the store answers), and the writes
 * of entries in flight, which an end waits for so its result holds every
 * entry that was answered "done".
 */
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import { backoffMs } from '../../domain/retry.js';
import type { PlayStateKind, PlayStateStore } from './play-state-store.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** Runs `load` until it succeeds or `stopped()` says to give up; resolves either way. */
export async function resumeWithRetry(load: () => Promise<void>, stopped: () => boolean, logger: Logger, what: string): Promise<void> {
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      await load();
      return;
    } catch (err) {
      if (attempt === 0) logger.warn({ err: (err as Error).message }, `reading open ${what} failed; retrying`);
      await sleep(backoffMs(attempt, 200, 5_000));
    }
  }
}

/** Entry writes of one play not yet answered by the store. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  /** Tracks `write` until it settles; answers it. */
  track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    const done = (): void => void this.pending.delete(write);
    write.then(done, done);
    return write;
  }

  /** Resolves once every write tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/** Protobuf bytes as kept in a JSON record. */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
/** The bytes of `toBase64`. */
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * Stores a new poll's or lottery's record once: answers the stored record
 * (this one, or the one an earlier request with the same id stored), or the
 * reply refusing the request (store down, or the id taken by another request).
 */
export async function storeRecord<R extends { fingerprint: string }>(
  store: PlayStateStore,
  kind: PlayStateKind,
  room: string,
  id: string,
  record: R,
  logger: Logger,
): Promise<{ created: boolean; record: R } | v1.PlayReply> {
  let stored: { created: boolean; record: R };
  try {
    stored = await store.create(kind, room, id, record);
  } catch (err) {
    logger.warn({ err: (err as Error).message, room }, `${kind} store unavailable`);
    return new v1.PlayReply({ error: ErrorCode.ERROR_CODE_UNAVAILABLE, message: `${kind} store unavailable; retry` });
  }
  if (!stored.created && stored.record.fingerprint !== record.fingerprint) {
    return new v1.PlayReply({ conflict: true, message: `this Idempotency-Key opened a different ${kind}` });
  }
  return stored;
}

/** Replaces a play's record; a failure is logged (the play goes on in memory). */
export async function saveRecord(
  store: PlayStateStore,
  kind: PlayStateKind,
  room: string,
  id: string,
  record: unknown,
  logger: Logger,
): Promise<void> {
  try {
    await store.update(kind, room, id, record);
  } catch (err) {
    logger.warn({ err: (err as Error).message, room }, `${kind} not saved`);
  }
}

/**
 * Reads the stored plays of `kind` with their entries and hands each one not
 * held yet to `adopt`: open ones, and ended ones still readable (ended less
 * than `keepEndedMs` ago).
 */
export async function readStored<R extends { ended: boolean; endsAtMs: number }, E>(
  store: PlayStateStore,
  kind: PlayStateKind,
  keepEndedMs: number,
  nowMs: number,
  held: (room: string, id: string) => boolean,
  adopt: (room: string, id: string, record: R, entries: Map<string, E>) => void,
): Promise<void> {
  for (const { room, id, record } of await store.list<R>(kind)) {
    if (held(room, id) || (record.ended && record.endsAtMs + keepEndedMs < nowMs)) continue;
    const entries = await store.entries<E>(kind, room, id);
    if (!held(room, id)) adopt(room, id, record, entries);
  }
}
