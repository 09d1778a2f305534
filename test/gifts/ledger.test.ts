/**
 * Paid ids at their boundaries through the gift service and the KV ledger
 * (a real nats-server): an Idempotency-Key may be any 1 to 200 visible ASCII
 * characters, including `.`, `*`, `>` and `/` that NATS KV keys forbid, and
 * core prefixes it with `k:` before it reaches the ledger. The ledgers'
 * own handling of such ids is in the GiftLedger contract suite
 * (`test/contract/gift-ledger.test.ts`), run on both ledgers.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { testConfig } from '../helpers/config.js';
import { KvGiftLedger } from '../../core/gifts/gift-ledger-kv.js';
import { GiftService, maxIdempotencyKeyLength } from '../../core/gifts/gifts.js';
import { createLogger } from '../../domain/logger.js';
import { MemorySequencer } from '../../core/sequencing/sequencer-memory.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

const visibleAscii = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
/** A key of `length` visible ASCII characters, every one of them used once the key is 94 long. */
const keyOf = (length: number, salt = ''): string => (salt + visibleAscii.repeat(3)).slice(0, length);
const lengths = [1, 2, 94, 199, maxIdempotencyKeyLength];

describe('gifts - paid ids of every visible ASCII key length through the KV ledger', () => {
  let nats: NatsSetup;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.urls });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('gifts - core records a gift once for keys of 1 to 200 characters through the KV ledger, and refuses longer ids', async () => {
    const logger = createLogger('silent');
    const bus = new MemoryBus();
    const sequencer = new MemorySequencer(bus, { retainEvents: 100, joinHistory: 10, logger });
    const ledger = await KvGiftLedger.open(nc, { replicas: 1, ttlMs: 60_000, bucket: 'TEST_GIFTS_SERVICE' });
    const gifts = new GiftService({ bus, sequencer, ledger, config: testConfig().gifts, logger });
    const request = (key: string) => new v1.PaidRequest({ id: `k:${key}`, user: { id: 'ivy', name: 'Ivy' }, giftId: 'heart', count: 1 });
    try {
      for (const length of lengths) {
        const first = await gifts.record('room-2', request(keyOf(length, 's')));
        expect(first.error, `${length} characters: ${first.message}`).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
        expect(first.duplicate).toBe(false);
        const retry = await gifts.record('room-2', request(keyOf(length, 's')));
        expect(retry).toMatchObject({ duplicate: true, conflict: false, seq: first.seq });
      }
      const tooLong = await gifts.record('room-2', request(keyOf(maxIdempotencyKeyLength + 1)));
      expect(tooLong.error).toBe(ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
      expect(gifts.stats).toMatchObject({ recorded: lengths.length, duplicates: lengths.length, refused: 1 });
    } finally {
      gifts.stop();
      await ledger.close();
    }
  });
});
