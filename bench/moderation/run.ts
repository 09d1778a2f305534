/**
 * Word filter benchmark: the edge's danmaku policy (moderation state and the
 * word filter, what runs on every danmaku before it is sequenced) with no
 * terms, 100 terms and 10,000 terms, over ordinary Latin and CJK danmaku and
 * evasions. Aho–Corasick: the cost per message should not grow with terms.
 *
 *   node --import tsx bench/moderation/run.ts [--messages 200000]
 */
import { parseArgs } from 'node:util';
import { v1 } from '../../proto/index.js';
import type { Conn } from '../../edge/connection.js';
import { EdgeModeration } from '../../edge/moderation.js';
import { MemoryModerationStore } from '../../domain/moderation-store-memory.js';
import { globalFilter } from '../../domain/moderation-store.js';
import { validateDanmaku } from '../../edge/validate.js';
import type { ValidDanmaku } from '../../edge/validate.js';
import { WordFilter } from '../../domain/word-filter.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '200000' } } });
const messages = Number(values.messages);

const texts = [
  '233333',
  'hello everyone, great stream today',
  '前方高能预警！！！',
  '这个操作太秀了哈哈哈哈',
  'lol that was close',
  'ｆｕｌｌ ｗｉｄｔｈ ｔｅｘｔ',
  'what a play!!! gg wp',
  'f u c k this lag', // an evasion (masked)
  '主播加油 💪',
  'first time here, love the music',
];

/** Random lowercase words of 4-10 letters, as a site's list looks. */
function terms(n: number): string[] {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const out = ['fuck'];
  while (out.length < n) {
    const len = 4 + Math.floor(rand() * 7);
    let w = '';
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rand() * 26));
    out.push(rand() < 0.1 ? `${w}*` : w);
  }
  return out;
}

async function run(n: number): Promise<{ terms: number; compileMs: number; nsPerMessage: number; masked: number }> {
  const store = new MemoryModerationStore();
  const edge = new EdgeModeration({ store, options: { emotes: [], autoSlowRate: 0, autoSlowSeconds: 5, autoSlowCalmMs: 30_000 } });
  const t0 = performance.now();
  if (n > 0) await store.putFilter(globalFilter, new v1.FilterRules({ terms: terms(n), action: v1.FilterAction.FILTER_ACTION_REPLACE }));
  await store.watch(edge);
  await edge.filtersBuilt();
  const compileMs = performance.now() - t0;
  const conn = {
    room: 'bench',
    identity: { userId: 'u', name: 'u', room: 'bench', role: 'viewer', exp: 0, member: false },
  } as unknown as Conn;
  const inputs = texts.map((text) => validateDanmaku({ text }, { maxTextLength: 100 }) as ValidDanmaku);
  let masked = 0;
  const now = Date.now();
  // Warm up, then measure.
  for (let i = 0; i < 20_000; i++) edge.danmakuPolicy(conn, inputs[i % inputs.length] as ValidDanmaku, now);
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    const v = edge.danmakuPolicy(conn, inputs[i % inputs.length] as ValidDanmaku, now);
    if (v.ok && v.text !== undefined) masked++;
  }
  const ns = Number(process.hrtime.bigint() - start) / messages;
  return { terms: n, compileMs: Math.round(compileMs), nsPerMessage: Math.round(ns), masked };
}

const results = [];
for (const n of [0, 100, 10_000]) results.push(await run(n));
// The cheapest work every danmaku does anyway, for scale.
const v0 = process.hrtime.bigint();
for (let i = 0; i < messages; i++) validateDanmaku({ text: texts[i % texts.length] as string }, { maxTextLength: 100 });
const validateNs = Math.round(Number(process.hrtime.bigint() - v0) / messages);
console.log(
  JSON.stringify({ messages, validateNsPerMessage: validateNs, results, filterOnly10k: new WordFilter(terms(10_000)).size }, null, 2),
);
console.log('| terms | compile (ms) | policy per danmaku (ns) | danmaku/s on one core |');
console.log('|---:|---:|---:|---:|');
for (const r of results)
  console.log(
    `| ${r.terms.toLocaleString('en')} | ${r.compileMs} | ${r.nsPerMessage} | ${Math.round(1e9 / Math.max(1, r.nsPerMessage)).toLocaleString('en')} |`,
  );
console.log(`validateDanmaku alone: ${validateNs} ns per danmaku`);
