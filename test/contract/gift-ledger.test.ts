/**
 * The `GiftLedger` contract, run against the in-memory ledger (one process)
 * and the NATS KV ledger (a real nats-server, a fresh bucket per test):
 * claim, done, busy and takeover.
 *
 * "Another core" is a second ledger on its own connection to the same
 * bucket. One process has no other core: there it is the same ledger, and
 * the one difference by design is the capability `cores`: only a ledger
 * shared by several cores takes over a stale claim (its core presumed dead).
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimLeaseMs } from '../../core/gifts/gift-ledger.js';
import type { GiftLedger } from '../../core/gifts/gift-ledger.js';
import { KvGiftLedger } from '../../core/gifts/gift-ledger-kv.js';
import { MemoryGiftLedger } from '../../core/gifts/gift-ledger-memory.js';
import { maxIdempotencyKeyLength } from '../../core/gifts/gifts.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

interface Ledgers {
  ledger: GiftLedger;
  /** Another core's ledger on the same ids, with its own clock; in one process the same ledger. */
  other(now?: () => number): Promise<GiftLedger>;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  /** Shared by several cores: a stale claim is taken over, and a lost answer of this core's own claim too. */
  cores: boolean;
  open(now: () => number): Promise<Ledgers>;
}

let nats: NatsSetup | undefined;
const connections: NatsConnection[] = [];
let bucketCounter = 0;

const implementations: Implementation[] = [
  {
    name: 'memory',
    cores: false,
    async open(now) {
      const ledger = new MemoryGiftLedger({ ttlMs: 86_400_000, maxEntries: 1_000_000, now });
      return { ledger, other: async () => ledger, close: () => ledger.close() };
    },
  },
  {
    name: 'kv',
    cores: true,
    async open(now) {
      const bucket = `CONTRACT_GIFTS_${++bucketCounter}`;
      const opened: GiftLedger[] = [];
      const openOne = async (clock: () => number): Promise<GiftLedger> => {
        const nc = await connect({ servers: (nats as NatsSetup).urls });
        connections.push(nc);
        const ledger = await KvGiftLedger.open(nc, { replicas: 1, ttlMs: 60_000, bucket, now: clock });
        opened.push(ledger);
        return ledger;
      };
      return {
        ledger: await openOne(now),
        other: (clock = now) => openOne(clock),
        async close() {
          for (const l of opened) await l.close();
        },
      };
    },
  },
];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const nc of connections) await nc.close();
  await nats?.stop();
});

const record = (seq: number, fingerprint = `fp-${seq}`) => ({ seq, event: new Uint8Array([seq % 256, 1, 2]), fingerprint });

const visibleAscii = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
/** A key of `length` visible ASCII characters, every one of them used once the key is 94 long. */
const keyOf = (length: number): string => visibleAscii.repeat(3).slice(0, length);
/** The same key with its last character changed to the next visible one. */
const nextKey = (key: string): string => key.slice(0, -1) + String.fromCharCode(((key.charCodeAt(key.length - 1) - 0x20) % 94) + 0x21);

describe.each(implementations)('gift ledger contract - $name', (impl) => {
  let ledgers: Ledgers;
  let clock: number;
  const now = (): number => clock;

  beforeEach(async () => {
    clock = Date.now();
    ledgers = await impl.open(now);
  });
  afterEach(async () => {
    await ledgers?.close();
  });

  it('gift ledger contract - a new id is claimed; once complete, every claim answers done with the first record', async () => {
    const { ledger } = ledgers;
    expect(await ledger.claim('room/k:pay-1')).toEqual({ kind: 'claimed' });
    await ledger.complete('room/k:pay-1', record(7));
    const again = await ledger.claim('room/k:pay-1');
    expect(again).toMatchObject({ kind: 'done', record: { seq: 7, fingerprint: 'fp-7' } });
    expect(again.kind === 'done' && [...again.record.event]).toEqual([7, 1, 2]);
    const elsewhere = await (await ledgers.other()).claim('room/k:pay-1');
    expect(elsewhere).toMatchObject({ kind: 'done', record: { seq: 7 } });
  });

  it('gift ledger contract - ids of every visible ASCII character and length up to the limit stay apart', async () => {
    const { ledger } = ledgers;
    for (const length of [1, 2, 94, 199, maxIdempotencyKeyLength]) {
      const ids = [`room-1/k:${keyOf(length)}`, `room-1/k:${nextKey(keyOf(length))}`];
      for (const [i, id] of ids.entries()) {
        expect(await ledger.claim(id), `${length} characters`).toEqual({ kind: 'claimed' });
        await ledger.complete(id, record(length * 10 + i));
      }
      for (const [i, id] of ids.entries()) {
        const again = await ledger.claim(id);
        expect(again.kind === 'done' && again.record.seq, `${length} characters, claimed again`).toBe(length * 10 + i);
      }
    }
  });

  it('gift ledger contract - an id another core holds a fresh claim on is busy, and two claims at once make one owner', async () => {
    const { ledger } = ledgers;
    const other = await ledgers.other();
    expect(await ledger.claim('room/k:held')).toEqual({ kind: 'claimed' });
    expect(await other.claim('room/k:held')).toEqual({ kind: 'busy' });
    const answers = await Promise.all([ledger.claim('room/k:race'), other.claim('room/k:race')]);
    expect(answers.map((a) => a.kind).sort()).toEqual(['busy', 'claimed']);
  });

  it('gift ledger contract - a claim left pending past the lease is taken over by another core, saying when it was made', async () => {
    const { ledger } = ledgers;
    const claimedAt = clock;
    expect(await ledger.claim('room/k:stale')).toEqual({ kind: 'claimed' });
    // The claiming core died; another core (its clock past the lease) is asked for the same id.
    const later = await ledgers.other(() => claimedAt + claimLeaseMs + 1);
    if (impl.cores) {
      expect(await later.claim('room/k:stale')).toEqual({ kind: 'claimed', takenOverFrom: claimedAt });
      // The dead core's claim is gone: it cannot take the id back within the new lease.
      expect(await ledger.claim('room/k:stale')).toEqual({ kind: 'busy' });
    } else {
      // One process: the pending claim is this process's own, being stored right now.
      clock = claimedAt + claimLeaseMs + 1;
      expect(await later.claim('room/k:stale')).toEqual({ kind: 'busy' });
    }
  });

  it('gift ledger contract - a core asking again for its own pending claim (its first answer lost) takes it over at once where cores share the ledger', async () => {
    const { ledger } = ledgers;
    const claimedAt = clock;
    expect(await ledger.claim('room/k:lost-answer')).toEqual({ kind: 'claimed' });
    expect(await ledger.claim('room/k:lost-answer')).toEqual(impl.cores ? { kind: 'claimed', takenOverFrom: claimedAt } : { kind: 'busy' });
  });

  it('gift ledger contract - a done id is done for every core, also one past the lease', async () => {
    const { ledger } = ledgers;
    expect(await ledger.claim('room/k:done')).toEqual({ kind: 'claimed' });
    await ledger.complete('room/k:done', record(3));
    const later = await ledgers.other(() => clock + claimLeaseMs + 1);
    expect(await later.claim('room/k:done')).toMatchObject({ kind: 'done', record: { seq: 3 } });
  });
});
