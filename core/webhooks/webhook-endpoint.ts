/**
 * Delivery to one receiver URL: batches, order per room, retries, dead
 * letters.
 *
 * - Events queue per room. A batch takes events of rooms that have nothing
 *   in flight or waiting for a retry (several rooms may share a batch), up
 *   to `batchMaxEvents`; it leaves once that many are ready or the oldest
 *   ready one has waited `batchMs`.
 * - A room with a batch out (sent, or failed and waiting to be sent again)
 *   gives no event to another batch: its later events wait, so a receiver
 *   sees each room's events in seq order. Rooms not in a failing batch go on.
 * - A failed batch (not 2xx, a redirect, a timeout, no connection) is sent
 *   again as the same bytes with the same `Barrage-Delivery` id, freshly
 *   signed, after an exponential backoff with full jitter, until its oldest
 *   event is older than the retry horizon. Then it becomes a dead letter and
 *   its rooms go on.
 * - At most `concurrency` requests are in flight; a batch waiting for its
 *   retry holds no request.
 *
 * The endpoint never touches the source: it calls `settled(items)` once per
 * batch delivered or given up, and the owner (`webhooks.ts`) acknowledges
 * the source once every endpoint settled an event.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../../domain/config.js';
import { signWebhook, WebhookHeader } from '../../domain/webhook-signature.js';
import type { WebhookSecret } from '../../domain/webhook-signature.js';
import { backoffMs } from '../../domain/retry.js';
import type { NewDeadLetter } from './dead-letters.js';
import type { WebhookItem } from './webhook-event.js';

/** An item as an endpoint holds it. */
export interface Queued {
  item: WebhookItem;
  /** When it reached this process (ms): the retry horizon counts from here. */
  arrivedMs: number;
}

/** Counters of one endpoint (summed over endpoints in `WebhookStats`). */
export interface EndpointStats {
  /** Events the receiver took (2xx). */
  delivered: number;
  /** Batches the receiver took. */
  batches: number;
  /** Requests that failed (each failure of each attempt). */
  failed: number;
  /** Attempts after the first. */
  retried: number;
  /** Events given up into dead letters. */
  deadEvents: number;
}

/** How an endpoint sends and waits: the batching and retry settings, and its URL. */
export interface EndpointOptions extends Pick<
  WebhookConfig,
  'batchMaxEvents' | 'batchMs' | 'timeoutMs' | 'concurrency' | 'retryMinMs' | 'retryMaxMs' | 'retryHorizonMs'
> {
  url: string;
  secret: WebhookSecret;
  logger: Logger;
  /** Called with the events of a batch delivered or given up. */
  settled: (items: readonly Queued[]) => void;
  /** Keeps a batch given up on; resolves once kept (the events are settled after). */
  dead: (letter: NewDeadLetter) => Promise<unknown>;
  now?: () => number;
  random?: () => number;
}

interface Batch {
  delivery: string;
  items: Queued[];
  rooms: string[];
  body: string;
  attempts: number;
  /** The oldest event's arrival: the horizon counts from it. */
  firstMs: number;
  /** A replay of a dead letter: settles nothing, `onDone` says how it ended. */
  replay?: (delivered: boolean) => void;
}

interface RoomQueue {
  items: Queued[];
  /** A batch holding this room's events is out. */
  busy: boolean;
}

/** What the receiver answered, as a log line and a dead letter say it. */
type Outcome = { ok: true } | { ok: false; error: string };

/** Delivers batches to one URL. */
export class WebhookEndpoint {
  readonly stats: EndpointStats = { delivered: 0, batches: 0, failed: 0, retried: 0, deadEvents: 0 };
  private readonly rooms = new Map<string, RoomQueue>();
  /** Rooms with queued events and no batch out, in the order they became ready. */
  private readonly ready = new Set<string>();
  private readyEvents = 0;
  /** When the oldest ready event became ready (a batch is due `batchMs` after). */
  private readySinceMs = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly retries = new Set<NodeJS.Timeout>();
  /** Batches out (in flight or waiting for a retry), for lag and stop. */
  private readonly out = new Set<Batch>();
  private stopped = false;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: EndpointOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get url(): string {
    return this.options.url;
  }

  /** Events queued here and not yet settled (batches out included). */
  get pending(): number {
    let n = 0;
    for (const q of this.rooms.values()) n += q.items.length;
    for (const b of this.out) if (!b.replay) n += b.items.length;
    return n;
  }

