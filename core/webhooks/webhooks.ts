/**
 * Outbound webhooks put together: events from a source, one
 * `WebhookEndpoint` per receiver URL, dead letters, and the requests the
 * dead-letter API sends over the bus.
 *
 * Where events come from (the same `EventSource` interface the analytics
 * sink reads, core/analytics/analytics-source.ts):
 * - clustered, a durable JetStream consumer on the room stream shared by
 *   every core (`barrage-webhooks`): each stored event goes to one core, is
 *   acknowledged only once every receiver took it (or it became a dead
 *   letter), and comes again after a crash. At most `maxBufferEvents` are
 *   unacknowledged (the consumer's `max_ack_pending`), so a dead receiver
 *   fills the stream's retention, not this process's memory;
 * - in one process, the bus; past `maxBufferEvents` events in memory, new
 *   events go to an on-disk spill in order (`webhook-spill.ts`) and come
 *   back as the queue drains (also after a restart).
 *
 * Counters (like totals) come from core NATS in both cases, best effort, as
 * in analytics; clustered they are taken by one core (a queue group). Held
 * danmaku come from the rooms' held subjects the same way.
 *
 * Fan-out never waits for any of this: the source is a separate
 * subscription or consumer, and a slow receiver only fills this queue.
 */
import type { Logger } from 'pino';
import type { Bus, Subscription } from '../../domain/bus.js';
import type { WebhookConfig } from '../../domain/config.js';
import { subjects } from '../../domain/subjects.js';
import type { EventSource } from '../analytics/analytics-source.js';
import type { DeadLetterStore } from './dead-letters.js';
import { summaryOf } from './dead-letters.js';
import { WebhookEndpoint } from './webhook-endpoint.js';
import type { Queued } from './webhook-endpoint.js';
import { itemOfEvent, itemOfHeld, itemOfPresence } from './webhook-event.js';
import type { WebhookItem } from './webhook-event.js';
import { WebhookSpill } from './webhook-spill.js';

/** The bus subject core answers dead-letter requests on (JSON in, JSON out). */
export const webhookAdminSubject = 'barrage.webhooks.admin';
/** Queue group of the cores' side subscriptions (held danmaku), so one core takes each. */
export const webhookQueue = 'barrage-webhooks';

/** Counters and gauges of the webhooks, for metrics and tests. */
export interface WebhookStats {
  received: number;
  delivered: number;
  failed: number;
  retried: number;
  deadEvents: number;
  deadLetters: number;
  queued: number;
  lagSeconds: number;
  spilled: number;
  spillBytes: number;
  dropped: number;
  paused: boolean;
}

/** Stats of webhooks that are off (what metrics show, for a dashboard that is always the same). */
export const emptyWebhookStats = (): WebhookStats => ({
  received: 0,
  delivered: 0,
  failed: 0,
  retried: 0,
  deadEvents: 0,
  deadLetters: 0,
  queued: 0,
  lagSeconds: 0,
  spilled: 0,
  spillBytes: 0,
  dropped: 0,
  paused: false,
});

/** An admin request over the bus, from `core/http/webhooks-api.ts`. */
export type WebhookAdminRequest = { op: 'list'; limit: number; after?: string } | { op: 'replay'; id: string };

/** Its answer. */
export type WebhookAdminReply =
  | { ok: true; letters?: unknown[]; replaying?: string }
  | { ok: false; code: 'NOT_FOUND' | 'GONE' | 'BUSY' | 'BAD_REQUEST' | 'INTERNAL'; message: string };

/** An event held by the endpoints, with what acknowledges it. */
interface Entry extends Queued {
  handle: unknown;
  /** Endpoints that have not settled it yet. */
  remaining: number;
  /** The durable source's delivery id, or undefined. */
  deliveryId: number | undefined;
}

/** What `Webhooks` runs on. */
export interface WebhookDeps {
  source: EventSource;
  bus: Bus;
  dead: DeadLetterStore;
  logger: Logger;
  now?: () => number;
}

/** Webhook delivery in this process. */
export class Webhooks {
  private readonly endpoints: WebhookEndpoint[];
  private readonly spill: WebhookSpill | undefined;
  /** Events held now by delivery id (a redelivery of one of them is left out: the first ack covers it). */
  private readonly held = new Map<number, Entry>();
  private readonly subs: Subscription[] = [];
  private readonly replaying = new Set<string>();
  private buffered = 0;
  /** Events received and not yet looked at: the source's callback only appends here (see `onEvent`). */
  private inbox: Array<[Uint8Array, unknown]> = [];
  private inboxScheduled = false;
  private paused = false;
  private stopped = false;
  private received = 0;
  private deadLetters = 0;
  private readonly now: () => number;

