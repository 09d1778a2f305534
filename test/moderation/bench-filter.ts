/**
 * Measures the longest event-loop block while the site PUTs a maximum-size
 * word filter (single process: the API parses and checks it, the store keeps
 * it, the edge compiles it), with `perf_hooks.monitorEventLoopDelay`, until
 * the edge applies the new rules. Not a test; run it by hand:
 *
 *   npx tsx test/moderation/bench-filter.ts [--terms 20000] [--patterns 100] [--max-length 40] [--script latin|other|mixed]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startSingleProcess } from '../../bin/app.js';
import { createLogger } from '../../domain/logger.js';
import type { Conn } from '../../edge/connection.js';
import type { ValidDanmaku } from '../../edge/validate.js';
import { testConfig } from '../helpers/config.js';

const { values } = parseArgs({
  options: {
    terms: { type: 'string', default: '20000' },
    patterns: { type: 'string', default: '100' },
    'max-length': { type: 'string', default: '40' },
    script: { type: 'string', default: 'mixed' },
  },
});
const termCount = Number(values.terms);
const patternCount = Number(values.patterns);
const maxLength = Number(values['max-length']);
const config = testConfig();
const app = await startSingleProcess(config, createLogger('silent'), { processMetrics: false });
const room = 'bench-filter';

let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const latin = (min: number, max: number) => {
  let w = '';
  for (let i = 0, n = min + Math.floor(rand() * (max - min + 1)); i < n; i++) w += String.fromCharCode(97 + Math.floor(rand() * 26));
  return w;
};
// Non-ASCII terms cost the most to normalise: accented Latin, full width and CJK.
const other = (min: number, max: number) => {
  let w = '';
  for (let i = 0, n = min + Math.floor(rand() * (max - min + 1)); i < n; i++) {
    const r = rand();
    w += String.fromCharCode(
      r < 0.3 ? 0xe0 + Math.floor(rand() * 28) : r < 0.6 ? 0xff41 + Math.floor(rand() * 26) : 0x4e00 + Math.floor(rand() * 20000),
    );
  }
  return w;
};
const word = (min: number, max: number) =>
  values.script === 'latin' || (values.script === 'mixed' && rand() < 0.5) ? latin(min, max) : other(min, max);
// Terms of 10 to --max-length letters (the body is at most 2 MiB); the last one is what the probe sends.
const terms = Array.from({ length: termCount }, () => word(10, maxLength));
terms[termCount - 1] = 'probeword';
const patterns = Array.from({ length: patternCount }, () => `(${latin(3, 8)}|${latin(3, 8)})+[a-z]{1,20}${latin(3, 8)}`);
const body = JSON.stringify({ terms, patterns, action: 'block' });

const conn = { room, identity: { userId: 'u', name: 'u', room, role: 'viewer', exp: 0, member: false } } as unknown as Conn;
const probe = { text: 'a probeword here', mode: 0, color: 0, size: 0, clientMsgId: '' } as unknown as ValidDanmaku;
const applied = () => !app.moderation.edge.danmakuPolicy(conn, probe, Date.now()).ok;

const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const t0 = performance.now();
const res = await fetch(`http://127.0.0.1:${app.port}/api/v1/rooms/${room}/filter`, {
  method: 'PUT',
  headers: { authorization: `Bearer ${config.auth.apiKey}`, 'content-type': 'application/json' },
  body,
});
const putMs = performance.now() - t0;
if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
while (!applied()) await new Promise((r) => setTimeout(r, 1));
const appliedMs = performance.now() - t0;
h.disable();
console.log(
  JSON.stringify({
    terms: termCount,
    patterns: patternCount,
    bodyBytes: Buffer.byteLength(body),
    status: res.status,
    putMs: Math.round(putMs),
    appliedMs: Math.round(appliedMs),
    maxLoopBlockMs: Math.round(h.max / 1e6),
    p99LoopDelayMs: Math.round(h.percentile(99) / 1e6),
  }),
);
await app.stop();
