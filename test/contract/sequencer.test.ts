/**
 * The `Sequencer` contract, run against `MemorySequencer` (one process) and
 * `JetStreamSequencer` (a real nats-server): numbering, order, what a join
 * and a resume are given, durable appends, paid look-ups, online counts, and
 * a table of recovery cases, the way Centrifuge runs one table of recovery
 * cases against every broker.
 *
 * Everything is driven as an edge drives it: ingress published on the bus,
 * events read from the room's event subject, history asked for by request.
 * Where the two differ by design the table says so with one capability,
 * `durable`: JetStream keeps a room's events in the stream across an
 * eviction and a restart, memory does not.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../domain/bus.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { NatsBus } from '../../domain/bus-nats.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer, SequencerOptions } from '../../core/sequencing/sequencer.js';
import { MemorySequencer } from '../../core/sequencing/sequencer-memory.js';
import { JetStreamSequencer } from '../../core/sequencing/sequencer-jetstream.js';
import { v1 } from '../../proto/index.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

/** What both implementations offer beyond the interface, for eviction. */
type TestSequencer = Sequencer & { evictIdle(now?: number): void; readonly roomCount: number };

interface Harness {
  /** The bus an edge uses. */
  edge: Bus;
  sequencer(): TestSequencer;
  /** Stops the sequencer and starts a new one: a process restart. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  /** A room's events outlive an eviction of the room and a restart of the sequencer. */
  durable: boolean;
  open(options: SequencerOptions): Promise<Harness>;
}

const retainEvents = 5;
const joinHistory = 3;
const roomIdleMs = 60_000;
const logger = createLogger('silent');

let nats: NatsSetup | undefined;

