/**
 * Measures how long a room's moderation takes to absorb 2,000 bans on top of
 * 8,000 (single process: sequencer, core's ModerationService, the memory
 * store and the edge's copy), from the first publish until the edge's state
 * holds them all. Not a test (no timing assertions); run it by hand:
 *
 *   npx tsx test/moderation/bench-bans.ts [--base 8000] [--more 2000] [--spaced]
 *
 * `--spaced` sends the 2,000 one at a time, each after the previous one
 * reached the edge (a moderator clicking): nothing to coalesce, the worst case.
 */
import { parseArgs } from 'node:util';
import { startSingleProcess } from '../../bin/app.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';
import { testConfig } from '../helpers/config.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: '8000' },
    more: { type: 'string', default: '2000' },
    spaced: { type: 'boolean', default: false },
  },
});
const base = Number(values.base);
const more = Number(values.more);
const loaded = testConfig();
// The cap is raised past what an operator may set, so the measurement is of the cost, not of the refusal.
const config = { ...loaded, moderation: { ...loaded.moderation, maxBansPerRoom: base + more } };
const app = await startSingleProcess(config, createLogger('silent'), { processMetrics: false });
const room = 'bench-bans';
const ban = (i: number) =>
  app.bus.publish(subjects.ingress(room), v1.Event.encode({ room, ban: { userId: `user-${i}` }, actor: { id: 'bench' } }).finish());
const bans = () => app.moderation.edge.stateOf(room)?.bans.size ?? 0;
async function until(n: number): Promise<void> {
  while (bans() < n) await new Promise((r) => setImmediate(r));
}

let t = performance.now();
for (let i = 0; i < base; i++) ban(i);
await until(base);
const baseMs = performance.now() - t;
t = performance.now();
for (let i = base; i < base + more; i++) {
  ban(i);
  if (values.spaced) await until(i + 1);
}
await until(base + more);
const moreMs = performance.now() - t;
await app.moderation.service.settled();
const bytes = (await app.moderation.store.getState(room)) ? 'stored' : 'missing';
console.log(JSON.stringify({ base, baseMs: Math.round(baseMs), more, spaced: values.spaced, moreMs: Math.round(moreMs), state: bytes }));
await app.stop();
