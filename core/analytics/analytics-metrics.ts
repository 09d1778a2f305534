/**
 * The analytics sink's counters as Prometheus metrics, read from
 * `AnalyticsSink.stats()` at scrape time (nothing is added to the sink's hot
 * path). Registered on the edge's registry in one process and on core's
 * `/metrics` when clustered, where the sink runs.
 */
import type { Registry } from 'prom-client';
import { statsMetrics } from '../stats-metrics.js';
import type { SinkStats } from './analytics-sink.js';

/** Adds the sink's metrics to `registry`; `stats` is called on every scrape. */
export function registerAnalyticsMetrics(registry: Registry, stats: () => SinkStats): void {
  const { counter, gauge } = statsMetrics(registry, stats);
  gauge(
    'barrage_analytics_queued_events',
    'Events received by the analytics sink and not yet accepted by the store',
    (s) => s.queuedEvents,
  );
  gauge('barrage_analytics_memory_bytes', 'Bytes of sealed analytics batches held in memory', (s) => s.memoryBytes);
  gauge('barrage_analytics_spill_bytes', 'Bytes of analytics batches spilled to disk, waiting for the store', (s) => s.spillBytes);
  gauge('barrage_analytics_paused', '1 while the sink has paused its source because its buffer is full', (s) => (s.paused ? 1 : 0));
  counter('barrage_analytics_events_received_total', 'Room events the analytics sink received', (s) => s.received);
  counter('barrage_analytics_events_inserted_total', 'Room events the analytics store accepted', (s) => s.inserted);
  counter('barrage_analytics_batches_inserted_total', 'Batches the analytics store accepted', (s) => s.batches);
  counter('barrage_analytics_insert_failures_total', 'Failed analytics inserts (each is retried with backoff)', (s) => s.failures);
  counter('barrage_analytics_batches_spilled_total', 'Analytics batches spilled to disk', (s) => s.spilledBatches);
  counter(
    'barrage_analytics_events_dropped_total',
    'Analytics events dropped because memory and spill limits were full',
    (s) => s.droppedEvents,
  );
  counter(
    'barrage_analytics_redeliveries_skipped_total',
    'Events a durable source delivered again that were already held or stored, left out',
    (s) => s.skippedRedeliveries,
  );
  counter(
    'barrage_analytics_counters_skipped_total',
    'Counter events not stored: online counts of rooms without sequenced events or below the minute peak, like and leaderboard heartbeats',
    (s) => s.skippedCounters,
  );
  counter('barrage_analytics_events_malformed_total', 'Bytes on the room event subjects that were not an event', (s) => s.malformed);
}
