/**
 * The webhooks' counters as Prometheus metrics, read from `Webhooks.stats()`
 * at scrape time (nothing added to the delivery path). Registered where
 * webhooks are delivered: the edge's registry in one process, core's
 * `/metrics` when clustered.
 */
import type { Registry } from 'prom-client';
import { statsMetrics } from '../stats-metrics.js';
import type { WebhookStats } from './webhooks.js';

/** Adds the webhook metrics to `registry`; `stats` is called on every scrape. */
export function registerWebhookMetrics(registry: Registry, stats: () => WebhookStats): void {
  const { counter, gauge } = statsMetrics(registry, stats);
  counter('barrage_webhook_events_received_total', 'Events the webhook queue received from its source', (s) => s.received);
  counter('barrage_webhook_events_delivered_total', 'Webhook events a receiver took (2xx), summed over receivers', (s) => s.delivered);
  counter('barrage_webhook_requests_failed_total', 'Webhook requests that failed (not 2xx, timeout, no connection)', (s) => s.failed);
  counter('barrage_webhook_requests_retried_total', 'Webhook requests that were a retry of a failed batch', (s) => s.retried);
  counter('barrage_webhook_events_dead_total', 'Webhook events given up after the retry horizon, into dead letters', (s) => s.deadEvents);
  counter(
    'barrage_webhook_events_spilled_total',
    'Webhook events written to the spill directory while the queue was full',
    (s) => s.spilled,
  );
  counter('barrage_webhook_events_dropped_total', 'Webhook events dropped because the queue and the spill were full', (s) => s.dropped);
  gauge('barrage_webhook_dead_letters', 'Dead letters waiting to be replayed', (s) => s.deadLetters);
  gauge('barrage_webhook_queued_events', 'Webhook events received and not yet delivered or given up', (s) => s.queued);
  gauge('barrage_webhook_lag_seconds', 'Age of the oldest webhook event not yet delivered (0 when none waits)', (s) => s.lagSeconds);
  gauge('barrage_webhook_spill_bytes', 'Bytes of webhook events waiting in the spill directory', (s) => s.spillBytes);
  gauge('barrage_webhook_paused', '1 while the webhook queue paused its JetStream consumer because it is full', (s) => (s.paused ? 1 : 0));
}
