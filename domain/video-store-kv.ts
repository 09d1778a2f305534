/**
 * Sessions and videos in a NATS KV bucket (`BARRAGE_VIDEOS`), for clustered
 * deployments, so every core and edge agrees on which session of a room is
 * open: starting one creates `open.<room>`, which KV refuses while it
 * exists, so two starts racing on two edges give one session.
 *
 * Keys: `video.<id>` (the record as JSON: a few fields, read rarely) and
 * `open.<room>` (the id of the room's open session).
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from './bus-nats-errors.js';
import { parseVideoRecord, VideoKind } from './video-store.js';
import type { EndResult, StartResult, VideoRecord, VideoStore } from './video-store.js';

/** Options of the KV store. */
export interface KvVideoStoreOptions {
  bucket?: string;
  replicas: number;
}

const videoKey = (id: string) => `video.${id}`;
const openKey = (room: string) => `open.${room}`;
const text = new TextDecoder();
const bytes = (record: VideoRecord): Uint8Array => new TextEncoder().encode(JSON.stringify(record));

/** Sessions and videos in NATS KV. */
export class KvVideoStore implements VideoStore {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating if needed) the bucket. */
  static async open(nc: NatsConnection, options: KvVideoStoreOptions): Promise<KvVideoStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_VIDEOS', { replicas: options.replicas, history: 1 });
    return new KvVideoStore(kv);
  }

  async get(id: string): Promise<VideoRecord | undefined> {
    const e = await this.kv.get(videoKey(id));
    return e && e.operation === 'PUT' ? parseVideoRecord(text.decode(e.value)) : undefined;
  }

  async openSession(room: string): Promise<VideoRecord | undefined> {
    const e = await this.kv.get(openKey(room));
    return e && e.operation === 'PUT' ? this.get(text.decode(e.value)) : undefined;
  }

  async startSession(record: VideoRecord): Promise<StartResult> {
    // The record first: an `open.<room>` naming a record that is not there yet would answer "no session".
    await this.kv.put(videoKey(record.id), bytes(record));
    try {
      await this.kv.create(openKey(record.room), new TextEncoder().encode(record.id));
      return { ok: true };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      await this.kv.delete(videoKey(record.id));
      const open = await this.kv.get(openKey(record.room));
      return { ok: false, open: open ? text.decode(open.value) : '' };
    }
  }

  async endSession(id: string, endedMs: number): Promise<EndResult> {
    const e = await this.kv.get(videoKey(id));
    const r = e && e.operation === 'PUT' ? parseVideoRecord(text.decode(e.value)) : undefined;
    if (!e || !r || r.kind !== VideoKind.Session) return { ok: false, reason: 'not_found' };
    if (r.endedMs !== 0) return { ok: false, reason: 'ended' };
    r.endedMs = Math.max(endedMs, r.startedMs);
    try {
      // Compare-and-set: of two ends racing, one wins and the other is told the session ended.
      await this.kv.update(videoKey(id), bytes(r), e.revision);
    } catch (err) {
      if (isWrongLastSequence(err)) return { ok: false, reason: 'ended' };
      throw err;
    }
    const open = await this.kv.get(openKey(r.room));
    if (open && open.operation === 'PUT' && text.decode(open.value) === id) await this.kv.delete(openKey(r.room));
    return { ok: true, record: r };
  }

  async put(record: VideoRecord): Promise<void> {
    await this.kv.put(videoKey(record.id), bytes(record));
  }

  async close(): Promise<void> {}
}
