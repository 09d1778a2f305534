/**
 * Reports in a NATS KV bucket (`BARRAGE_REPORTS`, replicated like the room
 * stream, keys kept `reportTtlMs` after their last write), shared by every
 * core. Key `r.<room>.<report id>`: room ids are subject-safe and report ids
 * are danmaku ids (base-36 seq numbers), so both are valid key tokens.
 * Changes are compare-and-set on the entry's revision (`create` for a new
 * one), retried a few times when another core wrote first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence } from '../../domain/bus-nats-errors.js';
import { v1 } from '../../proto/index.js';
import { maxReportsPerRoom, reportTtlMs } from './report-store.js';
import type { ReportChange, ReportStore, ReportUpdate } from './report-store.js';

const keyOf = (room: string, reportId: string): string => `r.${room}.${reportId}`;
/**
 * Writers racing on one record win one per round, so a burst of N reports of
 * one danmaku needs up to N rounds: enough for a burst far past any hold
 * threshold, each retry after a short random wait so the racers spread out.
 */
const casAttempts = 64;
const retryJitterMs = 5;
/** A report id as it may appear in a key (danmaku ids are base 36; anything else is no report). */
const reportIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Options of `KvReportStore.open`. */
export interface KvReportStoreOptions {
  replicas: number;
  bucket?: string;
}

/** `ReportStore` on NATS KV. Create with `KvReportStore.open`. */
export class KvReportStore implements ReportStore {
  private constructor(private readonly kv: KV) {}

  /** Creates (or opens) the bucket. */
  static async open(nc: NatsConnection, options: KvReportStoreOptions): Promise<KvReportStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? 'BARRAGE_REPORTS', {
      history: 1,
      ttl: reportTtlMs,
      replicas: options.replicas,
    });
    return new KvReportStore(kv);
  }

  async update(room: string, reportId: string, change: ReportChange): Promise<ReportUpdate> {
    if (!reportIdPattern.test(reportId)) return { record: undefined, written: false };
    const key = keyOf(room, reportId);
    for (let attempt = 0; ; attempt++) {
      const e = await this.kv.get(key);
      const current = e && e.operation === 'PUT' ? v1.ReportRecord.decode(e.value) : undefined;
      const next = change(current);
      if (!next) return { record: current, written: false };
      // A new record in a full room is refused: the room's reports stay listable in one request.
      if (!current && (await this.count(room)) >= maxReportsPerRoom) return { record: undefined, written: false };
      const bytes = v1.ReportRecord.encode(next).finish();
      try {
        if (e) await this.kv.update(key, bytes, e.revision);
        else await this.kv.create(key, bytes);
        return { record: v1.ReportRecord.decode(bytes), written: true };
      } catch (err) {
        // Another core wrote first: read again and apply the change to what it wrote.
        if (!isWrongLastSequence(err) || attempt >= casAttempts) throw err;
        await sleep(Math.random() * retryJitterMs);
      }
    }
  }

  async get(room: string, reportId: string): Promise<v1.ReportRecord | undefined> {
    if (!reportIdPattern.test(reportId)) return undefined;
    const e = await this.kv.get(keyOf(room, reportId));
    return e && e.operation === 'PUT' ? v1.ReportRecord.decode(e.value) : undefined;
  }

  async list(room: string): Promise<v1.ReportRecord[]> {
    const out: v1.ReportRecord[] = [];
    for (const key of await this.keys(room)) {
      const e = await this.kv.get(key);
      if (e && e.operation === 'PUT') out.push(v1.ReportRecord.decode(e.value));
    }
    return out;
  }

  private async keys(room: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys(`r.${room}.*`)) keys.push(key);
    return keys;
  }

  private async count(room: string): Promise<number> {
    return (await this.keys(room)).length;
  }

  async close(): Promise<void> {
    // The bucket belongs to the connection; nothing of the store's own to stop.
  }
}
