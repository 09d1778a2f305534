/**
 * Plays of many processes: NATS KV bucket `BARRAGE_PLAY_STATE` (file
 * storage, replicated like the room stream, entries kept `ttlMs`). Keys:
 * `r.<kind>.<room>.<id>` holds a play's record, `e.<kind>.<room>.<id>.<user>`
 * one user's entry, the user id base64url-encoded (any id is a valid key
 * token that way). `create` (atomic: it fails when the key exists) is both
 * the record's idempotency and the once-per-user compare-and-set.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from '../../domain/bus-nats-errors.js';
import type { PlayRecord, PlayStateKind, PlayStateStore } from './play-state-store.js';

/** Options of `KvPlayStateStore.open`. */
export interface KvPlayStateStoreOptions {
  replicas: number;
  /** How long records and entries are kept (the bucket's TTL). */
  ttlMs: number;
  bucket?: string;
}

const recordKey = (kind: PlayStateKind, room: string, id: string): string => `r.${kind}.${room}.${id}`;
const entryPrefix = (kind: PlayStateKind, room: string, id: string): string => `e.${kind}.${room}.${id}.`;
const userToken = (user: string): string => Buffer.from(user, 'utf8').toString('base64url');

/** `PlayStateStore` on a NATS KV bucket. Create with `KvPlayStateStore.open`. */
export class KvPlayStateStore implements PlayStateStore {
  private constructor(private readonly kv: KV) {}

  /** Creates (or opens) the bucket. */
  static async open(nc: NatsConnection, options: KvPlayStateStoreOptions): Promise<KvPlayStateStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_PLAY_STATE', {
      history: 1,
      ttl: options.ttlMs,
      replicas: options.replicas,
    });
    return new KvPlayStateStore(kv);
  }

  async create<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<{ created: boolean; record: T }> {
    try {
      await this.kv.create(recordKey(kind, room, id), JSON.stringify(record));
      return { created: true, record };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    const existing = await this.get<T>(kind, room, id);
    // Created before (maybe by this very call, whose answer was lost): the stored one is the play.
    if (existing === undefined) throw new Error('play record vanished; retry');
    return { created: false, record: existing };
  }

  async update<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<void> {
    await this.kv.put(recordKey(kind, room, id), JSON.stringify(record));
  }

  async get<T>(kind: PlayStateKind, room: string, id: string): Promise<T | undefined> {
    const entry = await this.kv.get(recordKey(kind, room, id));
    return entry && entry.operation === 'PUT' ? entry.json<T>() : undefined;
  }

  async list<T>(kind: PlayStateKind): Promise<Array<PlayRecord<T>>> {
    const out: Array<PlayRecord<T>> = [];
    const iter = await this.kv.history({ key: `r.${kind}.>` });
    for await (const entry of iter) {
      if (entry.operation !== 'PUT') continue;
      const [, , room = '', id = ''] = entry.key.split('.');
      out.push({ room, id, record: entry.json<T>() });
    }
    return out;
  }

  async enter<T>(kind: PlayStateKind, room: string, id: string, user: string, entry: T, once: boolean): Promise<boolean> {
    const key = entryPrefix(kind, room, id) + userToken(user);
    if (!once) {
      await this.kv.put(key, JSON.stringify(entry));
      return true;
    }
    try {
      await this.kv.create(key, JSON.stringify(entry));
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  async entries<T>(kind: PlayStateKind, room: string, id: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    const prefix = entryPrefix(kind, room, id);
    const iter = await this.kv.history({ key: `${prefix}>` });
    for await (const entry of iter) {
      if (entry.operation !== 'PUT') continue;
      out.set(Buffer.from(entry.key.slice(prefix.length), 'base64url').toString('utf8'), entry.json<T>());
    }
    return out;
  }

  async forget(kind: PlayStateKind, room: string, id: string): Promise<void> {
    await this.kv.delete(recordKey(kind, room, id));
  }

  async close(): Promise<void> {}
}
