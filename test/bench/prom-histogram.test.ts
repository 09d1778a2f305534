/**
 * The benchmark's reader of server histograms: what it computes from two
 * scrapes of real prom-client output matches what was observed between them.
 */
import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { histogramQuantile, hopSummary, readHistograms } from '../../bench/lib/prom-histogram.js';

function setup() {
  const registry = new Registry();
  const h = new Histogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['hop'] as const,
    buckets: [0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  });
  return { registry, h };
}

describe('prom histogram - reading server histograms in a benchmark', () => {
  it('prom histogram - quantiles interpolate inside the bucket as histogram_quantile does', async () => {
    const { registry, h } = setup();
    for (let i = 0; i < 100; i++) h.observe({ hop: 'a' }, i < 50 ? 0.005 : 0.015);
    const a = readHistograms(await registry.metrics(), 'x_seconds', 'hop').get('a');
    expect(a?.count).toBe(100);
    // Half the observations fill the first bucket (0..10 ms), the rest the second (10..20 ms).
    expect(histogramQuantile(a!, 0.5)).toBeCloseTo(0.01, 6);
    expect(histogramQuantile(a!, 0.99)).toBeCloseTo(0.0198, 6);
    expect(histogramQuantile({ buckets: new Map(), sum: 0, count: 0 }, 0.5)).toBeNaN();
  });

  it('prom histogram - only what was observed between the two scrapes counts, summed over processes and split by hop', async () => {
    const { registry, h } = setup();
    h.observe({ hop: 'a' }, 5); // before the window: in +Inf
    const before = await registry.metrics();
    for (let i = 0; i < 10; i++) h.observe({ hop: 'a' }, 0.03);
    h.observe({ hop: 'b' }, 0.001);
    const after = await registry.metrics();
    // Two "edges" exporting the same series: their buckets add up.
    const summary = hopSummary(before + '\n' + before, after + '\n' + after, 'x_seconds');
    expect(summary['a']).toMatchObject({ count: 20, meanMs: 30 });
    expect(summary['a']!.p99Ms).toBeGreaterThan(20);
    expect(summary['a']!.p99Ms).toBeLessThanOrEqual(50);
    expect(summary['b']).toMatchObject({ count: 2 });
  });
});
