/**
 * The analytics store in this process: chDB, the ClickHouse engine as a
 * library, on a data directory (`.barrage/analytics` by default). This is
 * what `npm start` uses when no ClickHouse server is configured.
 *
 * libchdb binds one data directory per process, so there is at most one open
 * `ChdbStore` per path per process. Operations run one at a time: the engine
 * runs them off the event loop, and serializing keeps an insert and a
 * dashboard query from contending for the one connection.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Session } from 'chdb';
import { AnalyticsEngine, AnalyticsError, AnalyticsErrorCode, featuresOf, sqlIdent, sqlString } from './analytics-store.js';
import type { AnalyticsStore } from './analytics-store.js';

/**
 * chDB's native library costs ~150 MiB of RSS as soon as it is loaded, so it
 * is loaded when the first store opens, not when this module is imported:
 * processes that never open one (clustered edges, benchmarks) never pay it.
 */
let sessionClass: typeof Session | undefined;
function loadSession(): typeof Session {
  sessionClass ??= (createRequire(import.meta.url)('chdb') as { Session: typeof Session }).Session;
  return sessionClass;
}

/** Where chDB keeps its data. */
export interface ChdbStoreOptions {
  path: string;
}

/** chDB as an `AnalyticsStore`. */
export class ChdbStore implements AnalyticsStore {
  readonly engine = AnalyticsEngine.Chdb;
  private readonly session: Session;
  private chain: Promise<unknown> = Promise.resolve();
  private cachedVersion: string | undefined;
  private closed = false;

  constructor(options: ChdbStoreOptions) {
    mkdirSync(options.path, { recursive: true });
    const SessionClass = loadSession();
    this.session = new SessionClass(options.path);
  }

  /** Runs `fn` after every operation queued before it. */
  private serial<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw new AnalyticsError(AnalyticsErrorCode.Unavailable, 'chDB store is closed');
      return fn();
    });
    this.chain = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      if (err instanceof AnalyticsError) throw err;
      throw new AnalyticsError(AnalyticsErrorCode.Unavailable, `chDB ${what} failed: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
      });
    });
  }

  async version(): Promise<string> {
    if (this.cachedVersion) return this.cachedVersion;
    const rows = await this.query<{ v: string }>('SELECT version() AS v');
    this.cachedVersion = String(rows[0]?.v ?? '0');
    return this.cachedVersion;
  }

  exec(sql: string): Promise<void> {
    return this.serial('statement', async () => {
      await this.session.queryAsync(sql, { format: 'CSV' });
    });
  }

  query<T = Record<string, unknown>>(sql: string, settings: Record<string, string | number> = {}): Promise<T[]> {
    const withSettings = Object.keys(settings).length
      ? `${sql} SETTINGS ${Object.entries(settings)
          .map(([k, v]) => `${sqlIdent(k)} = ${typeof v === 'number' ? v : sqlString(v)}`)
          .join(', ')}`
      : sql;
    return this.serial('query', async () => {
      const text = (await this.session.queryAsync(withSettings, { format: 'JSONEachRow' })).text();
      const rows: T[] = [];
      for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line) as T);
      return rows;
    });
  }

  async insertTsv(table: string, columns: readonly string[], payload: Buffer, token: string): Promise<void> {
    const dedup = featuresOf(await this.version()).insertDedupToken;
    await this.serial('insert', async () => {
      await this.session.insert({
        table,
        columns,
        format: 'TabSeparated',
        values: payload,
        ...(dedup ? { settings: { insert_deduplication_token: token } } : {}),
      });
    });
  }

  async close(): Promise<void> {
    await this.chain;
    // A second close must not reach the native session again.
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }
}
