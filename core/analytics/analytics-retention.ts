/**
 * How long analytics keeps its rows: whole partitions older than the
 * retention (`BARRAGE_ANALYTICS_TTL_DAYS`) are dropped, at start and then
 * every `intervalMs`. Without it the tables only grow, whoever fills them.
 *
 * Why partitions and not a table `TTL`: ClickHouse 18.16 (Debian's package,
 * which we support) has no `TTL` clause at all (it came in 19.6), while
 * `ALTER TABLE ... DROP PARTITION ID` works the same on 18.16 and on chDB's
 * current engine. Every analytics table is partitioned by time already, and
 * dropping a partition is a metadata operation: no merge rewrites the rows,
 * as a TTL would. A partition is dropped once every row in it is older than
 * the retention, measured by the engine's own clock and time zone (the same
 * that cut the partitions), so rows are kept at least the retention and at
 * most a partition longer (a day; a month for the audit log).
 *
 * Several processes running this against one server is harmless: dropping a
 * partition that is already gone is not an error.
 */
import type { Logger } from 'pino';
import type { AnalyticsStore } from './analytics-store.js';
import { sqlIdent, sqlString, sqlUInt } from './analytics-store.js';

/** The time-partitioned analytics tables and the unit of their partition ids. */
export const retainedTables: ReadonlyArray<{ table: string; unit: 'day' | 'month' }> = [
  { table: 'events', unit: 'day' }, // PARTITION BY toDate(ts): ids YYYYMMDD
  { table: 'room_minute', unit: 'day' }, // PARTITION BY toDate(minute)
  { table: 'audit', unit: 'month' }, // PARTITION BY toYYYYMM(ts): ids YYYYMM
  { table: 'replay', unit: 'day' }, // PARTITION BY toDate(ts) (migration 7)
  { table: 'replay_retracts', unit: 'day' },
];

/** Options of `AnalyticsRetention`. */
export interface RetentionOptions {
  database: string;
  /** Days rows are kept; 0 keeps them for ever (nothing is dropped). */
  ttlDays: number;
  /** How often partitions are checked after the first time. */
  intervalMs?: number;
  logger?: Logger;
}

/** What one sweep dropped, per table. */
export type RetentionReport = Record<string, string[]>;

/** Drops analytics partitions older than the retention, on a timer. */
export class AnalyticsRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionReport> | undefined;
  private readonly db: string;

  constructor(
    private readonly store: AnalyticsStore,
    private readonly options: RetentionOptions,
  ) {
    this.db = sqlIdent(options.database);
  }

  /**
   * Sweeps once `ready` resolves (the migrations: the tables exist), then
   * every `intervalMs` (default one hour). Failures are logged and tried
   * again at the next interval: retention never stops analytics.
   */
  start(ready: Promise<unknown>): void {
    if (this.options.ttlDays <= 0) return;
    const run = (): void => {
      this.sweep().catch((err: unknown) => this.options.logger?.warn({ err }, 'analytics retention sweep failed; trying again later'));
    };
    ready.then(run, () => undefined);
    this.timer = setInterval(run, this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Stops the timer; resolves once a sweep under way is over, so the store can be closed after it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Drops every partition whose rows are all older than the retention; one sweep at a time. */
  sweep(): Promise<RetentionReport> {
    this.running ??= this.dropOld().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async dropOld(): Promise<RetentionReport> {
    const report: RetentionReport = {};
    if (this.options.ttlDays <= 0) return report;
    const days = sqlUInt(this.options.ttlDays);
    // The engine's today, in the time zone its partitions were cut in.
    const [cut] = await this.store.query<{ day: number | string; month: number | string }>(
      `SELECT toYYYYMMDD(today() - ${days}) AS day, toYYYYMM(today() - ${days}) AS month`,
    );
    const cutoff = { day: Number(cut?.day ?? 0), month: Number(cut?.month ?? 0) };
    if (!cutoff.day || !cutoff.month) return report;
    for (const { table, unit } of retainedTables) {
      const parts = await this.store.query<{ id: string }>(
        `SELECT DISTINCT partition_id AS id FROM system.parts
        WHERE database = ${sqlString(this.db)} AND table = ${sqlString(table)} AND active`,
      );
      const digits = unit === 'day' ? 8 : 6;
      const old = parts
        .map((p) => String(p.id))
        .filter((id) => id.length === digits && /^\d+$/.test(id) && Number(id) < cutoff[unit])
        .sort();
      for (const id of old) await this.store.exec(`ALTER TABLE ${this.db}.${table} DROP PARTITION ID ${sqlString(id)}`);
      if (old.length) report[table] = old;
    }
    if (Object.keys(report).length) this.options.logger?.info({ dropped: report, ttlDays: this.options.ttlDays }, 'analytics retention');
    return report;
  }
}
