/**
 * Core's small HTTP server when it runs as its own process (`barrage core`):
 * `/healthz`, `/readyz` and `/metrics` for the orchestrator and Prometheus.
 * Core has no viewers, so plain `node:http` is enough here; edges serve the
 * same paths from uWebSockets.js.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { registerAnalyticsMetrics } from '../analytics/analytics-metrics.js';
import { registerLogMetrics } from '../../domain/log-metrics.js';
import type { SinkStats } from '../analytics/analytics-sink.js';
import { registerWebhookMetrics } from '../webhooks/webhook-metrics.js';
import type { WebhookStats } from '../webhooks/webhooks.js';

/** What core's HTTP server reports. */
export interface CoreHttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  /** Whether core can do its work now (the bus is connected). */
  ready: () => boolean;
  logger: Logger;
}

/** A listening core HTTP server. */
export interface CoreHttp {
  port: number;
  close(): Promise<void>;
}

/** Core's metrics: the process, the NATS connection and, when they run here, the analytics sink and the webhooks. */
export function coreMetrics(connected: () => boolean, sinkStats?: () => SinkStats, webhookStats?: () => WebhookStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'barrage_process_' });
  registerLogMetrics(registry);
  new Gauge({
    name: 'barrage_core_bus_connected',
    help: '1 while core is connected to NATS',
    registers: [registry],
    collect() {
      this.set(connected() ? 1 : 0);
    },
  });
  if (sinkStats) registerAnalyticsMetrics(registry, sinkStats);
  if (webhookStats) registerWebhookMetrics(registry, webhookStats);
  return registry;
}

/** Starts core's HTTP server; resolves once it listens. */
export async function startCoreHttp(options: CoreHttpOptions): Promise<CoreHttp> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'bus not connected\n');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) => {
          options.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