const implementations: Implementation[] = [
  {
    name: 'memory',
    durable: false,
    async open(options) {
      const bus = new MemoryBus();
      let sequencer = new MemorySequencer(bus, options);
      sequencer.start();
      return {
        edge: bus,
        sequencer: () => sequencer,
        async restart() {
          sequencer.stop();
          sequencer = new MemorySequencer(bus, options);
          sequencer.start();
        },
        async close() {
          sequencer.stop();
          await bus.close();
        },
      };
    },
  },
  {
    name: 'jetstream',
    durable: true,
    async open(options) {
      const urls = (nats as NatsSetup).urls;
      const core = await NatsBus.connect({ servers: urls, name: 'contract-core' });
      const edge = await NatsBus.connect({ servers: urls, name: 'contract-edge' });
      const make = async (): Promise<JetStreamSequencer> => {
        const s = new JetStreamSequencer(core, core.nc, { ...options, replicas: 1, maxAgeSeconds: 3600 });
        await s.start();
        await core.flush();
        return s;
      };
      let sequencer = await make();
      return {
        edge,
        sequencer: () => sequencer,
        async restart() {
          sequencer.stop();
          // The old subscriptions are gone at the server before the new ones answer.
          await core.flush();
          sequencer = await make();
        },
        async close() {
          sequencer.stop();
          await core.close();
          await edge.close();
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

/** A fresh room id per test, so tests on the one stream never share a room. */
let roomCounter = 0;
const freshRoom = (): string => `c${Date.now().toString(36)}-${++roomCounter}`;

describe.each(implementations)('sequencer contract - $name', (impl) => {
  let h: Harness;
  let room: string;
  /** Every event the edge saw in `room`, in arrival order. */
  let seen: v1.Event[];

  beforeEach(async () => {
    h = await impl.open({ retainEvents, joinHistory, roomIdleMs, logger });
    room = freshRoom();
    seen = [];
    h.edge.subscribe(subjects.events(room), (d) => seen.push(v1.Event.decode(d)));
    await h.edge.flush();
  });
  afterEach(async () => {
    await h?.close();
  });

  const publish = (r: string, event: v1.IEvent): void => h.edge.publish(subjects.ingress(r), v1.Event.encode(event).finish());
  const danmaku = (text: string, r = room): void => publish(r, { danmaku: { text, user: { id: 'u1', name: 'U' } } });
  const notice = (text: string, r = room): void => publish(r, { notice: { text, level: 'info' } });
  /** Waits until the sequencer's ring holds seq `n` (what history answers from). */
  const sequenced = async (n: number, r = room): Promise<void> => {
    await expect.poll(() => h.sequencer().seqOf(r), { timeout: 10_000 }).toBe(n);
  };
  const history = async (resume: boolean, afterSeq = 0, r = room, epoch = ''): Promise<v1.HistoryReply> =>
    v1.HistoryReply.decode(
      await h.edge.request(subjects.history(r), v1.HistoryRequest.encode({ resume, afterSeq, epoch }).finish(), 5_000),
    );
  const seqs = (reply: v1.HistoryReply): number[] => reply.events.map((e) => Number(e.seq));
  /** Sends `script` in order (`d` a danmaku, `n` a notice, a control event) and waits until history holds it. */
  const send = async (script: string): Promise<void> => {
    const before = seen.length;
    [...script].forEach((c, i) => (c === 'n' ? notice(`n${i + 1}`) : danmaku(`d${i + 1}`)));
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(before + script.length);
    await sequenced(Number(seen.at(-1)?.seq));
  };
  /** Forgets the idle room (once its last acknowledgement is back: a room with a write in flight is kept). */
  const evict = async (): Promise<void> => {
    await expect
      .poll(() => {
        h.sequencer().evictIdle(Date.now() + roomIdleMs + 1);
        return h.sequencer().roomCount;
      })
      .toBe(0);
  };

  it('sequencer contract - numbers each room 1..n in arrival order, with time, room and danmaku ids', async () => {
    const other = freshRoom();
    const otherSeen: v1.Event[] = [];
    h.edge.subscribe(subjects.events(other), (d) => otherSeen.push(v1.Event.decode(d)));
    await h.edge.flush();
    for (let i = 1; i <= 12; i++) {
      danmaku(`m${i}`);
      if (i % 3 === 0) danmaku(`o${i}`, other);
    }
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(12);
    await expect.poll(() => otherSeen.length, { timeout: 10_000 }).toBe(4);
    expect(seen.map((e) => [Number(e.seq), e.room, e.danmaku?.text, e.danmaku?.id])).toEqual(
      Array.from({ length: 12 }, (_, i) => [i + 1, room, `m${i + 1}`, (i + 1).toString(36)]),
    );
    expect(otherSeen.map((e) => [Number(e.seq), e.danmaku?.text])).toEqual([
      [1, 'o3'],
      [2, 'o6'],
      [3, 'o9'],
      [4, 'o12'],
    ]);
    expect(seen.every((e) => Number(e.tsMs) > Date.now() - 60_000)).toBe(true);
  });

  it('sequencer contract - an undecodable ingress event is dropped and the room goes on', async () => {
    h.edge.publish(subjects.ingress(room), new Uint8Array([0xff, 0xff, 0xff]));
    danmaku('after');
    await expect.poll(() => seen.map((e) => [Number(e.seq), e.danmaku?.text]), { timeout: 10_000 }).toEqual([[1, 'after']]);
  });

  it('sequencer contract - append resolves with the seq once durable; paid and control replay on resume, never on join', async () => {
    danmaku('before');
    await sequenced(1);
    const gift = new v1.Event({ gift: { id: 'k:pay-1', user: { id: 'ivy', name: 'Ivy' }, giftId: 'heart', count: 1 } });
    expect(await h.sequencer().append(room, gift)).toBe(2);
    expect(await h.sequencer().append(room, new v1.Event({ notice: { text: 'pinned rules', level: 'info' } }))).toBe(3);
    danmaku('after');
    await sequenced(4);
    await expect.poll(() => seen.map((e) => e.kind)).toEqual(['danmaku', 'gift', 'notice', 'danmaku']);
    const resumed = await history(true, 1);
    expect(resumed.recovered).toBe(true);
    expect(resumed.events.map((e) => e.kind)).toEqual(['gift', 'notice', 'danmaku']);
    const joined = await history(false);
    expect(joined.events.map((e) => e.danmaku?.text)).toEqual(['before', 'after']);
  });

  it('sequencer contract - findPaid finds a stored gift by its id from a time on, and nothing for another id', async () => {
    const since = Date.now() - 5_000;
    const seq = await h.sequencer().append(room, new v1.Event({ gift: { id: 'k:found', user: { id: 'ivy' }, giftId: 'heart', count: 2 } }));
    await h.sequencer().append(room, new v1.Event({ superChat: { id: 'k:sc', user: { id: 'bo' }, text: 'hi', priceCents: 500 } }));
    const found = await h.sequencer().findPaid(room, 'k:found', since);
    expect(found && [Number(found.seq), found.gift?.count]).toEqual([seq, 2]);
    expect((await h.sequencer().findPaid(room, 'k:sc', since))?.superChat?.text).toBe('hi');
    expect(await h.sequencer().findPaid(room, 'k:missing', since)).toBeUndefined();
    expect(await h.sequencer().findPaid(freshRoom(), 'k:found', since)).toBeUndefined();
  });

  it('sequencer contract - online counts are summed over edges and carry the latest seq without taking one', async () => {
    await send('dd');
    const report = (edgeId: string, n: number): void =>
      h.edge.publish(subjects.presence, v1.EdgePresence.encode({ edgeId, rooms: { [room]: n }, tsMs: Date.now() }).finish());
    report('e1', 3);
    report('e2', 4);
    await expect.poll(() => seen.find((e) => e.online?.count === 7), { timeout: 10_000 }).toBeDefined();
    const online = seen.find((e) => e.online?.count === 7) as v1.Event;
    expect(Number(online.seq)).toBe(2);
    expect(h.sequencer().online(room)).toBe(7);
    expect(h.sequencer().seqOf(room)).toBe(2);
  });

  it('sequencer contract - a room someone watches is kept however quiet it is; an unwatched one is forgotten', async () => {
    const quiet = freshRoom();
    danmaku('hi');
    danmaku('hi', quiet);
    await sequenced(1);
    await sequenced(1, quiet);
    h.edge.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { [room]: 2 }, tsMs: Date.now() }).finish());
    await expect.poll(() => h.sequencer().online(room)).toBe(2);
    h.sequencer().evictIdle(Date.now() + roomIdleMs + 1);
    expect(h.sequencer().roomCount).toBe(1);
    expect(h.sequencer().seqOf(room)).toBe(1);
  });

  /**
   * Recovery: what a resume (or a join) is answered. `setup` makes the
   * room's past; the request is `resume` from `after`; the answer must be
   * `recovered`, with the events of `seqs` and the room at `seq`.
   */
  interface RecoveryCase {
    name: string;
    setup: () => Promise<void>;
    resume?: boolean;
    after: number;
    want: () => { recovered: boolean; seqs: number[]; seq: number };
    /** An implementation that gets this wrong today, with why (the case runs as a known failure there). */
    knownFailure?: { implementation: string; why: string };
  }

  const recoveryCases: RecoveryCase[] = [
    { name: 'an empty room, from 0', setup: async () => {}, after: 0, want: () => ({ recovered: true, seqs: [], seq: 0 }) },
    {
      name: 'an empty room, from a seq it never had',
      setup: async () => {},
      after: 4,
      want: () => ({ recovered: false, seqs: [], seq: 0 }),
    },
    { name: 'from the latest', setup: () => send('ddd'), after: 3, want: () => ({ recovered: true, seqs: [], seq: 3 }) },
    {
      name: 'from inside the window: every class after it',
      setup: () => send('dndd'),
      after: 1,
      want: () => ({ recovered: true, seqs: [2, 3, 4], seq: 4 }),
    },
    {
      name: 'from 0 while seq 1 is retained',
      setup: () => send('dnd'),
      after: 0,
      want: () => ({ recovered: true, seqs: [1, 2, 3], seq: 3 }),
    },
    {
      name: 'from the oldest edge of the window',
      setup: () => send('dddddddd'),
      after: 3,
      want: () => ({ recovered: true, seqs: [4, 5, 6, 7, 8], seq: 8 }),
    },
    {
      name: 'from before the window: not recovered, the recent chat instead',
      setup: () => send('dddddddd'),
      after: 2,
      want: () => ({ recovered: false, seqs: [6, 7, 8], seq: 8 }),
    },
    {
      name: 'from above the latest: not recovered',
      setup: () => send('ddd'),
      after: 7,
      want: () => ({ recovered: false, seqs: [1, 2, 3], seq: 3 }),
    },
    {
      name: 'a join: the last chat only, not recovered',
      setup: () => send('dnddd'),
      resume: false,
      after: 0,
      want: () => ({ recovered: false, seqs: [3, 4, 5], seq: 5 }),
    },
    {
      name: 'after the room was evicted as idle, from the latest',
      setup: async () => {
        await send('ddd');
        await evict();
      },
      after: 3,
      want: () => ({ recovered: true, seqs: [], seq: 3 }),
    },
    {
      name: 'after the room was evicted as idle, from inside what was retained',
      setup: async () => {
        await send('ddd');
        await evict();
      },
      after: 1,
      want: () => (impl.durable ? { recovered: true, seqs: [2, 3], seq: 3 } : { recovered: false, seqs: [], seq: 3 }),
    },
    {
      name: 'after an eviction the room continues above every seq it handed out',
      setup: async () => {
        await send('ddd');
        await evict();
        danmaku('again');
        danmaku('and again');
        await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(5);
        expect(seen.map((e) => Number(e.seq))).toEqual([1, 2, 3, 4, 5]);
      },
      after: 3,
      want: () => ({ recovered: true, seqs: [4, 5], seq: 5 }),
    },
    {
      name: 'after an eviction and new events, from before the eviction',
      setup: async () => {
        await send('ddd');
        await evict();
        await send('dd');
      },
      after: 1,
      want: () => (impl.durable ? { recovered: true, seqs: [2, 3, 4, 5], seq: 5 } : { recovered: false, seqs: [4, 5], seq: 5 }),
    },
    {
      name: 'after a restart, from the latest',
      setup: async () => {
        await send('ddd');
        await h.restart();
      },
      after: 3,
      want: () => (impl.durable ? { recovered: true, seqs: [], seq: 3 } : { recovered: false, seqs: [], seq: 0 }),
    },
    {
      name: 'after a restart whose new events passed the seq the client had',
      setup: async () => {
        await send('ddd');
        await h.restart();
        await send('ddddd');
      },
      after: 3,
      want: () => (impl.durable ? { recovered: true, seqs: [4, 5, 6, 7, 8], seq: 8 } : { recovered: false, seqs: [3, 4, 5], seq: 5 }),
    },
  ];

  for (const c of recoveryCases) {
    const known = c.knownFailure?.implementation === impl.name;
    const name = `sequencer contract - recovery: ${c.name}${known ? ` (known failure: ${c.knownFailure?.why})` : ''}`;
    (known ? it.fails : it)(name, async () => {
      // The epoch the client saw before anything happened: a position is (epoch, seq).
      const { epoch } = await history(false);
      expect(epoch).not.toBe('');
      await c.setup();
      const reply = await history(c.resume ?? true, c.after, room, epoch);
      expect({ recovered: reply.recovered, seqs: seqs(reply), seq: Number(reply.seq) }).toEqual(c.want());
    });
  }
});
