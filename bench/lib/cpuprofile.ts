/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function,
 * the top entries and the shares of GC, idle and the rest, so a benchmark
 * run can say where a process spent its time without opening DevTools.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** One function's share of the samples. */
export interface ProfileEntry {
  name: string;
  /** Share of all samples, in percent (idle included). */
  pct: number;
}

/** A profile's summary: the busiest functions by self time, and GC and idle shares. */
export interface ProfileSummary {
  samples: number;
  idlePct: number;
  gcPct: number;
  top: ProfileEntry[];
}

/** Self time of each function (by name and place), as a share of the samples. */
export function summarizeProfile(path: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|wt\/[^/]+|main)\//, '');
    const key = url ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : functionName;
    hits.set(key, (hits.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  const pct = (n: number) => Math.round((n / total) * 1000) / 10;
  const top = [...hits]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, n]) => ({ name, pct: pct(n) }));
  return { samples: profile.samples.length, idlePct: pct(hits.get('(idle)') ?? 0), gcPct: pct(hits.get('(garbage collector)') ?? 0), top };
}
