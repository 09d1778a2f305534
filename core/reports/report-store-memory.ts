/**
 * Reports in memory, for single-process mode: lost when the process stops,
 * like the rest of that mode's room state. Records are kept encoded (no
 * reader shares an object with the store) and bounded per room and in time.
 */
import { v1 } from '../../proto/index.js';
import { maxReportsPerRoom, reportTtlMs } from './report-store.js';
import type { ReportChange, ReportStore, ReportUpdate } from './report-store.js';

interface Stored {
  bytes: Uint8Array;
  at: number;
}

/** `ReportStore` in memory. */
export class MemoryReportStore implements ReportStore {
  /** Room -> report id -> record, oldest change first (re-inserted on each change). */
  private readonly rooms = new Map<string, Map<string, Stored>>();

  constructor(private readonly now: () => number = Date.now) {}

  async update(room: string, reportId: string, change: ReportChange): Promise<ReportUpdate> {
    const records = this.live(room);
    const stored = records?.get(reportId);
    const current = stored ? v1.ReportRecord.decode(stored.bytes) : undefined;
    const next = change(current);
    if (!next) return { record: current, written: false };
    const bytes = v1.ReportRecord.encode(next).finish();
    let map = records;
    if (!map) this.rooms.set(room, (map = new Map()));
    map.delete(reportId);
    map.set(reportId, { bytes, at: this.now() });
    if (map.size > maxReportsPerRoom) map.delete(map.keys().next().value as string);
    return { record: v1.ReportRecord.decode(bytes), written: true };
  }

  async get(room: string, reportId: string): Promise<v1.ReportRecord | undefined> {
    const stored = this.live(room)?.get(reportId);
    return stored ? v1.ReportRecord.decode(stored.bytes) : undefined;
  }

  async list(room: string): Promise<v1.ReportRecord[]> {
    return [...(this.live(room)?.values() ?? [])].map((s) => v1.ReportRecord.decode(s.bytes));
  }

  /** The room's records with the expired ones dropped (oldest first, so this stops at the first young one). */
  private live(room: string): Map<string, Stored> | undefined {
    const map = this.rooms.get(room);
    if (!map) return undefined;
    const horizon = this.now() - reportTtlMs;
    for (const [id, s] of map) {
      if (s.at > horizon) break;
      map.delete(id);
    }
    if (map.size === 0) {
      this.rooms.delete(room);
      return undefined;
    }
    return map;
  }

  async close(): Promise<void> {
    this.rooms.clear();
  }
}
