/**
 * Reads Prometheus histograms out of `/metrics` text, so a benchmark can
 * report what the servers measured (the per-hop latency histograms) next to
 * what its clients observed: buckets per label value, the difference of two
 * scrapes (the run's window only) and quantiles interpolated inside a bucket
 * as PromQL's `histogram_quantile` does.
 */

/** Cumulative bucket counts by upper bound (`+Inf` as Infinity), with the sum and count. */
export interface PromHistogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

const lineRe = /^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/i;

function labelsOf(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of (text ?? '').matchAll(/([a-z_][a-z0-9_]*)="((?:[^"\\]|\\.)*)"/gi)) out.set(m[1] as string, m[2] as string);
  return out;
}

/**
 * The histograms of metric `name` in `text`, one per value of label `by`
 * (several processes' texts may be joined: equal series are added up).
 */
export function readHistograms(text: string, name: string, by: string): Map<string, PromHistogram> {
  const out = new Map<string, PromHistogram>();
  const get = (key: string): PromHistogram => {
    let h = out.get(key);
    if (!h) out.set(key, (h = { buckets: new Map(), sum: 0, count: 0 }));
    return h;
  };
  for (const line of text.split('\n')) {
    const m = lineRe.exec(line);
    if (!m) continue;
    const [, metric, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string];
    if (!metric.startsWith(name + '_')) continue;
    const labels = labelsOf(rawLabels);
    const h = get(labels.get(by) ?? '');
    const value = Number(rawValue);
    const suffix = metric.slice(name.length + 1);
    if (suffix === 'bucket') {
      const le = labels.get('le') === '+Inf' ? Infinity : Number(labels.get('le'));
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + value);
    } else if (suffix === 'sum') h.sum += value;
    else if (suffix === 'count') h.count += value;
  }
  return out;
}

/** `after - before`, bucket by bucket: what was observed between the two scrapes. */
export function histogramDelta(after: PromHistogram, before: PromHistogram | undefined): PromHistogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before?.buckets.get(le) ?? 0));
  return { buckets, sum: after.sum - (before?.sum ?? 0), count: after.count - (before?.count ?? 0) };
}

/**
 * The `q` quantile (0..1) in the histogram's unit, linearly interpolated
 * within its bucket (PromQL's rule; the top finite bound when it falls in
 * `+Inf`); NaN when empty.
 */
export function histogramQuantile(h: PromHistogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const count = h.buckets.get(le) as number;
    if (count >= rank) {
      if (le === Infinity) return prevBound;
      return prevBound + (le - prevBound) * ((rank - prevCount) / Math.max(count - prevCount, 1e-9));
    }
    prevBound = le;
    prevCount = count;
  }
  return prevBound;
}

/** p50, p99 and mean in milliseconds of each label value's histogram between two scrapes. */
export function hopSummary(
  before: string,
  after: string,
  name: string,
  by = 'hop',
): Record<string, { count: number; p50Ms: number; p99Ms: number; meanMs: number }> {
  const b = readHistograms(before, name, by);
  const out: Record<string, { count: number; p50Ms: number; p99Ms: number; meanMs: number }> = {};
  for (const [key, h] of readHistograms(after, name, by)) {
    const d = histogramDelta(h, b.get(key));
    const round = (s: number) => Math.round(s * 10_000) / 10;
    out[key] = {
      count: d.count,
      p50Ms: round(histogramQuantile(d, 0.5)),
      p99Ms: round(histogramQuantile(d, 0.99)),
      meanMs: round(d.count > 0 ? d.sum / d.count : NaN),
    };
  }
  return out;
}
