/**
 * Turns a benchmark run into the generated blocks of docs/benchmarks.md.
 * Only the text between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`
 * is replaced, so hand-written analysis and other sections (the widget's)
 * stay as they are.
 */
import type { MachineFacts } from '../lib/proc.js';
import type { IdleResult, LadderResult, StepResult } from './harness.js';
import { serverLabel } from './protocols.js';

/** Everything one run measured. */
export interface RunResult {
  machine: MachineFacts;
  /** Load average just before the run and just after it. */
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
  command: string;
  durationSeconds: number;
  fanout: LadderResult[];
  sweep: LadderResult[];
  idle: IdleResult[];
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')) : '–');
const mib = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MiB`;
const pct = (n: number): string => `${Math.round(n)} %`;
/** Server CPU time per delivered message, ns: robust to how much CPU the machine had spare. */
const cpuPerMsg = (s: StepResult): string => (s.deliveredPerSec > 0 ? int((s.serverCpu / 100 / s.deliveredPerSec) * 1e9) : '–');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×` : '–');

function label(r: LadderResult): string {
  return r.kind === 'barrage' ? `Barrage (${r.batchMs} ms window)` : serverLabel[r.kind];
}

function topNote(r: LadderResult): string {
  const last = r.steps[r.steps.length - 1];
  return last && !last.saturated ? ' (top of ladder, not saturated)' : '';
}

/** The fan-out comparison block. */
export function fanoutBlock(run: RunResult): string {
  const barrage = run.fanout.find((r) => r.kind === 'barrage');
  const sio = run.fanout.find((r) => r.kind === 'socketio');
  const uws = run.fanout.find((r) => r.kind === 'uws');
  const uwsBatched = run.fanout.find((r) => r.kind === 'uws-batched');
  const b = barrage?.peak?.deliveredPerSec ?? 0;
  const viewers = barrage?.viewers ?? run.fanout[0]?.viewers ?? 0;
  const lines: string[] = [];
  lines.push(`Measured ${run.machine.date} on this machine: ${machineLine(run)}.`);
  lines.push('');
  lines.push(`Reproduce: \`${run.command}\` (whole run ${Math.round(run.durationSeconds)} s).`);
  lines.push('');
  lines.push(
    `${viewers.toLocaleString('en-US')} viewers in one room, one sender; each server raised through offered rates until two steps in a row fell behind (or delivery stopped rising). ` +
      '"Peak delivered" is messages (not frames) per second summed over all viewers at the best step; latency is sender stamp to receipt ' +
      'at that step, and at the highest rate each server still delivered completely with p99 under 1 s ("sustained").',
  );
  lines.push('');
  lines.push(
    '| server | peak delivered msgs/s | at offered msgs/s | frames/s | p50 / p99 ms | server CPU | server CPU ns per msg | server RSS | sustained offered msgs/s | p50 / p99 ms there |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of run.fanout) {
    const p = r.peak;
    const s = r.sustained;
    if (!p) continue;
    lines.push(
      `| ${label(r)} | ${int(p.deliveredPerSec)} | ${int(p.offered)}${topNote(r)} | ${int(p.framesPerSec)} | ${ms(p.p50)} / ${ms(p.p99)} | ` +
        `${pct(p.serverCpu)} | ${cpuPerMsg(p)} | ${mib(p.serverRss)} | ${s ? int(s.offered) : 'none'} | ${s ? `${ms(s.p50)} / ${ms(s.p99)}` : '–'} |`,
    );
  }
  lines.push('');
  const s = sio?.peak?.deliveredPerSec ?? 0;
  const u = uws?.peak?.deliveredPerSec ?? 0;
  lines.push('| target | measured | result |');
  lines.push('|---|--:|---|');
  lines.push(`| Barrage ≥ 10× Socket.IO | ${ratio(b, s)} | ${b >= 10 * s && s > 0 ? 'met' : 'missed'} |`);
  lines.push(`| Barrage ≥ 0.5× bare uWS | ${ratio(b, u)} | ${b >= 0.5 * u && u > 0 ? 'met' : 'missed'} |`);
  if (uwsBatched?.peak) {
    const ub = uwsBatched.peak.deliveredPerSec;
    lines.push(
      `| (for reference) Barrage vs bare uWS with the same 25 ms batching | ${ratio(b, ub)} | ${b >= 0.5 * ub ? '≥ 0.5×' : '< 0.5×'} |`,
    );
  }
  lines.push('');
  lines.push('<details><summary>Every step</summary>');
  lines.push('');
  lines.push(stepTable(run.fanout));
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}

