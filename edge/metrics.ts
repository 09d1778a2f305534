/**
 * Prometheus metrics of one edge. Each edge has its own registry so that
 * several edges (tests, benchmarks) can live in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseCode } from '../domain/close-codes.js';
import { edgeLatency } from '../domain/latency.js';
import { registerLogMetrics } from '../domain/log-metrics.js';

/** The metrics an edge keeps; names are documented in docs/operations.md. */
export class EdgeMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'barrage_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly rooms = new Gauge({
    name: 'barrage_rooms',
    help: 'Rooms with at least one connection on this edge',
    registers: [this.registry],
  });
  readonly upgrades = new Counter({
    name: 'barrage_upgrades_total',
    help: 'WebSocket upgrade attempts by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly framesIn: Tally<'kind'> = new Tally(
    new Counter({
      name: 'barrage_frames_in_total',
      help: 'Client frames received, by kind',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      collect: (): void => this.framesIn.flush(),
    }),
    'kind',
  );
  readonly framesOut = new Counter({
    name: 'barrage_frames_out_total',
    help: 'Frames sent to clients (a published batch counts once per receiving socket)',
    registers: [this.registry],
  });
  readonly eventsOut = new Counter({
    name: 'barrage_events_out_total',
    help: 'Events delivered to clients (events per batch times receiving sockets)',
    registers: [this.registry],
  });
  readonly batches = new Counter({ name: 'barrage_batches_total', help: 'Batch frames published', registers: [this.registry] });
  readonly dropped = new Counter({
    name: 'barrage_dropped_total',
    help: 'Events not delivered to a socket, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly moderationHook = new Counter({
    name: 'barrage_moderation_hook_total',
    help: 'Danmaku decided by the moderation callback, by action and by why the policy decided instead (none: the callback answered)',
    labelNames: ['action', 'failure'] as const,
    registers: [this.registry],
  });
  readonly moderationHookSeconds = new Histogram({
    name: 'barrage_moderation_hook_seconds',
    help: 'Time a danmaku waited for the moderation callback (queue included)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly rateLimited: Tally<'limit'> = new Tally(
    new Counter({
      name: 'barrage_rate_limited_total',
      help: 'Frames refused by a rate limit, by limit',
      labelNames: ['limit'] as const,
      registers: [this.registry],
      collect: (): void => this.rateLimited.flush(),
    }),
    'limit',
  );
  readonly errors: Tally<'code'> = new Tally(
    new Counter({
      name: 'barrage_errors_total',
      help: 'Error frames sent, by code',
      labelNames: ['code'] as const,
      registers: [this.registry],
      collect: (): void => this.errors.flush(),
    }),
    'code',
  );
  readonly closes = new Counter({
    name: 'barrage_closes_total',
    help: 'Connections closed by the server, by close code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly clientCloses = new Counter({
    name: 'barrage_client_closes_total',
    help: 'Connections ended by the client or the network, by close code (1006: no close frame)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly historyRetries = new Counter({
    name: 'barrage_history_retries_total',
    help: 'History requests of a resume retried because core or the bus did not answer',
    registers: [this.registry],
  });
  readonly busMessages = new Counter({
    name: 'barrage_bus_messages_in_total',
    help: 'Room events received from the bus',
    registers: [this.registry],
  });

  readonly internalErrors = new Counter({
    name: 'barrage_internal_errors_total',
    help: 'Exceptions caught at an entry point from uWebSockets.js (answered 500 or closed 4002), by entry',
    labelNames: ['entry'] as const,
    registers: [this.registry],
  });
  readonly httpRefused = new Counter({
    name: 'barrage_http_refused_total',
    help: 'HTTP requests refused before their handler ran, by reason (bad_path, unauthorized, too_large, busy)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Per-hop latency, `barrage_edge_latency_seconds{hop}` (domain/latency.ts). */
  readonly latency = edgeLatency(this.registry);

  constructor(withDefaults: boolean) {
    // Each labelled counter starts with its known labels at 0, so the series
    // exist from the first scrape: rate() and the alerts built on it see the
    // first drop or close (a series born at 1 shows no increase), and every
    // dashboard panel has something to draw on a quiet edge.
    zero(this.upgrades, 'result', [
      'ok',
      'bad_token',
      'expired',
      'wrong_room',
      'no_token',
      'bad_room',
      'bad_since',
      'draining',
      'ip_penalty',
    ]);
    zero(this.framesIn.counter, 'kind', ['sendDanmaku', 'ping', 'resume', 'like', 'text', 'too_large', 'undecodable', 'unknown']);
    zero(this.dropped, 'reason', ['backpressure', 'overload']);
    zero(this.rateLimited.counter, 'limit', ['danmaku', 'frames', 'resume', 'moderate', 'ip_frames', 'replay']);
    zero(this.errors.counter, 'code', ['ERROR_CODE_INTERNAL', 'ERROR_CODE_UNAVAILABLE', 'ERROR_CODE_RATE_LIMITED']);
    zero(this.closes, 'code', Object.values(CloseCode).map(String));
    zero(this.clientCloses, 'code', ['1000', '1001', '1006', 'other']);
    zero(this.internalErrors, 'entry', ['http', 'upgrade', 'open', 'message', 'close']);
    zero(this.httpRefused, 'reason', ['bad_path', 'unauthorized', 'too_large', 'busy']);
    this.moderationHook.inc({ action: 'allow', failure: 'none' }, 0);
    if (withDefaults) {
      collectDefaultMetrics({ register: this.registry, prefix: 'barrage_process_' });
      registerLogMetrics(this.registry);
    }
  }

  /** Where the two state gauges read from; the edge sets it (`observe`). */
  private state = { busConnected: (): boolean => false, draining: (): boolean => false };

  /**
   * Gauges read at scrape time from the edge's state: whether it holds its bus
   * connection (what /readyz answers besides draining) and whether it is
   * draining, so alerts tell an edge lost from an edge being stopped.
   */
  readonly busConnected = gaugeOf(
    this.registry,
    'barrage_bus_connected',
    '1 while this edge is connected to the bus (NATS; always 1 in one process)',
    () => this.state.busConnected(),
  );
  readonly draining = gaugeOf(
    this.registry,
    'barrage_draining',
    '1 from SIGTERM on: /readyz is 503 and the edge is closing its sockets',
    () => this.state.draining(),
  );

  /** Where the penalty metrics read from; the edge sets it (`observePenalties`). */
  private penaltyState: { struck: number; penalties: number; penalized(): number } = { struck: 0, penalties: 0, penalized: () => 0 };

  /**
   * Abuse strikes and penalty windows per address (edge/ip-penalty.ts), read
   * at scrape time; refused upgrades are `barrage_upgrades_total{result="ip_penalty"}`.
   */
  readonly abuseStrikes = new Counter({
    name: 'barrage_ip_abuse_strikes_total',
    help: 'Sockets closed for abuse (4501, 4500, 1009) counted against their address',
    registers: [this.registry],
    collect: () => {
      this.abuseStrikes.reset();
      this.abuseStrikes.inc(this.penaltyState.struck);
    },
  });
  readonly penaltiesStarted = new Counter({
    name: 'barrage_ip_penalties_total',
    help: 'Penalty windows started: an address past its abuse strikes has its upgrades refused for a while',
    registers: [this.registry],
    collect: () => {
      this.penaltiesStarted.reset();
      this.penaltiesStarted.inc(this.penaltyState.penalties);
    },
  });
  readonly penalized = new Gauge({
    name: 'barrage_ip_penalized_addresses',
    help: 'Client addresses whose upgrades are refused now for repeated abuse closes',
    registers: [this.registry],
    collect: () => {
      this.penalized.set(this.penaltyState.penalized());
    },
  });

  /** Points the penalty metrics at the edge's table. */
  observePenalties(state: { struck: number; penalties: number; penalized(): number }): void {
    this.penaltyState = state;
  }

  /** Points the state gauges at the edge. */
  observe(state: { busConnected(): boolean; draining(): boolean }): void {
    this.state = state;
  }
}

/**
 * A counter with one label that is incremented per frame (frames in, rate
 * limits, error frames): counted in a plain map and added to the Prometheus
 * counter when it is scraped. prom-client hashes the label object on every
 * `inc`; under a 50-socket frame flood that was about 5 % of the edge's
 * JavaScript time (profile in docs/benchmarks.md, Flood section).
 */
export class Tally<L extends string> {
  private readonly pending = new Map<string, number>();

  constructor(
    readonly counter: Counter<L>,
    private readonly label: L,
  ) {}

  /** Adds `value` (default 1) to the series with `labels`' value of the label. */
  inc(labels: Partial<Record<L, string>>, value = 1): void {
    const key = labels[this.label] ?? '';
    this.pending.set(key, (this.pending.get(key) ?? 0) + value);
  }

  /** Moves the counts into the Prometheus counter (its `collect`, run at every scrape). */
  flush(): void {
    for (const [key, value] of this.pending) this.counter.inc({ [this.label]: key } as Partial<Record<L, string>>, value);
    this.pending.clear();
  }
}

/** Creates `counter`'s series for each of `values` of `label` at 0. */
function zero<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
}

/** A 0/1 gauge whose value is read when scraped. */
function gaugeOf(registry: Registry, name: string, help: string, read: () => boolean): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read() ? 1 : 0);
    },
  });
}
