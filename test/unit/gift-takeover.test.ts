/**
 * A core that takes over a dead core's stale claim on a paid id must not
 * store the event a second time when the dead core had already stored it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../domain/bus-memory.js';
import { testConfig } from '../helpers/config.js';
import type { Claim, GiftLedger, LedgerRecord } from '../../core/gifts/gift-ledger.js';
import { GiftService } from '../../core/gifts/gifts.js';
import { createLogger } from '../../domain/logger.js';
import { MemorySequencer } from '../../core/sequencing/sequencer-memory.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';

/** A ledger whose every claim is a takeover of a claim made at `at` (what KvGiftLedger answers after a core died). */
class TakeoverLedger implements GiftLedger {
  readonly completed = new Map<string, LedgerRecord>();
  constructor(private readonly at: number) {}
  async claim(): Promise<Claim> {
    return { kind: 'claimed', takenOverFrom: this.at };
  }
  async complete(id: string, record: LedgerRecord): Promise<void> {
    this.completed.set(id, record);
  }
  async close(): Promise<void> {}
}

describe('gift takeover - a stale claim is settled against what is stored', () => {
  it('gift takeover - the event the dead core stored is adopted, not stored again; one it never stored is stored', async () => {
    const logger = createLogger('silent');
    const bus = new MemoryBus();
    const sequencer = new MemorySequencer(bus, { retainEvents: 100, joinHistory: 10, logger });
    sequencer.start();
    const stored: v1.Event[] = [];
    bus.subscribe(subjects.events('r'), (d) => {
      const e = v1.Event.decode(d);
      if (e.gift) stored.push(e);
    });
    // What the dead core did: stored the gift, then died before marking it done.
    const first = new v1.Event({ room: 'r', gift: { id: 'k:pay-1', user: { id: 'ivy', name: 'Ivy' }, giftId: 'heart', count: 1 } });
    const seq = await sequencer.append('r', first);
    const ledger = new TakeoverLedger(Date.now() - 31_000);
    const gifts = new GiftService({ bus, sequencer, ledger, config: testConfig().gifts, logger });
    const request = (id: string) => new v1.PaidRequest({ id, user: { id: 'ivy', name: 'Ivy' }, giftId: 'heart', count: 1 });

    const retried = await gifts.record('r', request('k:pay-1'));
    expect(retried.error).toBe(0);
    expect(retried.seq).toBe(seq);
    const fresh = await gifts.record('r', request('k:pay-2'));
    expect(fresh.seq).toBe(seq + 1);
    await bus.flush();
    expect(stored.map((e) => e.gift?.id)).toEqual(['k:pay-1', 'k:pay-2']);
    expect(gifts.stats).toMatchObject({ recorded: 1, adopted: 1 });
    await expect.poll(() => ledger.completed.get('r/k:pay-1')?.seq).toBe(seq);
    expect(gifts.leaderboard('r').totalGifts).toBe(2);
    gifts.stop();
    sequencer.stop();
  });
});
