/**
 * The analytics store: where room events end up for the dashboards and the
 * stats API. Two implementations share this interface, the schema and every
 * query: `ClickHouseStore` (a ClickHouse server over HTTP) and `ChdbStore`
 * (chDB, the ClickHouse engine in this process, the single-process default).
 *
 * The interface is deliberately low level (statements, selects, raw inserts)
 * so the schema (`analytics-schema.ts`) and the queries
 * (`analytics-queries.ts`) are written once and run unchanged on both.
 */
import { BarrageError } from '../../domain/errors.js';

/** Which engine a store talks to. */
export const AnalyticsEngine = {
  Chdb: 'chdb',
  ClickHouse: 'clickhouse',
} as const;
export type AnalyticsEngine = (typeof AnalyticsEngine)[keyof typeof AnalyticsEngine];

/** Stable error codes of the analytics part. */
export const AnalyticsErrorCode = {
  /** The store did not accept a statement or an insert (down, refused, timed out). */
  Unavailable: 'ANALYTICS_UNAVAILABLE',
  /** A migration failed; the schema is not usable until it is fixed. */
  Migration: 'ANALYTICS_MIGRATION',
  /** A request to the analytics API was malformed. */
  BadRequest: 'ANALYTICS_BAD_REQUEST',
} as const;
export type AnalyticsErrorCode = (typeof AnalyticsErrorCode)[keyof typeof AnalyticsErrorCode];

/** An error of the analytics store, sink or API. */
export class AnalyticsError extends BarrageError {
  constructor(code: AnalyticsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AnalyticsError';
  }
}

/** Engine features newer than ClickHouse 18.16 that the store uses when they exist. */
export interface EngineFeatures {
  /** `insert_deduplication_token` + `non_replicated_deduplication_window` (22.2+). */
  insertDedupToken: boolean;
  /** `do_not_merge_across_partitions_select_final` makes `FINAL` cheap (20.10+). */
  finalPerPartition: boolean;
}

/** Parses `major.minor` out of a ClickHouse version string and says what it supports. */
export function featuresOf(version: string): EngineFeatures {
  const [major = 0, minor = 0] = version
    .replace(/^"|"$/g, '')
    .split('.')
    .map((p) => Number.parseInt(p, 10) || 0);
  const atLeast = (ma: number, mi: number): boolean => major > ma || (major === ma && minor >= mi);
  return { insertDedupToken: atLeast(22, 2), finalPerPartition: atLeast(20, 10) };
}

/** A ClickHouse engine that analytics can run on. */
export interface AnalyticsStore {
  readonly engine: AnalyticsEngine;
  /** The engine's version string, e.g. `18.16.1` or `26.7.2.1`. */
  version(): Promise<string>;
  /** Runs a statement that returns no rows (DDL, `INSERT ... SELECT`). */
  exec(sql: string): Promise<void>;
  /** Runs a `SELECT` and returns its rows as objects (64-bit integers may come back as strings). */
  query<T = Record<string, unknown>>(sql: string, settings?: Record<string, string | number>): Promise<T[]>;
  /**
   * Inserts TabSeparated rows into `table` (`columns` in order). `token`
   * names the batch: when the engine supports it, it is the insert
   * deduplication token, so a retried insert is dropped by the server.
   */
  insertTsv(table: string, columns: readonly string[], payload: Buffer, token: string): Promise<void>;
  close(): Promise<void>;
}

/** Quotes a string as a ClickHouse SQL literal. Every engine version reads this form. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An unsigned integer for SQL; anything else is a programming error. */
export function sqlUInt(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new AnalyticsError(AnalyticsErrorCode.BadRequest, `not an unsigned integer: ${value}`);
  return String(value);
}

/** An SQL identifier (database or table name) checked to be plain. */
export function sqlIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) throw new AnalyticsError(AnalyticsErrorCode.BadRequest, `bad identifier: ${name}`);
  return name;
}
