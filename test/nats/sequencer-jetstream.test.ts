import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../domain/bus-nats.js';
import { createLogger } from '../../domain/logger.js';
import { JetStreamSequencer } from '../../core/sequencing/sequencer-jetstream.js';
import { v1 } from '../../proto/index.js';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { Injector, sleep } from './helpers/inject.js';

describe('sequencer-jetstream - two cores at once', () => {
  let nats: NatsSetup;
  const buses: NatsBus[] = [];
  const cores: JetStreamSequencer[] = [];
  let injector: Injector;

  beforeAll(async () => {
    nats = await startNats();
    for (const name of ['a', 'b']) {
      const bus = await NatsBus.connect({ servers: nats.urls, name: `core-${name}` });
      const core = new JetStreamSequencer(bus, bus.nc, {
        retainEvents: 1000,
        joinHistory: 20,
        replicas: 1,
        maxAgeSeconds: 3600,
        logger: createLogger('silent'),
      });
      await core.start();
      buses.push(bus);
      cores.push(core);
    }
    injector = await Injector.connect(nats.urls);
  });

  afterAll(async () => {
    for (const c of cores) c.stop();
    await injector?.close();
    for (const b of buses) await b.close();
    await nats?.stop();
  });

  it('fencing - two cores sharing one room store every event once, in seq order, with no seq twice', async () => {
    // Both cores take ingress in one queue group, so they sequence the same room
    // concurrently: the stream's duplicate check makes them agree.
    const total = 300;
    for (let n = 1; n <= total; n++) {
      injector.notice('duel', `x${n}`);
      if (n % 20 === 0) await sleep(1);
    }
    const jsm = await jetstreamManager(injector.nc);
    const read = async () => {
      const out: v1.Event[] = [];
      try {
        for await (const m of await jsm.direct.getBatch('BARRAGE_ROOMS', { seq: 1, next_by_subj: 'barrage.log.duel.*', batch: 1000 }))
          out.push(v1.Event.decode(m.data));
      } catch {
        // nothing stored yet
      }
      return out;
    };
    await expect.poll(async () => (await read()).length, { timeout: 20_000 }).toBe(total);
    const stored = await read();
    const seqs = stored.map((e) => e.seq);
    // Stream order is seq order, every seq once, and every event once.
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(total);
    expect(new Set(stored.map((e) => e.notice?.text)).size).toBe(total);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const [a, b] = cores as [JetStreamSequencer, JetStreamSequencer];
    expect(a.stats.stored + b.stats.stored).toBe(total);
    // Both took part, and collisions were settled rather than stored.
    expect(a.stats.stored).toBeGreaterThan(0);
    expect(b.stats.stored).toBeGreaterThan(0);
    console.log('fencing stats', a.stats, b.stats);
  });
});