  constructor(
    private readonly config: WebhookConfig,
    private readonly deps: WebhookDeps,
  ) {
    this.now = deps.now ?? Date.now;
    const log = deps.logger;
    this.endpoints = config.urls.map(
      (url) =>
        new WebhookEndpoint({
          ...config,
          url,
          logger: log,
          now: this.now,
          settled: (items) => this.settled(items as Entry[]),
          dead: async (letter) => {
            await deps.dead.add(letter);
            this.deadLetters++;
          },
        }),
    );
    // A source that can be paused keeps its own backlog; one that cannot spills here.
    this.spill = deps.source.pause ? undefined : new WebhookSpill(config.spillDir, config.maxSpillBytes, log);
  }

  /** Starts reading the source and answering dead-letter requests. */
  async start(): Promise<void> {
    this.deadLetters = await this.deps.dead.count().catch(() => 0);
    await this.spill?.recover();
    this.subs.push(
      this.deps.bus.serve(webhookAdminSubject, (data) => this.admin(data)),
      this.deps.bus.subscribe(subjects.heldAll, (data) => this.onSide(itemOfHeld(data, this.config.kinds)), { queue: webhookQueue }),
      this.deps.bus.subscribe(subjects.webhookPresence, (data) => this.onSide(itemOfPresence(data, this.config.kinds)), {
        queue: webhookQueue,
      }),
    );
    this.deps.source.start((data, handle) => this.onEvent(data, handle));
    if (this.spill?.active) void this.drain();
  }

  /**
   * The source's callback. In one process it runs inside the sequencer's
   * publish, beside the edge's fan-out: decoding and JSON wait for the next
   * turn of the event loop, so publishing costs one array push here.
   */
  private onEvent(data: Uint8Array, handle: unknown): void {
    if (this.stopped) {
      // Delivered after the stop (a pull already under way): given back, not left to the ack wait.
      if (handle !== undefined) this.deps.source.release?.([handle]);
      return;
    }
    this.inbox.push([data, handle]);
    if (this.inboxScheduled) return;
    this.inboxScheduled = true;
    setImmediate(() => {
      this.inboxScheduled = false;
      const inbox = this.inbox;
      this.inbox = [];
      for (const [d, h] of inbox) this.take(d, h);
    });
  }

  private take(data: Uint8Array, handle: unknown): void {
    if (this.stopped) return;
    let deliveryId: number | undefined;
    if (handle !== undefined && this.deps.source.deliveryOf) {
      const d = this.deps.source.deliveryOf(handle);
      if (this.held.has(d.id)) return;
      deliveryId = d.id;
    }
    if (this.spill && (this.spill.active || this.buffered >= this.config.maxBufferEvents)) {
      this.spill.append(data);
      return;
    }
    this.accept(data, handle, deliveryId);
  }

  private accept(data: Uint8Array, handle: unknown, deliveryId: number | undefined): void {
    this.received++;
    const item = itemOfEvent(data, this.config.kinds);
    if (!item) {
      if (handle !== undefined) this.deps.source.ack([handle]);
      return;
    }
    this.queue(item, handle, deliveryId);
  }

  /** Held danmaku (and anything else not sequenced): best effort, straight into the queues. */
  private onSide(item: WebhookItem | undefined): void {
    if (this.stopped || !item) return;
    this.received++;
    this.queue(item, undefined, undefined);
  }

  private queue(item: WebhookItem, handle: unknown, deliveryId: number | undefined): void {
    const entry: Entry = { item, arrivedMs: this.now(), handle, remaining: this.endpoints.length, deliveryId };
    if (deliveryId !== undefined) this.held.set(deliveryId, entry);
    this.buffered++;
    for (const e of this.endpoints) e.add(entry);
    if (this.buffered >= this.config.maxBufferEvents && this.deps.source.pause && !this.paused) {
      this.paused = true;
      this.deps.source.pause();
    }
  }

  private settled(entries: readonly Entry[]): void {
    const acks: unknown[] = [];
    for (const entry of entries) {
      if (--entry.remaining > 0) continue;
      this.buffered--;
      if (entry.deliveryId !== undefined) this.held.delete(entry.deliveryId);
      if (entry.handle !== undefined) acks.push(entry.handle);
    }
    if (acks.length) this.deps.source.ack(acks);
    if (this.stopped) return;
    if (this.paused && this.buffered < this.config.maxBufferEvents / 2) {
      this.paused = false;
      this.deps.source.resume?.();
    }
    if (this.spill?.active && this.buffered < this.config.maxBufferEvents / 2) void this.drain();
  }

