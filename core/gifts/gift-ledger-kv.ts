/**
 * The gift ledger of many processes: NATS KV bucket `BARRAGE_GIFTS` (file
 * storage, replicated like the room stream, keys kept `ttlMs`). One key per
 * paid id (a hash of it, so any id is a valid key). `create` is the atomic
 * claim: it fails when the key exists, so of two cores (or two retries racing
 * through two edges) exactly one stores the gift.
 *
 * A claim left pending by a core that died is taken over after
 * `claimLeaseMs`; a claim this same process made whose answer was lost (NATS
 * restarted mid-request) is taken over at once, since this process knows it
 * never stored that gift.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from '../../domain/bus-nats-errors.js';
import { claimLeaseMs } from './gift-ledger.js';
import type { Claim, GiftLedger, LedgerRecord } from './gift-ledger.js';

interface Stored {
  s: 'p' | 'd';
  owner?: string;
  at: number;
  seq?: number;
  ev?: string;
  fp?: string;
}

const keyOf = (id: string): string => 'g.' + createHash('sha256').update(id).digest('base64url');

/** Options of `KvGiftLedger.open`. */
export interface KvGiftLedgerOptions {
  replicas: number;
  /** How long a paid id is remembered (the bucket's TTL). */
  ttlMs: number;
  bucket?: string;
  /** The clock claims are stamped with and leases measured by (tests move it). */
  now?: () => number;
}

/** `GiftLedger` on a NATS KV bucket. Create with `KvGiftLedger.open`. */
export class KvGiftLedger implements GiftLedger {
  /** Identifies this process's claims. */
  readonly owner = randomUUID();

  private constructor(
    private readonly kv: KV,
    private readonly now: () => number,
  ) {}

  /** Creates (or opens) the bucket. */
  static async open(nc: NatsConnection, options: KvGiftLedgerOptions): Promise<KvGiftLedger> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_GIFTS', {
      history: 1,
      ttl: options.ttlMs,
      replicas: options.replicas,
    });
    return new KvGiftLedger(kv, options.now ?? Date.now);
  }

  async claim(id: string): Promise<Claim> {
    const key = keyOf(id);
    const pending = (): string => JSON.stringify({ s: 'p', owner: this.owner, at: this.now() } satisfies Stored);
    try {
      await this.kv.create(key, pending());
      return { kind: 'claimed' };
    } catch (err) {
      // The key exists: done, or claimed by someone (maybe long ago). Anything else is a failure.
      if (!isWrongLastSequence(err)) throw err;
    }
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') throw new Error('gift ledger entry vanished; retry');
    const stored = entry.json<Stored>();
    if (stored.s === 'd') {
      return {
        kind: 'done',
        record: { seq: stored.seq ?? 0, event: Buffer.from(stored.ev ?? '', 'base64'), fingerprint: stored.fp ?? '' },
      };
    }
    if (stored.owner !== this.owner && this.now() - stored.at < claimLeaseMs) return { kind: 'busy' };
    try {
      await this.kv.update(key, pending(), entry.revision);
      return { kind: 'claimed', takenOverFrom: stored.at };
    } catch (err) {
      // Another core took it over (or finished it) first; a failure of NATS is the caller's to report.
      if (isWrongLastSequence(err)) return { kind: 'busy' };
      throw err;
    }
  }

  async complete(id: string, record: LedgerRecord): Promise<void> {
    const value: Stored = {
      s: 'd',
      at: this.now(),
      seq: record.seq,
      ev: Buffer.from(record.event).toString('base64'),
      fp: record.fingerprint,
    };
    await this.kv.put(keyOf(id), JSON.stringify(value));
  }

  async close(): Promise<void> {}
}
