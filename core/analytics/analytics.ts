/**
 * Analytics put together: a store (a ClickHouse server when
 * `BARRAGE_CLICKHOUSE_URL` is set, chDB in this process otherwise), the
 * migrations, the sink reading sequenced events from a source, and the API
 * and dashboard routes. `bin/app.ts` calls `startAnalytics` in
 * single-process mode.
 *
 * Environment (read here, not in config.ts, so the core config stays small):
 * - `BARRAGE_ANALYTICS`: `on` (default) or `off`.
 * - `BARRAGE_CLICKHOUSE_URL`: e.g. `http://user:pass@host:8123`; unset = chDB.
 * - `BARRAGE_ANALYTICS_DB`: database name, default `barrage`.
 * - `BARRAGE_ANALYTICS_PATH`: chDB data directory, default `.barrage/analytics`.
 * - `BARRAGE_ANALYTICS_SPILL`: spill directory, default `.barrage/analytics-spill`.
 * - `BARRAGE_API_KEY`: the key of the HTTP API; without it a development key is
 *   derived from the token secret and logged at start.
 * - `BARRAGE_ANALYTICS_TTL_DAYS`: days rows are kept, default 90 (0 = for ever).
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Route } from '../../domain/http.js';
import { analyticsRoutes } from '../http/analytics-api.js';
import { AnalyticsQueries } from './analytics-queries.js';
import { AnalyticsRetention } from './analytics-retention.js';
import { migrate } from './analytics-schema.js';
import type { MigrationReport } from './analytics-schema.js';
import type { Config } from '../../domain/config.js';
import { ConfigError } from '../../domain/errors.js';
import { AnalyticsSink } from './analytics-sink.js';
import type { SinkOptions } from './analytics-sink.js';
import type { EventSource } from './analytics-source.js';
import type { AnalyticsStore } from './analytics-store.js';
import { ChdbStore } from './store-chdb.js';
import { ClickHouseStore } from './store-clickhouse.js';

/** How analytics runs; `analyticsOptionsFromEnv` builds it from the environment. */
export interface AnalyticsOptions {
  /** ClickHouse server URL; absent = chDB at `chdbPath`. */
  clickhouseUrl?: string;
  chdbPath: string;
  database: string;
  spillDir: string;
  apiKey: string;
  /** True when `apiKey` was derived (development), so the start banner can show it. */
  apiKeyDerived: boolean;
  /**
   * Days rows are kept before their partitions are dropped
   * (`BARRAGE_ANALYTICS_TTL_DAYS`, default 90); absent or 0 keeps them for ever.
   */
  ttlDays?: number;
  sink?: Partial<Omit<SinkOptions, 'database' | 'spillDir' | 'logger' | 'prepare'>>;
}

/**
 * Options from the environment, or `false` when analytics is off. Under
 * vitest analytics is off unless `BARRAGE_ANALYTICS=on`, so suites that start
 * a server for other reasons do not each open an engine.
 */
export function analyticsOptionsFromEnv(
  env: Record<string, string | undefined>,
  config: Pick<Config, 'apiKey' | 'apiKeyDerived'>,
): AnalyticsOptions | false {
  const flag = (env['BARRAGE_ANALYTICS'] ?? (env['VITEST'] ? 'off' : 'on')).toLowerCase();
  if (flag === 'off' || flag === '0' || flag === 'false') return false;
  return {
    ...(env['BARRAGE_CLICKHOUSE_URL'] ? { clickhouseUrl: env['BARRAGE_CLICKHOUSE_URL'] } : {}),
    chdbPath: resolve(env['BARRAGE_ANALYTICS_PATH'] || '.barrage/analytics'),
    database: env['BARRAGE_ANALYTICS_DB'] || 'barrage',
    spillDir: resolve(env['BARRAGE_ANALYTICS_SPILL'] || '.barrage/analytics-spill'),
    // The one API key of the process (config.ts derives it once).
    apiKey: config.apiKey,
    apiKeyDerived: config.apiKeyDerived,
    ttlDays: ttlDaysFromEnv(env['BARRAGE_ANALYTICS_TTL_DAYS']),
  };
}

