/**
 * Red packets of many processes: NATS KV bucket `BARRAGE_PLAYS` (file
 * storage, replicated like the room stream, entries kept `ttlMs`). Keys:
 * `p.<room>.<id>` holds the packet with its drawn shares; `b.<room>.<id>.<n>`
 * holds the batch of grabs whose first slot is `n`. `create` (atomic: it
 * fails when the key exists) is both the packet's idempotency and the
 * grabs' compare-and-set, as `red-packet-store.ts` explains.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from '../../domain/bus-nats-errors.js';
import { chainFrom } from './red-packet-store.js';
import type { GrabRecord, RedPacketStore, StoredRedPacket } from './red-packet-store.js';

/** Options of `KvRedPacketStore.open`. */
export interface KvRedPacketStoreOptions {
  replicas: number;
  /** How long packets and grabs are kept (the bucket's TTL). */
  ttlMs: number;
  bucket?: string;
}

/** A grab as stored: short keys, since a batch holds up to a few hundred. */
type StoredGrab = [userId: string, name: string, amountCents: number, atMs: number];

const packetKey = (room: string, id: string): string => `p.${room}.${id}`;
const batchKey = (room: string, id: string, start: number): string => `b.${room}.${id}.${start}`;

/** `RedPacketStore` on a NATS KV bucket. Create with `KvRedPacketStore.open`. */
export class KvRedPacketStore implements RedPacketStore {
  private constructor(private readonly kv: KV) {}

  /** Creates (or opens) the bucket. */
  static async open(nc: NatsConnection, options: KvRedPacketStoreOptions): Promise<KvRedPacketStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_PLAYS', {
      history: 1,
      ttl: options.ttlMs,
      replicas: options.replicas,
    });
    return new KvRedPacketStore(kv);
  }

  async create(packet: StoredRedPacket): Promise<{ created: boolean; packet: StoredRedPacket }> {
    try {
      await this.kv.create(packetKey(packet.room, packet.id), JSON.stringify(packet));
      return { created: true, packet };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    const existing = await this.get(packet.room, packet.id);
    // Created before (maybe by this very call, whose answer was lost): the stored one is the packet.
    if (!existing) throw new Error('red packet entry vanished; retry');
    return { created: false, packet: existing };
  }

  async get(room: string, id: string): Promise<StoredRedPacket | undefined> {
    const entry = await this.kv.get(packetKey(room, id));
    return entry && entry.operation === 'PUT' ? entry.json<StoredRedPacket>() : undefined;
  }

  async update(packet: StoredRedPacket): Promise<void> {
    await this.kv.put(packetKey(packet.room, packet.id), JSON.stringify(packet));
  }

  async appendGrabs(room: string, id: string, start: number, grabs: readonly GrabRecord[]): Promise<boolean> {
    const value: StoredGrab[] = grabs.map((g) => [g.userId, g.name, g.amountCents, g.atMs]);
    try {
      await this.kv.create(batchKey(room, id, start), JSON.stringify(value));
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  async grabs(room: string, id: string, from = 0): Promise<GrabRecord[]> {
    const batches = new Map<number, GrabRecord[]>();
    const prefix = `b.${room}.${id}.`;
    const iter = await this.kv.history({ key: `${prefix}>` });
    for await (const entry of iter) {
      if (entry.operation !== 'PUT') continue;
      const start = Number(entry.key.slice(prefix.length));
      const stored = entry.json<StoredGrab[]>();
      batches.set(
        start,
        stored.map(([userId, name, amountCents, atMs], i) => ({ userId, name, amountCents, atMs, slot: start + i })),
      );
    }
    return chainFrom(batches, from);
  }

  async unended(): Promise<StoredRedPacket[]> {
    const out: StoredRedPacket[] = [];
    const iter = await this.kv.history({ key: 'p.>' });
    for await (const entry of iter) {
      if (entry.operation !== 'PUT') continue;
      const packet = entry.json<StoredRedPacket>();
      if (packet.endedSeq === undefined) out.push(packet);
    }
    return out;
  }

  async close(): Promise<void> {}
}
