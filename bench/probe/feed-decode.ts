/**
 * What core's second decode of a republished event costs (the `.ev` feed,
 * `JetStreamSequencer.onFeed`): a full `v1.Event.decode` plus `classOf`
 * against a wire-level read of the header and kind (`eventKindField`), per
 * event, in CPU time, for a typical danmaku.
 *
 *   node --import tsx bench/probe/feed-decode.ts [--events 200000]
 */
import { parseArgs } from 'node:util';
import { v1 } from '../../proto/index.js';
import { classOf, classOfField, eventKindField } from '../../domain/event-kind.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' } } });
const n = Number(values.events);
const bytes = v1.Event.encode({
  seq: 123_456,
  room: 'live',
  tsMs: Date.now(),
  danmaku: {
    id: 'ab12',
    user: { id: 'u-1234', name: 'viewer 1234', role: 1, badges: ['member'] },
    text: 'hello there 233333',
    color: 0xffffff,
  },
}).finish();

function cpuNsPerEvent(fn: () => number): number {
  let sink = 0;
  for (let i = 0; i < n / 10; i++) sink += fn(); // warm-up
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += fn();
  const c = process.cpuUsage(t);
  if (sink === -1) console.log(sink);
  return Math.round(((c.user + c.system) * 1000) / n);
}

const rounds = 5;
const decode: number[] = [];
const wire: number[] = [];
for (let r = 0; r < rounds; r++) {
  decode.push(
    cpuNsPerEvent(() => {
      const e = v1.Event.decode(bytes);
      return Number(e.seq) + classOf(e).length;
    }),
  );
  wire.push(cpuNsPerEvent(() => (classOfField(eventKindField(bytes)) ?? '').length));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ eventBytes: bytes.length, decodeNs: median(decode), wireNs: median(wire), rounds: { decode, wire } }));