/** Default of `BARRAGE_ANALYTICS_TTL_DAYS`: a quarter of data for the dashboards, bounded disk. */
export const defaultTtlDays = 90;

/** `BARRAGE_ANALYTICS_TTL_DAYS`: whole days, 0 (keep for ever) to 36,500; anything else stops the start. */
export function ttlDaysFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return defaultTtlDays;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0 || days > 36_500) {
    throw new ConfigError(`BARRAGE_ANALYTICS_TTL_DAYS must be an integer from 0 to 36500, got "${raw}"`);
  }
  return days;
}

/** Analytics running in this process. */
export interface Analytics {
  store: AnalyticsStore;
  sink: AnalyticsSink;
  queries: AnalyticsQueries;
  routes: Route[];
  /** Resolves once the migrations have been applied (the sink also waits for them). */
  ready: Promise<MigrationReport>;
  stop(): Promise<void>;
}

/** Opens the store, starts the sink on `source` and builds the routes. Never waits for a server. */
export function startAnalytics(options: AnalyticsOptions, source: EventSource, logger: Logger): Analytics {
  const store: AnalyticsStore = options.clickhouseUrl
    ? new ClickHouseStore({ url: options.clickhouseUrl })
    : new ChdbStore({ path: options.chdbPath });
  let migrated: Promise<MigrationReport> | undefined;
  const prepare = (): Promise<MigrationReport> => {
    migrated ??= migrate(store, options.database).then(
      (report) => {
        if (report.applied.length) logger.info({ engine: store.engine, applied: report.applied }, 'analytics migrations applied');
        return report;
      },
      (err: unknown) => {
        migrated = undefined; // try again on the next insert
        throw err;
      },
    );
    return migrated;
  };
  const sink = new AnalyticsSink(source, store, {
    ...options.sink,
    database: options.database,
    spillDir: options.spillDir,
    logger,
    // After a failed insert the schema is checked again: a server that came back empty is migrated anew.
    prepare: async (afterFailure) => {
      if (afterFailure) migrated = undefined;
      await prepare();
    },
  });
  sink.start();
  const ready = prepare();
  ready.catch((err: unknown) => logger.warn({ err }, 'analytics store not ready yet; events are buffered'));
  // Several cores on one server may all run it: dropping a dropped partition is a no-op.
  const retention = new AnalyticsRetention(store, { database: options.database, ttlDays: options.ttlDays ?? 0, logger });
  retention.start(ready);
  const queries = new AnalyticsQueries(store, options.database);
  const routes = analyticsRoutes({ queries, apiKey: options.apiKey, engine: store.engine, sinkStats: () => sink.stats() });
  return {
    store,
    sink,
    queries,
    routes,
    ready,
    async stop() {
      await retention.stop();
      await sink.stop();
      await store.close();
    },
  };
}

/** Analytics queries without a sink: an edge of a cluster serving the API from a ClickHouse server. */
export interface AnalyticsReader {
  queries: AnalyticsQueries;
  routes: Route[];
  stop(): Promise<void>;
}

/**
 * The analytics API and dashboard over a ClickHouse server, for processes that
 * do not run the sink (edges of a cluster; the sink runs in `barrage core`).
 * Needs `clickhouseUrl`: chDB's data lives inside the process that writes it.
 */
export function startAnalyticsReader(options: AnalyticsOptions & { clickhouseUrl: string }): AnalyticsReader {
  const store = new ClickHouseStore({ url: options.clickhouseUrl });
  const queries = new AnalyticsQueries(store, options.database);
  return {
    queries,
    routes: analyticsRoutes({ queries, apiKey: options.apiKey, engine: store.engine }),
    stop: () => store.close(),
  };
}
