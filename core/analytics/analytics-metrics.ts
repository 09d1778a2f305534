/**
 * The analytics sink's counters as Prometheus metrics, read from
 * `AnalyticsSink.stats()` at scrape time (nothing is added to the sink's hot
 * path). Registered on the edge's registry in one process and on core's
 * `/metrics` when clustered, where the sink runs.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { SinkStats } from './analytics-sink.js';

type Numeric = Exclude<keyof SinkStats, 'paused'>;

/** Adds the sink's metrics to `registry`; `stats` is called on every scrape. */
export function registerAnalyticsMetrics(registry: Registry, stats: () => SinkStats): void {
  const counter = (name: string, help: string, field: Numeric): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats()[field]);
      },
    });
  };
  const gauge = (name: string, help: string, value: (s: SinkStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(stats()));
      },
    });
  };
  gauge(
    'barrage_analytics_queued_events',
    'Events received by the analytics sink and not yet accepted by the store',
    (s) => s.queuedEvents,
  );
  gauge('barrage_analytics_memory_bytes', 'Bytes of sealed analytics batches held in memory', (s) => s.memoryBytes);
  gauge('barrage_analytics_spill_bytes', 'Bytes of analytics batches spilled to disk, waiting for the store', (s) => s.spillBytes);
  gauge('barrage_analytics_paused', '1 while the sink has paused its source because its buffer is full', (s) => (s.paused ? 1 : 0));
  counter('barrage_analytics_events_received_total', 'Room events the analytics sink received', 'received');
  counter('barrage_analytics_events_inserted_total', 'Room events the analytics store accepted', 'inserted');
  counter('barrage_analytics_batches_inserted_total', 'Batches the analytics store accepted', 'batches');
  counter('barrage_analytics_insert_failures_total', 'Failed analytics inserts (each is retried with backoff)', 'failures');
  counter('barrage_analytics_batches_spilled_total', 'Analytics batches spilled to disk', 'spilledBatches');
  counter('barrage_analytics_events_dropped_total', 'Analytics events dropped because memory and spill limits were full', 'droppedEvents');
  counter(
    'barrage_analytics_redeliveries_skipped_total',
    'Events a durable source delivered again that were already held or stored, left out',
    'skippedRedeliveries',
  );
  counter(
    'barrage_analytics_counters_skipped_total',
    'Counter events not stored: online counts of rooms without sequenced events or below the minute peak, like and leaderboard heartbeats',
    'skippedCounters',
  );
  counter('barrage_analytics_events_malformed_total', 'Bytes on the room event subjects that were not an event', 'malformed');
}
