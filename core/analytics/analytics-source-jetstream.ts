/**
 * The analytics source when clustered: a durable JetStream pull consumer on
 * the room stream, so stored events (chat, paid, control) reach ClickHouse
 * exactly as stored, survive a restart of the sink, and are acknowledged only
 * once the store accepted the batch holding them. Counters (online counts)
 * are not stored in the stream; they come from the room event subjects on
 * core NATS, best effort, as they do in one process.
 *
 * Backpressure: at most `maxAckPending` events are unacknowledged; past that
 * JetStream stops delivering until the sink acknowledges, so a ClickHouse
 * outage fills the stream's retention instead of this process's memory.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { v1 } from '../../proto/index.js';
import { EventClass, classOf, eventKindField, isCounterField } from '../../domain/event-kind.js';
import type { Delivery, EventSource, SourceDeliver } from './analytics-source.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { isConsumerNotFound } from '../../domain/bus-nats-errors.js';
import { logSubjects, subjects } from '../../domain/subjects.js';
import { backoffMs, sleep } from '../../domain/retry.js';

/**
 * True for a counter event. Every stored event also arrives here (the stream
 * republishes to the same subjects), so the kind is read from the bytes
 * rather than by decoding each one.
 */
export function isCounter(data: Uint8Array): boolean {
  const kind = eventKindField(data);
  if (kind >= 0) return isCounterField(kind);
  try {
    return classOf(v1.Event.decode(data)) === EventClass.Counter;
  } catch {
    return false;
  }
}

/** Options of a `JetStreamEventSource`. */
export interface JetStreamSourceOptions {
  stream?: string;
  /** Durable consumer name; one per analytics deployment (sinks sharing it split the work). */
  durable?: string;
  /** Unacknowledged events allowed before JetStream stops delivering. */
  maxAckPending?: number;
  /** How long an unacknowledged event waits before it is delivered again. */
  ackWaitMs?: number;
  /**
   * Queue group of the counters' core NATS subscription: set when several
   * processes share the durable and must share the counters too (webhooks,
   * where each like total is sent once); unset, every process sees every
   * counter (analytics, where a repeated counter row collapses).
   */
  countersQueue?: string;
  /**
   * Where a durable created now starts: `all` of the stream (analytics: the
   * retained history is worth storing) or `new` events only (webhooks: a
   * first start must not post a day of history to a receiver). Either way a
   * restart resumes where its acknowledgments stopped.
   */
  startAt?: 'all' | 'new';
  logger: Logger;
}

/**
 * Stored room events from a durable consumer, plus counters from core NATS.
 * Takes any `Bus` for the counters and a NATS connection for the consumer
 * (the wiring passes the one under its `NatsBus`).
 */
export class JetStreamEventSource implements EventSource {
  private messages: ConsumerMessages | undefined;
  private counters: Subscription | undefined;
  private deliver: SourceDeliver | undefined;
  private paused = false;
  private stopped = false;
  /** A `consume()` is between its first await and setting `messages`. */
  private starting = false;
  private readonly stream: string;
  private readonly durable: string;
  /** Events delivered from the stream and from core NATS; for tests and status. */
  readonly stats = { stored: 0, counters: 0, acked: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly nc: NatsConnection,
    private readonly options: JetStreamSourceOptions,
  ) {
    this.stream = options.stream ?? 'BARRAGE_ROOMS';
    this.durable = options.durable ?? 'barrage-analytics';
  }

  start(deliver: SourceDeliver): void {
    this.deliver = deliver;
    // Counters only: stored events on the same subjects come from the stream.
    this.counters = this.bus.subscribe(
      subjects.events('*'),
      (data) => {
        if (!isCounter(data)) return;
        this.stats.counters++;
        deliver(data, undefined);
      },
      this.options.countersQueue !== undefined ? { queue: this.options.countersQueue } : undefined,
    );
    void this.consumeLoop();
  }

  /** Creates the durable consumer (retrying while the stream does not exist yet) and consumes. */
  private async consumeLoop(): Promise<void> {
    const log = this.options.logger;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const jsm = await jetstreamManager(this.nc, { timeout: 5_000 });
        const config = {
          durable_name: this.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: this.options.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
          filter_subject: logSubjects.all,
          max_ack_pending: this.options.maxAckPending ?? 100_000,
          ack_wait: nanos(this.options.ackWaitMs ?? 300_000),
        };
        try {
          await jsm.consumers.info(this.stream, this.durable);
          await jsm.consumers.update(this.stream, this.durable, config);
        } catch (err) {
          // A missing stream is thrown too: the loop waits for core to create it.
          if (!isConsumerNotFound(err)) throw err;
          await jsm.consumers.add(this.stream, config);
        }
        if (!this.paused) await this.consume();
        return;
      } catch (err) {
        if (attempt % 10 === 0) log.warn({ err, durable: this.durable }, 'durable consumer not ready; retrying');
        await sleep(backoffMs(attempt, 200, 5_000));
      }
    }
  }

  /** Starts the pull loop unless one runs; a pause or stop that came while it was starting wins. */
  private async consume(): Promise<void> {
    if (this.stopped || this.paused || this.messages || this.starting) return;
    this.starting = true;
    try {
      const consumer = await jetstream(this.nc).consumers.get(this.stream, this.durable);
      const messages = await consumer.consume({
        max_messages: 2_000,
        callback: (m: JsMsg) => {
          this.stats.stored++;
          this.deliver?.(m.data, m);
        },
      });
      if (this.stopped || this.paused) messages.stop();
      else this.messages = messages;
    } finally {
      this.starting = false;
    }
  }

  ack(handles: readonly unknown[]): void {
    for (const h of handles) {
      if (h === undefined) continue;
      (h as JsMsg).ack();
      this.stats.acked++;
    }
  }

  release(handles: readonly unknown[]): void {
    for (const h of handles) if (h !== undefined) (h as JsMsg).nak();
  }

  deliveryOf(handle: unknown): Delivery {
    const m = handle as JsMsg;
    return { id: m.seq, redelivered: m.redelivered };
  }

  pause(): void {
    this.paused = true;
    this.messages?.stop();
    this.messages = undefined;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.consume().catch((err: unknown) => this.options.logger.error({ err }, 'analytics consumer failed to resume'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.counters?.unsubscribe();
    this.messages?.stop();
    this.messages = undefined;
  }
}