  /** The time (ms since the epoch) of the oldest event not yet settled, or undefined. */
  oldestTsMs(): number | undefined {
    let oldest: number | undefined;
    const see = (ts: number): void => {
      if (oldest === undefined || ts < oldest) oldest = ts;
    };
    for (const q of this.rooms.values()) if (q.items[0]) see(q.items[0].item.tsMs);
    for (const b of this.out) if (!b.replay && b.items[0]) see(b.items[0].item.tsMs);
    return oldest;
  }

  /** Queues an event behind its room's earlier ones. */
  add(queued: Queued): void {
    const room = queued.item.room;
    let q = this.rooms.get(room);
    if (!q) {
      q = { items: [], busy: false };
      this.rooms.set(room, q);
    }
    // In seq order: an event a durable source delivers again after a restart can come after a later one.
    let at = q.items.length;
    const seq = queued.item.seq;
    if (seq >= 0) while (at > 0 && (q.items[at - 1] as Queued).item.seq > seq) at--;
    q.items.splice(at, 0, queued);
    if (!q.busy) this.markReady(room, 1);
    this.pump();
  }

  /** Sends the events of a dead letter again, as one batch of their own (rooms' queues not blocked). */
  replay(events: readonly string[], onDone: (delivered: boolean) => void): void {
    const nowMs = this.now();
    const items = events.map((json) => ({
      item: { id: '', kind: 'danmaku', room: '', seq: -1, json, tsMs: nowMs } as WebhookItem,
      arrivedMs: nowMs,
    }));
    const batch = this.batchOf(items, [], nowMs);
    batch.replay = onDone;
    this.send(batch);
  }

  private markReady(room: string, events: number): void {
    if (this.ready.size === 0) this.readySinceMs = this.now();
    this.ready.add(room);
    this.readyEvents += events;
  }

  /** Sends what is due while requests are free; otherwise arms the window's timer. */
  private pump(): void {
    while (!this.stopped && this.inFlight < this.options.concurrency && this.ready.size > 0) {
      const due = this.readyEvents >= this.options.batchMaxEvents || this.now() - this.readySinceMs >= this.options.batchMs;
      if (!due) {
        this.timer ??= setTimeout(
          () => {
            this.timer = undefined;
            this.pump();
          },
          Math.max(0, this.readySinceMs + this.options.batchMs - this.now()),
        );
        return;
      }
      this.send(this.take());
    }
  }

  /** The next batch from the ready rooms, oldest-ready first; marks its rooms busy. */
  private take(): Batch {
    const items: Queued[] = [];
    const rooms: string[] = [];
    let firstMs = Infinity;
    for (const room of this.ready) {
      if (items.length >= this.options.batchMaxEvents) break;
      const q = this.rooms.get(room) as RoomQueue;
      const taken = q.items.splice(0, this.options.batchMaxEvents - items.length);
      for (const t of taken) {
        items.push(t);
        if (t.arrivedMs < firstMs) firstMs = t.arrivedMs;
      }
      this.ready.delete(room);
      this.readyEvents -= taken.length + q.items.length;
      q.busy = true;
      rooms.push(room);
    }
    // Rooms left ready wait a new window from now: the batch just sent took the oldest events.
    this.readySinceMs = this.now();
    return this.batchOf(items, rooms, firstMs);
  }

  private batchOf(items: Queued[], rooms: string[], firstMs: number): Batch {
    const delivery = randomUUID();
    let events = '';
    for (const q of items) events += (events ? ',' : '') + q.item.json;
    const body = `{"delivery":"${delivery}","events":[${events}]}`;
    return { delivery, items, rooms, body, attempts: 0, firstMs };
  }

  private send(batch: Batch): void {
    this.out.add(batch);
    this.inFlight++;
    batch.attempts++;
    if (batch.attempts > 1) this.stats.retried++;
    void this.post(batch).then((outcome) => {
      this.inFlight--;
      if (outcome.ok) this.finish(batch, true);
      else this.failed(batch, outcome.error);
      this.pump();
    });
  }

