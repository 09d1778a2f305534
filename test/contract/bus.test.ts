/**
 * The `Bus` contract, one table run against every implementation: the
 * in-process `MemoryBus` and `NatsBus` on a real nats-server. Code above the
 * bus is written against the interface; whatever it may rely on is asserted
 * here for both, the way Centrifuge runs one test table against every broker.
 *
 * A "network" is what several processes share: on NATS each `client` is its
 * own connection to the one server, in one process every client is the same
 * `MemoryBus`. Waits are on conditions (and on a marker message published
 * after the messages that must not arrive), never on fixed sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../domain/bus.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { NatsBus } from '../../domain/bus-nats.js';
import { BusError } from '../../domain/errors.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

/** Both implementations count what they could not publish. */
type CountingBus = Bus & { readonly dropped: number };

interface Network {
  /** Another process's connection to the network (in one process: the same bus). */
  client(name: string): Promise<CountingBus>;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  open(): Promise<Network>;
}

let nats: NatsSetup | undefined;

const implementations: Implementation[] = [
  {
    name: 'memory',
    async open() {
      const bus = new MemoryBus();
      return { client: async () => bus, close: () => bus.close() };
    },
  },
  {
    name: 'nats',
    async open() {
      const clients: NatsBus[] = [];
      return {
        async client(name) {
          const bus = await NatsBus.connect({ servers: (nats as NatsSetup).urls, name });
          clients.push(bus);
          return bus;
        },
        async close() {
          for (const c of clients) await c.close();
        },
      };
    },
  },
];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe.each(implementations)('bus contract - $name', (impl) => {
  let network: Network;
  let pub: CountingBus;
  let sub: CountingBus;

  beforeAll(async () => {
    network = await impl.open();
    pub = await network.client('contract-pub');
    sub = await network.client('contract-sub');
  });
  afterAll(async () => {
    await network?.close();
  });

  /** Waits until `bus` has seen a marker published after everything before it. */
  async function settled(bus: CountingBus, from: CountingBus): Promise<void> {
    const subject = `marker.${Math.random().toString(36).slice(2)}`;
    let seen = false;
    const s = bus.subscribe(subject, () => (seen = true));
    await bus.flush();
    from.publish(subject, bytes('m'));
    await expect.poll(() => seen).toBe(true);
    s.unsubscribe();
  }

  it('bus contract - exact, `*` and `>` subscribers get what matches, in publish order, never inside publish', async () => {
    const got: Record<string, string[]> = { exact: [], star: [], tail: [] };
    const subs = [
      sub.subscribe('t1.room.a.ev', (d, s) => got['exact']?.push(`${s} ${text(d)}`)),
      sub.subscribe('t1.room.*.ev', (d, s) => got['star']?.push(`${s} ${text(d)}`)),
      sub.subscribe('t1.>', (d, s) => got['tail']?.push(`${s} ${text(d)}`)),
    ];
    await sub.flush();
    pub.publish('t1.room.a.ev', bytes('1'));
    pub.publish('t1.room.b.ev', bytes('2'));
    pub.publish('t1.room.b.in', bytes('3'));
    pub.publish('t1', bytes('not under t1.>'));
    for (let i = 4; i <= 50; i++) pub.publish('t1.room.a.ev', bytes(String(i)));
    expect(Object.values(got).flat()).toEqual([]);
    await expect.poll(() => got['tail']?.length).toBe(50);
    await settled(sub, pub);
    const numbers = (from: number) => Array.from({ length: 47 }, (_, i) => `t1.room.a.ev ${i + from}`);
    expect(got['exact']).toEqual(['t1.room.a.ev 1', ...numbers(4)]);
    expect(got['star']).toEqual(['t1.room.a.ev 1', 't1.room.b.ev 2', ...numbers(4)]);
    expect(got['tail']).toEqual(['t1.room.a.ev 1', 't1.room.b.ev 2', 't1.room.b.in 3', ...numbers(4)]);
    for (const s of subs) s.unsubscribe();
  });

  it('bus contract - after unsubscribe nothing more arrives', async () => {
    const got: string[] = [];
    const s = sub.subscribe('t2.x', (d) => got.push(text(d)));
    await sub.flush();
    pub.publish('t2.x', bytes('a'));
    await expect.poll(() => got).toEqual(['a']);
    s.unsubscribe();
    await sub.flush();
    pub.publish('t2.x', bytes('b'));
    await settled(sub, pub);
    expect(got).toEqual(['a']);
  });

  it('bus contract - a queue group hands each message to one member; a plain subscriber gets them all', async () => {
    const other = await network.client('contract-sub-2');
    const members: Record<string, string[]> = { a: [], b: [] };
    const plain: string[] = [];
    const subs = [
      sub.subscribe('t3.work', (d) => members['a']?.push(text(d)), { queue: 'workers' }),
      other.subscribe('t3.work', (d) => members['b']?.push(text(d)), { queue: 'workers' }),
      sub.subscribe('t3.work', (d) => plain.push(text(d))),
    ];
    await sub.flush();
    await other.flush();
    const sent = Array.from({ length: 40 }, (_, i) => String(i));
    for (const m of sent) pub.publish('t3.work', bytes(m));
    await expect.poll(() => plain.length).toBe(40);
    await expect.poll(() => (members['a']?.length ?? 0) + (members['b']?.length ?? 0)).toBe(40);
    await settled(sub, pub);
    await settled(other, pub);
    const all = [...(members['a'] ?? []), ...(members['b'] ?? [])];
    expect(all.sort((x, y) => Number(x) - Number(y))).toEqual(sent);
    expect(members['a']?.length).toBeGreaterThan(0);
    expect(members['b']?.length).toBeGreaterThan(0);
    for (const s of subs) s.unsubscribe();
  });

  it('bus contract - a request gets one answer from one of several responders, also through a wildcard', async () => {
    let served = 0;
    const responders = [
      sub.serve('t4.svc.*', (d, s) => {
        served++;
        return bytes(`one ${s} ${text(d)}`);
      }),
      sub.serve('t4.svc.*', async (d, s) => {
        served++;
        return bytes(`two ${s} ${text(d)}`);
      }),
    ];
    await sub.flush();
    for (let i = 0; i < 10; i++) {
      const answer = text(await pub.request('t4.svc.echo', bytes(`hi${i}`), 2_000));
      expect(answer).toMatch(new RegExp(`^(one|two) t4\\.svc\\.echo hi${i}$`));
    }
    expect(served).toBe(10);
    for (const r of responders) r.unsubscribe();
  });

  it('bus contract - nobody serving is NO_RESPONDER at once; a slow, throwing or rejecting responder is BUS_TIMEOUT', async () => {
    const started = Date.now();
    const none = await pub.request('t5.nobody', bytes(''), 10_000).catch((err: unknown) => err);
    expect(none).toBeInstanceOf(BusError);
    expect(none).toMatchObject({ code: 'NO_RESPONDER' });
    expect(Date.now() - started).toBeLessThan(5_000);
    const responders = [
      sub.serve('t5.slow', () => new Promise<Uint8Array>(() => {})),
      sub.serve('t5.throws', () => {
        throw new Error('a bug in a responder');
      }),
      sub.serve('t5.rejects', async () => {
        throw new Error('a failed look-up');
      }),
    ];
    await sub.flush();
    for (const subject of ['t5.slow', 't5.throws', 't5.rejects']) {
      const err = await pub.request(subject, bytes(''), 150).catch((e: unknown) => e);
      expect(err, subject).toBeInstanceOf(BusError);
      expect(err, subject).toMatchObject({ code: 'BUS_TIMEOUT' });
    }
    for (const r of responders) r.unsubscribe();
  });

  it('bus contract - connected while open; once closed it says so, drops publishes and refuses requests', async () => {
    const own = await impl.open();
    const bus = await own.client('contract-close');
    expect(bus.status()).toBe('connected');
    await own.close();
    expect(bus.status()).toBe('closed');
    const before = bus.dropped;
    expect(() => bus.publish('t6.after', bytes('x'))).not.toThrow();
    expect(bus.dropped).toBe(before + 1);
    await expect(bus.request('t6.after', bytes(''), 100)).rejects.toMatchObject({ code: 'BUS_CLOSED' });
  });
});
