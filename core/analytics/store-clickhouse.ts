/**
 * The analytics store on a ClickHouse server, over HTTP with
 * `@clickhouse/client`. Works with servers from 18.16 (Debian's package) on:
 * it sends no query parameters (18.16 has no server-side binding; queries
 * quote their values with `sqlString`) and uses TabSeparated for inserts.
 */
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { AnalyticsEngine, AnalyticsError, AnalyticsErrorCode, featuresOf } from './analytics-store.js';
import type { AnalyticsStore } from './analytics-store.js';

/** How to reach the server. */
export interface ClickHouseStoreOptions {
  /** e.g. `http://127.0.0.1:8123`; user and password may be in the URL. */
  url: string;
  username?: string;
  password?: string;
  /** Per request; an insert that takes longer counts as failed and is retried. */
  requestTimeoutMs?: number;
}

/** A ClickHouse server as an `AnalyticsStore`. */
export class ClickHouseStore implements AnalyticsStore {
  readonly engine = AnalyticsEngine.ClickHouse;
  private readonly client: ClickHouseClient;
  private cachedVersion: string | undefined;
  /**
   * The HTTP client would open new sockets after `close()`; the store
   * refuses instead, as `ChdbStore` does, so nothing writes during shutdown
   * after the store was handed back.
   */
  private closed = false;

  constructor(options: ClickHouseStoreOptions) {
    this.client = createClient({
      url: options.url,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // 18.16 knows neither the newer compression negotiation nor
      // send_progress_in_http_headers; keep the requests plain.
      compression: { request: false, response: false },
      // Failures surface as AnalyticsError to the sink, which logs them once
      // per outage; the client's own logger would print every retry.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  async version(): Promise<string> {
    if (this.cachedVersion) return this.cachedVersion;
    const rows = await this.query<{ v: string }>('SELECT version() AS v');
    this.cachedVersion = String(rows[0]?.v ?? '0');
    return this.cachedVersion;
  }

  async exec(sql: string): Promise<void> {
    this.checkOpen();
    try {
      await this.client.command({ query: sql });
    } catch (err) {
      throw unavailable('statement', err);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, settings: Record<string, string | number> = {}): Promise<T[]> {
    this.checkOpen();
    try {
      const result = await this.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings });
      return await result.json<T>();
    } catch (err) {
      throw unavailable('query', err);
    }
  }

  async insertTsv(table: string, columns: readonly string[], payload: Buffer, token: string): Promise<void> {
    this.checkOpen();
    const settings: Record<string, string> = {};
    if (featuresOf(await this.version()).insertDedupToken) settings['insert_deduplication_token'] = token;
    try {
      await this.client.insert({
        table,
        columns: columns as [string, ...string[]],
        format: 'TabSeparated',
        values: Readable.from([payload], { objectMode: false }),
        clickhouse_settings: settings,
      });
    } catch (err) {
      throw unavailable('insert', err);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new AnalyticsError(AnalyticsErrorCode.Unavailable, 'ClickHouse store is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

function unavailable(what: string, err: unknown): AnalyticsError {
  return new AnalyticsError(AnalyticsErrorCode.Unavailable, `ClickHouse ${what} failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
