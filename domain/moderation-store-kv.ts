/**
 * Moderation state in a NATS KV bucket (`BARRAGE_MODERATION`), for clustered
 * deployments: core writes a room's state after each control event (only if
 * newer, by compare-and-set on the entry's revision, so two cores cannot move
 * it backwards); edges watch the bucket, so an edge that starts reads every
 * room's state before it admits anyone and then follows every change.
 *
 * Keys: `state.<room>`, `filter.<room>` and `global.filter`.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from './bus-nats-errors.js';
import { v1 } from '../proto/index.js';
import { decodeModeration, encodeModeration, storedSeq } from './moderation-state.js';
import type { RoomModeration } from './moderation-state.js';
import { globalFilter } from './moderation-store.js';
import type { ModerationStore, ModerationWatcher } from './moderation-store.js';

/** Options of the KV store. */
export interface KvModerationStoreOptions {
  bucket?: string;
  replicas: number;
}

const stateKey = (room: string) => `state.${room}`;
const filterKey = (room: string) => (room === globalFilter ? 'global.filter' : `filter.${room}`);
const casAttempts = 8;

/** Moderation state and filter rules in NATS KV. */
export class KvModerationStore implements ModerationStore {
  private stops: Array<() => void> = [];

  private constructor(private readonly kv: KV) {}

  /** Opens (creating if needed) the bucket. */
  static async open(nc: NatsConnection, options: KvModerationStoreOptions): Promise<KvModerationStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_MODERATION', { replicas: options.replicas, history: 1 });
    return new KvModerationStore(kv);
  }

  async watch(watcher: ModerationWatcher): Promise<void> {
    // Everything stored up to `last` is delivered first (the last value of each key);
    // the initial load is complete once an entry at or past it has arrived.
    const status = await this.kv.status();
    const last = Number(status.streamInfo.state.last_seq);
    const iter = await this.kv.watch({ key: '>' });
    let loaded!: () => void;
    const initial = new Promise<void>((resolve) => (loaded = resolve));
    if (last === 0) loaded();
    this.stops.push(() => iter.stop());
    void (async () => {
      for await (const e of iter) {
        try {
          if (e.operation === 'PUT') {
            if (e.key.startsWith('state.')) watcher.onState(decodeModeration(e.value));
            else if (e.key === 'global.filter') watcher.onFilter(globalFilter, v1.FilterRules.decode(e.value));
            else if (e.key.startsWith('filter.')) watcher.onFilter(e.key.slice('filter.'.length), v1.FilterRules.decode(e.value));
          }
        } catch {
          // An undecodable entry is skipped; the next write of its key replaces it.
        }
        if (e.revision >= last) loaded();
      }
    })();
    return initial;
  }

  async getState(room: string): Promise<RoomModeration | undefined> {
    const e = await this.kv.get(stateKey(room));
    return e && e.operation === 'PUT' ? decodeModeration(e.value) : undefined;
  }

  async putState(state: RoomModeration): Promise<boolean> {
    const key = stateKey(state.room);
    const bytes = encodeModeration(state);
    for (let attempt = 0; ; attempt++) {
      const e = await this.kv.get(key);
      try {
        if (e && e.operation === 'PUT') {
          // Only the seq is read: decoding a state of thousands of bans before every write would cost as much as the write.
          if (storedSeq(e.value) >= state.seq) return false;
          await this.kv.update(key, bytes, e.revision);
        } else if (e) {
          await this.kv.update(key, bytes, e.revision);
        } else {
          await this.kv.create(key, bytes);
        }
        return true;
      } catch (err) {
        // Someone else wrote first: read again and compare. Anything else is a failure the caller retries.
        if (!isWrongLastSequence(err) || attempt >= casAttempts) throw err;
      }
    }
  }

  async getFilter(room: string): Promise<v1.FilterRules | undefined> {
    const e = await this.kv.get(filterKey(room));
    return e && e.operation === 'PUT' ? v1.FilterRules.decode(e.value) : undefined;
  }

  async putFilter(room: string, rules: v1.FilterRules): Promise<void> {
    await this.kv.put(filterKey(room), v1.FilterRules.encode(rules).finish());
  }

  async close(): Promise<void> {
    for (const stop of this.stops) stop();
    this.stops = [];
  }
}