function stepTable(results: LadderResult[]): string {
  const lines = [
    '| server | offered msgs/s | delivered msgs/s | complete | frames/s | p50 / p99 ms | server CPU | CPU ns per msg | viewer procs CPU | server RSS | saturated |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of results) {
    for (const s of r.steps) {
      lines.push(
        `| ${label(r)} | ${int(s.offered)} | ${int(s.deliveredPerSec)} | ${(100 * s.completeness).toFixed(1)} % | ${int(s.framesPerSec)} | ` +
          `${ms(s.p50)} / ${ms(s.p99)} | ${pct(s.serverCpu)} | ${cpuPerMsg(s)} | ${pct(s.clientCpu)} | ${mib(s.serverRss)} | ${s.saturated ? 'yes' : ''}${s.senderErrors ? ` (${s.senderErrors} errors)` : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The batching window sweep block. */
export function sweepBlock(run: RunResult): string {
  const all = [...run.sweep].sort((a, b) => (a.batchMs ?? 0) - (b.batchMs ?? 0));
  const rates = [...new Set(all.flatMap((r) => r.steps.map((s) => s.offered)))].sort((a, b) => a - b);
  const lines: string[] = [];
  lines.push(
    `Barrage alone, ${(all[0]?.viewers ?? 0).toLocaleString('en-US')} viewers, BARRAGE_BATCH_MS varied; same ladder and machine as above. ` +
      'Cells are p50 / p99 latency in ms (sender stamp to receipt) at each offered rate; "sat." marks the step where delivery fell behind.',
  );
  lines.push('');
  lines.push(`| window | peak delivered msgs/s | server CPU at peak | ${rates.map((r) => `${int(r)}/s`).join(' | ')} |`);
  lines.push(`|---|--:|--:|${rates.map(() => '--:').join('|')}|`);
  for (const r of all) {
    const cells = rates.map((rate) => {
      const s: StepResult | undefined = r.steps.find((x) => x.offered === rate);
      if (!s) return '';
      return `${ms(s.p50)} / ${ms(s.p99)}${s.saturated ? ' sat.' : ''}`;
    });
    lines.push(
      `| ${r.batchMs} ms | ${int(r.peak?.deliveredPerSec ?? 0)}${topNote(r)} | ${pct(r.peak?.serverCpu ?? 0)} | ${cells.join(' | ')} |`,
    );
  }
  lines.push('');
  lines.push('<details><summary>Every step</summary>');
  lines.push('');
  lines.push(stepTable(all));
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}

/** The idle connection cost block. */
export function idleBlock(run: RunResult): string {
  const lines: string[] = [];
  const n = run.idle[0]?.connections ?? 0;
  lines.push(
    `${n.toLocaleString('en-US')} idle connections per server (one room), RSS read from /proc after a full GC with none and with all of them: ` +
      '(RSS with N − RSS with 0) / N.',
  );
  lines.push('');
  lines.push('| server | RSS with 0 | RSS with N | RSS per connection | of which live JS heap | of which file-backed |');
  lines.push('|---|--:|--:|--:|--:|--:|');
  const kb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 1024).toFixed(2)} KB`);
  for (const r of run.idle) {
    const name = r.variant ? `${serverLabel[r.kind]} (${r.variant.includes('=') ? `\`${r.variant}\`` : r.variant})` : serverLabel[r.kind];
    lines.push(
      `| ${name} | ${mib(r.rssBefore)} | ${mib(r.rssAfter)} | ${kb(r.bytesPerConnection)} | ${kb(r.heapPerConnection)} | ${kb(r.filePerConnection)} |`,
    );
  }
  const b = run.idle.find((r) => r.kind === 'barrage' && !r.variant);
  if (b) {
    lines.push('');
    const target = (r: IdleResult): string => {
      const k = r.bytesPerConnection / 1024;
      return `${k.toFixed(2)} KB, ${k <= 2 ? 'met' : `missed by ${(k - 2).toFixed(2)} KB`}`;
    };
    const withAnalytics = run.idle.filter((r) => r.kind === 'barrage' && r.variant.startsWith('analytics on'));
    lines.push(
      `Target ≤ 2 KB per connection for Barrage: ${target(b)}` + withAnalytics.map((r) => `; ${r.variant}: ${target(r)}`).join('') + '.',
    );
  }
  return lines.join('\n');
}

function machineLine(run: RunResult): string {
  const m = run.machine;
  const la = (l: [number, number, number]) => l.map((x) => x.toFixed(2)).join(', ');
  return (
    `nproc ${m.nproc} (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, Node ${m.node}; load average before the run ${la(run.loadBefore)}, ` +
    `after it ${la(run.loadAfter)} (\`uptime\`: ${m.uptime})`
  );
}

/** Replaces the generated block `name` in `doc` (appending it when absent). */
export function spliceBlock(doc: string, name: string, body: string, heading: string): string {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n<!-- Generated by npm run bench:fanout; edits here are overwritten. -->\n\n${body}\n\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${heading}\n\n${block}\n`;
}
