/**
 * Core's store path alone: the real `JetStreamSequencer` on a `NatsBus`
 * against a real nats-server (JetStream, file storage), fed ingress events at
 * a fixed rate by a second connection. Reports core's CPU per event (this
 * process's CPU minus nothing: the feeder publishes pre-encoded bytes and is
 * the same in every variant) and the `store` hop (core received → JetStream
 * acknowledged) from core's own histogram. Variants run alternately in the
 * same minutes (A B A B ...), so the machine's load falls on both alike.
 *
 *   node --import tsx bench/core/store.ts [--events 20000] [--rate 2000] [--rounds 3]
 *
 * Variant `traces`: the NATS client captures a stack trace per request
 * (nats.js async traces, the client's default); `notraces`: it does not (Barrage's default).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../domain/bus-nats.js';
import { coreLatency } from '../../domain/latency.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { JetStreamSequencer } from '../../core/sequencing/sequencer-jetstream.js';
import { v1 } from '../../proto/index.js';
import { startNats } from '../../test/nats/helpers/nats-server.js';
import { hopSummary } from '../lib/prom-histogram.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const total = Number(values.events);
const rate = Number(values.rate);
const rounds = Number(values.rounds);

async function run(nats: { urls: string[] }, asyncTraces: boolean, round: number): Promise<Record<string, number | string>> {
  const bus = await NatsBus.connect({ servers: nats.urls, name: 'bench-core', asyncTraces });
  const latency = coreLatency();
  const registry = new Registry();
  latency.registerIn(registry);
  const sequencer = new JetStreamSequencer(bus, bus.nc, {
    retainEvents: 1000,
    joinHistory: 50,
    replicas: 1,
    maxAgeSeconds: 600,
    logger: createLogger('warn'),
    latency,
  });
  await sequencer.start();
  const feeder = await connect({ servers: nats.urls, name: 'bench-feeder' });
  const room = `r${round}${asyncTraces ? 't' : 'n'}`;
  const before = await registry.metrics();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++) {
        const event = v1.Event.encode({ room, tsMs: Date.now(), danmaku: { text: `m${sent}`, user: { id: 'u', name: 'u' } } }).finish();
        feeder.publish(subjects.ingress(room), event);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  while (sequencer.stats.stored < total) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  const hop = hopSummary(before, await registry.metrics(), 'barrage_core_latency_seconds')['store'];
  sequencer.stop();
  await feeder.close();
  await bus.close();
  return {
    variant: asyncTraces ? 'traces' : 'notraces',
    round,
    seconds: Number(elapsed.toFixed(2)),
    cpuUsPerEvent: Math.round((cpu.user + cpu.system) / total),
    storeP50Ms: hop?.p50Ms ?? NaN,
    storeP99Ms: hop?.p99Ms ?? NaN,
    load1: Number(loadavg()[0]?.toFixed(2)),
  };
}

const nats = await startNats();
try {
  const rows = [];
  // Warm-up (not reported): JIT, the stream's creation, the first room's load.
  for (const traces of [true, false]) await run(nats, traces, -1);
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always gets the quieter half of a round.
    for (const traces of round % 2 === 0 ? [true, false] : [false, true]) rows.push(await run(nats, traces, round));
  }
  console.table(rows);
  console.log(JSON.stringify(rows));
} finally {
  await nats.stop();
}
