/**
 * Red packets of one process, in memory. A restart forgets them, as it
 * forgets everything else of `barrage start`. Ended packets are forgotten
 * `keepEndedMs` after they ended (the API can read them until then).
 */
import { chainFrom } from './red-packet-store.js';
import type { GrabRecord, RedPacketStore, StoredRedPacket } from './red-packet-store.js';

interface Entry {
  packet: StoredRedPacket;
  batches: Map<number, readonly GrabRecord[]>;
}

/** `RedPacketStore` in memory. */
export class MemoryRedPacketStore implements RedPacketStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: { keepEndedMs: number; now?: () => number } = { keepEndedMs: 86_400_000 }) {}

  private expire(): void {
    const now = (this.options.now ?? Date.now)();
    for (const [key, { packet }] of this.entries) {
      if (packet.endedSeq !== undefined && packet.expiresAtMs + this.options.keepEndedMs < now) this.entries.delete(key);
    }
  }

  async create(packet: StoredRedPacket): Promise<{ created: boolean; packet: StoredRedPacket }> {
    this.expire();
    const key = `${packet.room}/${packet.id}`;
    const existing = this.entries.get(key);
    if (existing) return { created: false, packet: structuredClone(existing.packet) };
    this.entries.set(key, { packet: structuredClone(packet), batches: new Map() });
    return { created: true, packet };
  }

  async get(room: string, id: string): Promise<StoredRedPacket | undefined> {
    const entry = this.entries.get(`${room}/${id}`);
    return entry ? structuredClone(entry.packet) : undefined;
  }

  async update(packet: StoredRedPacket): Promise<void> {
    const entry = this.entries.get(`${packet.room}/${packet.id}`);
    if (!entry) throw new Error(`no red packet ${packet.id} in ${packet.room}`);
    entry.packet = { ...structuredClone(packet), shares: entry.packet.shares };
  }

  async appendGrabs(room: string, id: string, start: number, grabs: readonly GrabRecord[]): Promise<boolean> {
    const entry = this.entries.get(`${room}/${id}`);
    if (!entry) throw new Error(`no red packet ${id} in ${room}`);
    if (entry.batches.has(start)) return false;
    entry.batches.set(
      start,
      grabs.map((g) => ({ ...g })),
    );
    return true;
  }

  async grabs(room: string, id: string, from = 0): Promise<GrabRecord[]> {
    const entry = this.entries.get(`${room}/${id}`);
    return entry ? chainFrom(entry.batches, from).map((g) => ({ ...g })) : [];
  }

  async unended(): Promise<StoredRedPacket[]> {
    return [...this.entries.values()].filter((e) => e.packet.endedSeq === undefined).map((e) => structuredClone(e.packet));
  }

  async close(): Promise<void> {}
}
