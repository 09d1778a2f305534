/**
 * Prometheus metrics of one edge. Each edge has its own registry so that
 * several edges (tests, benchmarks) can live in one process.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
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
  readonly framesIn = new Counter({
    name: 'barrage_frames_in_total',
    help: 'Client frames received, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
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
  readonly rateLimited = new Counter({
    name: 'barrage_rate_limited_total',
    help: 'Frames refused by a rate limit, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'barrage_errors_total',
    help: 'Error frames sent, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
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
    if (withDefaults) {
      collectDefaultMetrics({ register: this.registry, prefix: 'barrage_process_' });
      registerLogMetrics(this.registry);
    }
  }
}
