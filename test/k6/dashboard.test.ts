/**
 * docs/grafana-dashboard.json and docs/operations.md against the metrics the
 * edge really exports: every query names a real series, every edge metric has
 * a panel and a line in the docs, and the layout is a valid Grafana grid; and
 * the configuration tables of docs/operations.md against the loader's table of
 * settings (`domain/config/settings.ts`), name for name.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registerAnalyticsMetrics } from '../../core/analytics/analytics-metrics.js';
import { emptySinkStats } from '../../core/analytics/analytics-sink.js';
import { coreMetrics } from '../../core/http/core-http.js';
import { registerWebhookMetrics } from '../../core/webhooks/webhook-metrics.js';
import { emptyWebhookStats } from '../../core/webhooks/webhooks.js';
import { EdgeMetrics } from '../../edge/metrics.js';
import { coreLatency } from '../../domain/latency.js';
import { settingNames } from '../../domain/config/settings.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; refId: string }>;
}

const dashboard = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};
const operations = readFileSync('docs/operations.md', 'utf8');

/** What an edge (with the analytics sink and webhooks, as in one process) and a core process export. */
async function exported(): Promise<{ names: Set<string>; edge: string[] }> {
  const edgeMetrics = new EdgeMetrics(true);
  registerAnalyticsMetrics(edgeMetrics.registry, emptySinkStats);
  registerWebhookMetrics(edgeMetrics.registry, emptyWebhookStats);
  const core = coreMetrics(() => true, emptySinkStats, emptyWebhookStats);
  // Core's latency histogram is registered by the wiring (bin/wiring.ts) next to these.
  coreLatency().registerIn(core);
  const text = (await edgeMetrics.registry.metrics()) + (await core.metrics());
  const names = new Set<string>();
  const edge: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (!name.startsWith('barrage_process_') && !edge.includes(name)) edge.push(name);
  }
  return { names, edge };
}

describe('grafana dashboard - docs/grafana-dashboard.json', () => {
  it('grafana dashboard - is a Grafana dashboard model with a datasource and an edge variable', () => {
    expect(dashboard.uid).toBe('barrage-edges');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('grafana dashboard - panels sit on the 24-column grid without overlapping', () => {
    const taken = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(taken.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          taken.add(`${i},${j}`);
        }
      }
    }
  });

  it('grafana dashboard - every query names series the edge exports, and every edge metric has a panel', async () => {
    const { names, edge } = await exported();
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        for (const name of t.expr.match(/barrage_[a-z0-9_]+/g) ?? []) {
          expect(names.has(name), `${p.title}: ${name} is not exported`).toBe(true);
          used.add(name);
          // A histogram is shown through its series.
          used.add(name.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    for (const name of edge) expect(used.has(name), `${name} has no panel`).toBe(true);
  });
});

/**
 * The variables the tables of the Configuration section name: the backquoted
 * names in the first cell of each row (a cell may name two, or an alias).
 */
function documentedSettings(): string[] {
  const from = operations.indexOf('\n## Configuration\n');
  const to = operations.indexOf('\n## ', from + 1);
  expect(from, 'docs/operations.md has a Configuration section').toBeGreaterThan(0);
  const names = new Set<string>();
  for (const line of operations.slice(from, to).split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of (line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1] as string);
  }
  return [...names].sort();
}

describe('operations doc - docs/operations.md', () => {
  it('operations doc - lists every edge metric', async () => {
    const { edge } = await exported();
    for (const name of edge) expect(operations, name).toContain('`' + name + '`');
  });

  it('operations doc - the configuration tables list exactly the settings loadConfig reads', () => {
    const known = [...new Set(settingNames())].sort();
    expect(known.length).toBeGreaterThan(60);
    expect(documentedSettings()).toEqual(known);
  });
});
