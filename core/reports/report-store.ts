/**
 * Where reported danmaku are counted: one record per reported danmaku
 * (`v1.ReportRecord`: the entry moderators see, and who reported it when).
 * Every core files reports into the same store, so the count of distinct
 * reporters is the same whichever core a report reaches, and a record is
 * changed only by compare-and-set: of two cores racing on one record, one
 * writes and the other reads again and applies its change to what was written.
 * So exactly one filing crosses the hold threshold, and that core holds the
 * danmaku.
 *
 * Two implementations: `KvReportStore` (NATS KV bucket `BARRAGE_REPORTS`,
 * clustered) and `MemoryReportStore` (single process). Records end after
 * `reportTtlMs`, so the store holds at most a day of reports.
 */
import type { v1 } from '../../proto/index.js';

/** How long a record is kept after its last change. */
export const reportTtlMs = 86_400_000;
/** Most records one room keeps (the oldest go first in memory; past it, KV refuses new ones: see `ReportStore.update`). */
export const maxReportsPerRoom = 500;

/**
 * A change to one record: given what is stored (undefined: nothing yet),
 * the record to store, or undefined to leave it as it is. It may run more
 * than once (again after a lost race), so it must not have side effects.
 */
export type ReportChange = (current: v1.ReportRecord | undefined) => v1.ReportRecord | undefined;

/** The result of `update`: what is stored now, and whether this call wrote it. */
export interface ReportUpdate {
  record: v1.ReportRecord | undefined;
  written: boolean;
}

/** Stores reported danmaku records. */
export interface ReportStore {
  /** Applies `change` to the record `reportId` of `room` atomically (see the file comment). */
  update(room: string, reportId: string, change: ReportChange): Promise<ReportUpdate>;
  /** The record, if any. */
  get(room: string, reportId: string): Promise<v1.ReportRecord | undefined>;
  /** Every record of the room (at most `maxReportsPerRoom`), in no particular order. */
  list(room: string): Promise<v1.ReportRecord[]>;
  close(): Promise<void>;
}
