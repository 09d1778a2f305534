/**
 * Prometheus metrics read from a stats object at scrape time, the way the
 * analytics sink and the webhooks export theirs: nothing is added to the
 * path that counts, and a counter is reset to the object's running total on
 * every scrape.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** Registers counters and gauges on `registry` whose values come from `stats()` at each scrape. */
export function statsMetrics<S>(registry: Registry, stats: () => S) {
  return {
    counter(name: string, help: string, value: (s: S) => number): void {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(value(stats()));
        },
      });
    },
    gauge(name: string, help: string, value: (s: S) => number): void {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value(stats()));
        },
      });
    },
  };
}
