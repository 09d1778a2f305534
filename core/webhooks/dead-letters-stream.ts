/**
 * Dead letters of a cluster: a JetStream stream (`BARRAGE_WEBHOOK_DEAD`,
 * one subject) every core writes to and reads from, so a letter one core
 * gave up on can be listed and replayed through any edge and any core. The
 * stream keeps at most `max` letters and drops the oldest itself
 * (`discard: old`); a letter's id is its stream sequence. Reads are direct
 * gets (`allow_direct`), answered by any replica.
 */
import { DiscardPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isNoMessage, isStreamNotFound } from '../../domain/bus-nats-errors.js';
import type { DeadLetter, DeadLetterStore, DeadLetterSummary, NewDeadLetter } from './dead-letters.js';
import { parseDeadLetter, summaryOf } from './dead-letters.js';

const decoder = new TextDecoder();
const idPattern = /^[1-9][0-9]{0,15}$/;

/** Dead letters in a JetStream stream, at most `max`. */
export class StreamDeadLetters implements DeadLetterStore {
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly stream: string;
  private readonly subject: string;
  /** Sequences removed from the stream by its limit are not seen here; the count is what this process dropped knowingly. */
  dropped = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { max: number; replicas: number; stream?: string; subject?: string },
  ) {
    this.stream = options.stream ?? 'BARRAGE_WEBHOOK_DEAD';
    this.subject = options.subject ?? 'barrage.webhooks.dead';
  }

  /** Creates or updates the stream on first use (again after a failure). */
  private manager(): Promise<JetStreamManager> {
    this.jsm ??= (async () => {
      const jsm = await jetstreamManager(this.nc, { timeout: 5_000 });
      const config = {
        name: this.stream,
        subjects: [this.subject],
        storage: StorageType.File,
        num_replicas: this.options.replicas,
        max_msgs: this.options.max,
        discard: DiscardPolicy.Old,
        allow_direct: true,
      };
      try {
        await jsm.streams.info(this.stream);
        await jsm.streams.update(this.stream, config);
      } catch (err) {
        if (!isStreamNotFound(err)) throw err;
        await jsm.streams.add(config);
      }
      return jsm;
    })().catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    return this.jsm;
  }

  async add(letter: NewDeadLetter): Promise<string> {
    const before = await this.count();
    await this.manager();
    const ack = await jetstream(this.nc, { timeout: 5_000 }).publish(this.subject, JSON.stringify(letter));
    if (before >= this.options.max) this.dropped++;
    return String(ack.seq);
  }

  async list(options: { limit: number; after?: string }): Promise<DeadLetterSummary[]> {
    const jsm = await this.manager();
    let seq = options.after !== undefined && idPattern.test(options.after) ? Number(options.after) + 1 : 1;
    const out: DeadLetterSummary[] = [];
    while (out.length < options.limit) {
      let m;
      try {
        m = await jsm.direct.getMessage(this.stream, { seq, next_by_subj: this.subject });
      } catch (err) {
        if (isNoMessage(err)) break;
        throw err;
      }
      if (!m) break;
      const letter = parseDeadLetter(String(m.seq), decoder.decode(m.data));
      if (letter) out.push(summaryOf(letter));
      seq = m.seq + 1;
    }
    return out;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!idPattern.test(id)) return undefined;
    const jsm = await this.manager();
    try {
      const m = await jsm.direct.getMessage(this.stream, { seq: Number(id) });
      return m ? parseDeadLetter(id, decoder.decode(m.data)) : undefined;
    } catch (err) {
      if (isNoMessage(err)) return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<boolean> {
    // Told by the stream's state, not the error: deleting a deleted sequence fails with a code of its own.
    if (!(await this.get(id))) return false;
    const jsm = await this.manager();
    try {
      return await jsm.streams.deleteMessage(this.stream, Number(id), false);
    } catch (err) {
      if ((await this.get(id)) === undefined) return false;
      throw err;
    }
  }

  async count(): Promise<number> {
    const jsm = await this.manager();
    return (await jsm.streams.info(this.stream)).state.messages;
  }

  async close(): Promise<void> {
    // The connection belongs to the bus.
  }
}
