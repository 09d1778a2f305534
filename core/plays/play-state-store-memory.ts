/**
 * Plays of one process, in memory: a restart forgets them, as it forgets
 * everything else of `barrage start`. Records and entries are copied in and
 * out, so callers see what a store on the network would give them.
 */
import type { PlayRecord, PlayStateKind, PlayStateStore } from './play-state-store.js';

interface Held {
  room: string;
  id: string;
  record: unknown;
}

/** `PlayStateStore` in memory. */
export class MemoryPlayStateStore implements PlayStateStore {
  private readonly records = new Map<string, Held>();
  private readonly entryMaps = new Map<string, Map<string, unknown>>();

  async create<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<{ created: boolean; record: T }> {
    const key = `${kind}/${room}/${id}`;
    const existing = this.records.get(key);
    if (existing) return { created: false, record: structuredClone(existing.record) as T };
    this.records.set(key, { room, id, record: structuredClone(record) });
    return { created: true, record };
  }

  async update<T>(kind: PlayStateKind, room: string, id: string, record: T): Promise<void> {
    this.records.set(`${kind}/${room}/${id}`, { room, id, record: structuredClone(record) });
  }

  async get<T>(kind: PlayStateKind, room: string, id: string): Promise<T | undefined> {
    const held = this.records.get(`${kind}/${room}/${id}`);
    return held ? (structuredClone(held.record) as T) : undefined;
  }

  async list<T>(kind: PlayStateKind): Promise<Array<PlayRecord<T>>> {
    const prefix = `${kind}/`;
    return [...this.records]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, h]) => ({ room: h.room, id: h.id, record: structuredClone(h.record) as T }));
  }

  async enter<T>(kind: PlayStateKind, room: string, id: string, user: string, entry: T, once: boolean): Promise<boolean> {
    const key = `${kind}/${room}/${id}`;
    let map = this.entryMaps.get(key);
    if (!map) this.entryMaps.set(key, (map = new Map()));
    if (once && map.has(user)) return false;
    map.set(user, structuredClone(entry));
    return true;
  }

  async entries<T>(kind: PlayStateKind, room: string, id: string): Promise<Map<string, T>> {
    const map = this.entryMaps.get(`${kind}/${room}/${id}`);
    return new Map([...(map ?? [])].map(([u, e]) => [u, structuredClone(e) as T]));
  }

  /** Forgets a play and its entries (an ended play, once nobody reads it). */
  async forget(kind: PlayStateKind, room: string, id: string): Promise<void> {
    this.records.delete(`${kind}/${room}/${id}`);
    this.entryMaps.delete(`${kind}/${room}/${id}`);
  }

  async close(): Promise<void> {}
}
