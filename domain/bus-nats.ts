/**
 * The bus across processes: NATS through the official v3 client.
 *
 * Connection loss: the client reconnects forever (exponential backoff with
 * jitter, capped at 2 s) and re-sends every subscription itself, so an edge
 * gets its rooms' traffic again without doing anything. While disconnected,
 * `publish` hands messages to the client, which buffers them and sends them
 * after the reconnect; this bus caps what it lets the client buffer at
 * `maxBufferedBytes` and counts everything past the cap in `dropped`.
 * Core NATS does not promise delivery of what was buffered (a message written
 * to a socket that died is lost): what must not be lost goes through
 * JetStream with acknowledgements (`JetStreamSequencer`).
 */
import { connect, errors } from '@nats-io/transport-node';
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { BusStatus } from './bus.js';
import type { Bus, BusHandler, BusResponder, SubscribeOptions, Subscription } from './bus.js';
import { BusError, CoreErrorCode } from './errors.js';

/** Options of a NATS bus. */
export interface NatsBusOptions {
  /** Server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string[];
  /** Connection name shown by the server (`/connz`). */
  name: string;
  /** Bytes published during a disconnect that the client may buffer; more are dropped. */
  maxBufferedBytes?: number;
  /** Called on connection state changes (for logs). */
  onStatus?: (status: BusStatus, detail: string) => void;
  /**
   * Let the client capture a stack trace for every request when it is made
   * (nats.js's "async traces"), so a failed request's error shows its caller.
   * Off by default: core stores every event with a JetStream request, and the
   * two Error objects each one made were the largest item of core's own CPU
   * in the clustered benchmark (docs/benchmarks.md, "Where the time goes").
   */
  asyncTraces?: boolean;
}

/** Queue group of history responders: one core answers each request. */
const serveQueue = 'barrage-core';
const maxBackoffMs = 2_000;

/** Reconnect delay: 100 ms doubling to 2 s, with up to 50% jitter so edges do not reconnect in step. */
function backoff(attempt: number): number {
  const base = Math.min(maxBackoffMs, 100 * 2 ** Math.min(attempt, 5));
  return base / 2 + Math.random() * (base / 2);
}

/** `Bus` on NATS. Create with `NatsBus.connect`. */
export class NatsBus implements Bus {
  /** Messages not published: after close, or past the disconnect buffer cap. */
  dropped = 0;
  /** Messages received by subscriptions, for tests and metrics. */
  received = 0;
  private state: BusStatus = BusStatus.Connected;
  private bufferedBytes = 0;
  private readonly maxBufferedBytes: number;

  private constructor(
    /**
     * The connection, for the wiring to hand to the JetStream and KV
     * adapters beside this bus (`JetStreamSequencer`, `KvGiftLedger`, ...),
     * so a process keeps one connection. Code above the bus never uses it.
     */
    readonly nc: NatsConnection,
    private readonly options: NatsBusOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    void this.watch();
  }

  /** Connects, waiting (and retrying forever) until the first server answers. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    let attempt = 0;
    const nc = await connect({
      servers: options.servers,
      name: options.name,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => backoff(attempt++),
      // Notice a dead server within about 3 s even when the socket stays open.
      pingInterval: 1_000,
      maxPingOut: 3,
      ignoreClusterUpdates: false,
      noAsyncTraces: !(options.asyncTraces ?? false),
    });
    const bus = new NatsBus(nc, options);
    bus.resetBackoff = () => (attempt = 0);
    return bus;
  }

  private resetBackoff: () => void = () => {};

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      // Once closed, nothing the feed still reports (a last disconnect) reopens it.
      if (this.state === BusStatus.Closed) continue;
      switch (s.type) {
        case 'disconnect':
        case 'reconnecting':
          if (this.state !== BusStatus.Reconnecting) this.setState(BusStatus.Reconnecting, s.type);
          break;
        case 'reconnect':
          this.bufferedBytes = 0;
          this.resetBackoff();
          this.setState(BusStatus.Connected, `reconnected to ${s.server}`);
          break;
        case 'close':
          this.setState(BusStatus.Closed, 'closed');
          break;
        default:
          break;
      }
    }
  }

  private setState(state: BusStatus, detail: string): void {
    this.state = state;
    this.options.onStatus?.(state, detail);
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.state === BusStatus.Closed || this.nc.isClosed()) {
      this.dropped++;
      return;
    }
    if (this.state === BusStatus.Reconnecting) {
      if (this.bufferedBytes + data.length > this.maxBufferedBytes) {
        this.dropped++;
        return;
      }
      this.bufferedBytes += data.length;
    }
    try {
      this.nc.publish(subject, data);
    } catch {
      this.dropped++;
    }
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Subscription {
    const sub: NatsSubscription = this.nc.subscribe(subject, {
      ...(options.queue ? { queue: options.queue } : {}),
      callback: (err, msg) => {
        if (err) return;
        this.received++;
        handler(msg.data, msg.subject);
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.nc.isClosed()) throw new BusError(CoreErrorCode.BusClosed, 'bus is closed');
    try {
      const msg = await this.nc.request(subject, data, { timeout: timeoutMs });
      return msg.data;
    } catch (err) {
      if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
        throw new BusError(CoreErrorCode.NoResponder, `no responder for ${subject}`, { cause: err });
      }
      if (err instanceof errors.ClosedConnectionError) throw new BusError(CoreErrorCode.BusClosed, 'bus is closed', { cause: err });
      throw new BusError(CoreErrorCode.BusTimeout, `request to ${subject} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  serve(subject: string, responder: BusResponder): Subscription {
    const sub = this.nc.subscribe(subject, {
      queue: serveQueue,
      callback: (err, msg) => {
        if (err) return;
        Promise.resolve()
          .then(() => responder(msg.data, msg.subject))
          .then(
            (answer) => msg.respond(answer),
            // No answer: the requester times out, as it would with a dead responder.
            () => undefined,
          )
          // An answer NATS refuses (over max_payload) or a closed connection: the requester times
          // out; never an unhandled rejection (it ended the process).
          .catch(() => undefined);
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  status(): BusStatus {
    return this.state;
  }

  async flush(): Promise<void> {
    if (this.state !== BusStatus.Connected) return;
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      if (this.state === BusStatus.Connected) await this.nc.flush();
    } finally {
      await this.nc.close();
      // Closed from here on, not only once the status feed says so.
      if (this.state !== BusStatus.Closed) this.setState(BusStatus.Closed, 'closed');
    }
  }
}