  /** Reads spilled events back while the queue has room. */
  private async drain(): Promise<void> {
    const spill = this.spill;
    if (!spill) return;
    while (!this.stopped && spill.active && this.buffered < this.config.maxBufferEvents / 2) {
      const fed = await spill.drainOne((bytes) => this.accept(bytes, undefined, undefined));
      if (!fed) return;
    }
  }

  /** Answers the dead-letter API's requests (any core may; the store is shared when clustered). */
  private async admin(data: Uint8Array): Promise<Uint8Array> {
    const reply = (r: WebhookAdminReply): Uint8Array => new TextEncoder().encode(JSON.stringify(r));
    let req: WebhookAdminRequest;
    try {
      req = JSON.parse(new TextDecoder().decode(data)) as WebhookAdminRequest;
    } catch {
      return reply({ ok: false, code: 'BAD_REQUEST', message: 'not JSON' });
    }
    try {
      if (req.op === 'list') {
        const letters = await this.deps.dead.list({ limit: req.limit, ...(req.after !== undefined ? { after: req.after } : {}) });
        return reply({ ok: true, letters });
      }
      if (req.op === 'replay') return reply(await this.replay(String(req.id)));
      return reply({ ok: false, code: 'BAD_REQUEST', message: 'unknown op' });
    } catch (err) {
      this.deps.logger.error({ err }, 'webhook dead-letter request failed');
      return reply({ ok: false, code: 'INTERNAL', message: 'dead-letter store unavailable' });
    }
  }

  private async replay(id: string): Promise<WebhookAdminReply> {
    const letter = await this.deps.dead.get(id);
    if (!letter) return { ok: false, code: 'NOT_FOUND', message: `no dead letter ${id} (never was, replayed, or dropped)` };
    const endpoint = this.endpoints.find((e) => e.url === letter.url);
    if (!endpoint) return { ok: false, code: 'GONE', message: `${letter.url} is no longer a BARRAGE_WEBHOOK_URL` };
    if (this.replaying.has(id)) return { ok: false, code: 'BUSY', message: `dead letter ${id} is being replayed` };
    this.replaying.add(id);
    endpoint.replay(letter.events, (delivered) => {
      this.replaying.delete(id);
      if (!delivered) {
        this.deps.logger.warn({ id }, 'webhook dead letter replay failed again; it stays');
        return;
      }
      this.deps.dead.remove(id).then(
        (removed) => {
          if (removed) this.deadLetters = Math.max(0, this.deadLetters - 1);
        },
        (err: unknown) => this.deps.logger.warn({ err, id }, 'replayed dead letter not removed'),
      );
    });
    return { ok: true, replaying: summaryOf(letter).id };
  }

  /** Counters and gauges now. */
  stats(): WebhookStats {
    const s = emptyWebhookStats();
    s.received = this.received;
    let oldest: number | undefined;
    for (const e of this.endpoints) {
      s.delivered += e.stats.delivered;
      s.failed += e.stats.failed;
      s.retried += e.stats.retried;
      s.deadEvents += e.stats.deadEvents;
      const o = e.oldestTsMs();
      if (o !== undefined && (oldest === undefined || o < oldest)) oldest = o;
    }
    s.deadLetters = this.deadLetters;
    s.queued = this.buffered;
    s.lagSeconds = oldest === undefined ? 0 : Math.max(0, (this.now() - oldest) / 1000);
    s.spilled = this.spill?.spilled ?? 0;
    s.spillBytes = this.spill?.bytes ?? 0;
    s.dropped = this.spill?.dropped ?? 0;
    s.paused = this.paused;
    return s;
  }

  /**
   * Stops: no new events, retries cancelled. What was not delivered stays
   * unacknowledged (clustered, JetStream delivers it again to a core) or,
   * in one process, what is spilled stays on disk; what was in memory is
   * lost with the process, as every in-memory event is in one process.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.subs) s.unsubscribe();
    // The source first: a pull still open would take back what is given back below.
    await this.deps.source.stop();
    // Held events go back to the stream now, so the next core sends them first (in order), not after the ack wait.
    this.deps.source.release?.([...this.held.values()].map((e) => e.handle).concat(this.inbox.map(([, h]) => h)));
    this.held.clear();
    this.inbox = [];
    for (const e of this.endpoints) e.stop();
    await this.spill?.stop();
    await this.deps.dead.close();
  }
}
