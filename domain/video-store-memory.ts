/**
 * Sessions and videos in memory, for single-process mode: shared by the core
 * and the edge of the one process, lost when it stops.
 */
import { VideoKind } from './video-store.js';
import type { EndResult, StartResult, VideoRecord, VideoStore } from './video-store.js';

/** Keeps copies, so no reader shares an object with a writer. */
export class MemoryVideoStore implements VideoStore {
  private readonly videos = new Map<string, VideoRecord>();
  private readonly open = new Map<string, string>();

  async get(id: string): Promise<VideoRecord | undefined> {
    const r = this.videos.get(id);
    return r ? { ...r } : undefined;
  }

  async openSession(room: string): Promise<VideoRecord | undefined> {
    const id = this.open.get(room);
    return id === undefined ? undefined : this.get(id);
  }

  async startSession(record: VideoRecord): Promise<StartResult> {
    const open = this.open.get(record.room);
    if (open !== undefined) return { ok: false, open };
    this.open.set(record.room, record.id);
    this.videos.set(record.id, { ...record });
    return { ok: true };
  }

  async endSession(id: string, endedMs: number): Promise<EndResult> {
    const r = this.videos.get(id);
    if (!r || r.kind !== VideoKind.Session) return { ok: false, reason: 'not_found' };
    if (r.endedMs !== 0) return { ok: false, reason: 'ended' };
    r.endedMs = Math.max(endedMs, r.startedMs);
    if (this.open.get(r.room) === id) this.open.delete(r.room);
    return { ok: true, record: { ...r } };
  }

  async put(record: VideoRecord): Promise<void> {
    this.videos.set(record.id, { ...record });
  }

  async close(): Promise<void> {}
}
