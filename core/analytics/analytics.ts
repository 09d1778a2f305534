/**
 * Analytics put together: a store (a ClickHouse server when
 * `BARRAGE_CLICKHOUSE_URL` is set, chDB in this process otherwise), the
 * migrations, the sink reading sequenced events from a source, and the API
 * and dashboard routes. `bin/wiring.ts` calls `startAnalytics` in core (and
 * in the single process), `startAnalyticsReader` on a clustered edge.
 *
 * Its settings are `config.analytics` of the loaded configuration
 * (`domain/config.ts` reads `BARRAGE_ANALYTICS`, `BARRAGE_CLICKHOUSE_URL`,
 * `BARRAGE_ANALYTICS_DB`, `_PATH`, `_SPILL` and `_TTL_DAYS`); the API key is
 * the process's one key (`config.auth.apiKey`).
 */
import type { Logger } from 'pino';
import type { Route } from '../../domain/http.js';
import { analyticsRoutes } from '../http/analytics-api.js';
import { AnalyticsQueries } from './analytics-queries.js';
import { AnalyticsRetention } from './analytics-retention.js';
import { migrate } from './analytics-schema.js';
import type { MigrationReport } from './analytics-schema.js';
import type { AnalyticsConfig } from '../../domain/config.js';
import { AnalyticsSink } from './analytics-sink.js';
import type { SinkOptions } from './analytics-sink.js';
import type { EventSource } from './analytics-source.js';
import type { AnalyticsStore } from './analytics-store.js';
import { ChdbStore } from './store-chdb.js';
import { ReplayQueries } from '../replay/replay-queries.js';
import { ClickHouseStore } from './store-clickhouse.js';

/** How analytics runs: the settings (`config.analytics`, without the switch), the API key and sink tuning. */
export interface AnalyticsOptions extends Omit<AnalyticsConfig, 'enabled' | 'ttlDays'> {
  /** Key of the analytics API and dashboard (the process's one key). */
  apiKey: string;
  /** Development only: the key the dashboard hands a visitor on this machine (see `AnalyticsApiOptions.devKey`). */
  devKey?: string;
  /** Days rows are kept before their partitions are dropped; absent or 0 keeps them for ever. */
  ttlDays?: number;
  sink?: Partial<Omit<SinkOptions, 'database' | 'spillDir' | 'logger' | 'prepare'>>;
}

/** Analytics running in this process. */
export interface Analytics {
  store: AnalyticsStore;
  sink: AnalyticsSink;
  queries: AnalyticsQueries;
  /** A video's danmaku by video time (the replay API). */
  replay: ReplayQueries;
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
  const routes = analyticsRoutes({
    queries,
    apiKey: options.apiKey,
    engine: store.engine,
    sinkStats: () => sink.stats(),
    ...(options.devKey !== undefined ? { devKey: options.devKey } : {}),
  });
  return {
    store,
    sink,
    queries,
    replay: new ReplayQueries(store, options.database),
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
  replay: ReplayQueries;
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
    replay: new ReplayQueries(store, options.database),
    routes: analyticsRoutes({ queries, apiKey: options.apiKey, engine: store.engine }),
    stop: () => store.close(),
  };
}
