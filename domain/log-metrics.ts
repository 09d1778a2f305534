/**
 * The log output's metrics, registered wherever a process exposes its own
 * process metrics (an edge's `/metrics`, core's `/metrics`): lines dropped
 * because stdout was not read, and the bytes waiting for its reader.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { logStats } from './logger.js';
import type { LogStats } from './logger.js';

/** Adds `barrage_log_lines_dropped_total` and `barrage_log_queued_bytes` to `registry`, read at scrape time. */
export function registerLogMetrics(registry: Registry, stats: () => LogStats = logStats): void {
  // Each registry has its own counter (several edges may share a test process), advanced by what it has not shown yet.
  let shown = 0;
  new Counter({
    name: 'barrage_log_lines_dropped_total',
    help: 'Log lines dropped because stdout was not read fast enough (a stalled log shipper) or was gone',
    registers: [registry],
    collect() {
      const dropped = stats().dropped;
      if (dropped > shown) this.inc(dropped - shown);
      shown = dropped;
    },
  });
  new Gauge({
    name: 'barrage_log_queued_bytes',
    help: 'Log output written and not yet taken by the reader of stdout',
    registers: [registry],
    collect() {
      this.set(stats().queuedBytes);
    },
  });
}