  private async post(batch: Batch): Promise<Outcome> {
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Barrage-Webhooks/1',
          [WebhookHeader.signature]: signWebhook(batch.body, this.options.secret, this.now()),
          [WebhookHeader.delivery]: batch.delivery,
          'barrage-attempt': String(batch.attempts),
        },
        body: batch.body,
      });
      // The answer's body is not read: a receiver cannot make us buffer it.
      await res.body?.cancel().catch(() => {});
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const error = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name ?? 'error');
      return { ok: false, error };
    }
  }

  private failed(batch: Batch, error: string): void {
    this.stats.failed++;
    if (this.stopped) {
      this.out.delete(batch);
      return;
    }
    const nowMs = this.now();
    const left = batch.firstMs + this.options.retryHorizonMs - nowMs;
    if (left <= 0) {
      this.giveUp(batch, error, nowMs);
      return;
    }
    if (batch.rooms.length > 1) {
      // One room's events may be what the receiver refuses: retried apart, the other rooms go on.
      this.out.delete(batch);
      for (const part of this.splitByRoom(batch)) this.retryLater(part, part.firstMs + this.options.retryHorizonMs - nowMs, error);
      return;
    }
    this.retryLater(batch, left, error);
  }

  /** One batch per room of a failed batch, each with its own delivery id, keeping the attempts made. */
  private splitByRoom(batch: Batch): Batch[] {
    const byRoom = new Map<string, Queued[]>();
    for (const q of batch.items) {
      const list = byRoom.get(q.item.room);
      if (list) list.push(q);
      else byRoom.set(q.item.room, [q]);
    }
    return [...byRoom].map(([room, items]) => {
      const part = this.batchOf(
        items,
        [room],
        items.reduce((m, q) => Math.min(m, q.arrivedMs), Infinity),
      );
      part.attempts = batch.attempts;
      return part;
    });
  }

  private retryLater(batch: Batch, left: number, error: string): void {
    if (left <= 0) {
      this.giveUp(batch, error, this.now());
      return;
    }
    this.out.add(batch);
    if (batch.attempts === 1 || batch.attempts % 10 === 0) {
      this.options.logger.warn(
        { url: this.options.url, delivery: batch.delivery, attempts: batch.attempts, error },
        'webhook delivery failed',
      );
    }
    // Full jitter: receivers coming back are not hit by every core at the same instant.
    const wait = Math.min(left, Math.ceil(this.random() * backoffMs(batch.attempts - 1, this.options.retryMinMs, this.options.retryMaxMs)));
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.out.delete(batch);
      if (!this.stopped) this.send(batch);
    }, wait);
    this.retries.add(timer);
  }

  private giveUp(batch: Batch, error: string, nowMs: number): void {
    if (batch.replay) {
      this.out.delete(batch);
      batch.replay(false);
      return;
    }
    const letter: NewDeadLetter = {
      url: this.options.url,
      delivery: batch.delivery,
      deadAtMs: nowMs,
      firstAtMs: batch.firstMs,
      attempts: batch.attempts,
      lastError: error,
      rooms: batch.rooms,
      events: batch.items.map((q) => q.item.json),
    };
    this.options.logger.error(
      { url: this.options.url, delivery: batch.delivery, events: batch.items.length, error },
      'webhook batch dead-lettered',
    );
    // The events are settled (acknowledged) only once the letter is kept; a store that fails is retried.
    const keep = (attempt: number): void => {
      this.options.dead(letter).then(
        () => {
          this.stats.deadEvents += batch.items.length;
          this.finish(batch, false);
          this.pump();
        },
        (err: unknown) => {
          this.options.logger.error({ err, delivery: batch.delivery }, 'webhook dead letter not kept; retrying');
          if (!this.stopped) setTimeout(() => keep(attempt + 1), backoffMs(attempt, 500, 30_000));
        },
      );
    };
    keep(0);
  }

  private finish(batch: Batch, delivered: boolean): void {
    this.out.delete(batch);
    if (batch.replay) {
      batch.replay(delivered);
      return;
    }
    if (delivered) {
      this.stats.delivered += batch.items.length;
      this.stats.batches++;
    }
    for (const room of batch.rooms) {
      const q = this.rooms.get(room);
      if (!q) continue;
      q.busy = false;
      if (q.items.length > 0) this.markReady(room, q.items.length);
      else this.rooms.delete(room);
    }
    this.options.settled(batch.items);
  }

  /**
   * Stops sending: timers cleared, nothing new sent. Requests in flight are
   * left to end (their outcome is not acted on). Unsettled events stay
   * unacknowledged: a durable source delivers them again after a restart.
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
  }
}
