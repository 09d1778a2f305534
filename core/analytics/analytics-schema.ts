/**
 * The analytics schema as versioned migrations, applied at start on both
 * engines. Every statement is written in SQL that ClickHouse 18.16 (Debian's
 * package) and chDB's current engine both accept, and is idempotent
 * (`IF NOT EXISTS`), so a migration interrupted half way is simply run again.
 * Applied versions are recorded in `schema_migrations`.
 *
 * Deduplication (see docs/analytics.md): `events` is a ReplacingMergeTree
 * whose sorting key is the event's identity, so a row written twice (a
 * retried batch) collapses, and queries read it with `FINAL`. The per-minute
 * rollup is fed by a materialized view per insert block and keyed by
 * (room, minute, batch, part): a retried batch carries the same batch id and
 * the same rows, so it produces the same rollup rows, which collapse too.
 */
import type { AnalyticsStore } from './analytics-store.js';
import { AnalyticsError, AnalyticsErrorCode, featuresOf, sqlIdent, sqlUInt } from './analytics-store.js';

/** One schema version. `statements` may use `{db}` for the database name. */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
  /** Only applied on engines that have the feature; recorded either way. */
  when?: (version: string) => boolean;
}

/** Columns of `events`, in the order the sink writes them. */
export const eventColumns = [
  'room',
  'ts',
  'ts_ms',
  'seq',
  'kind',
  'user_id',
  'user_name',
  'user_role',
  'item_id',
  'text',
  'target',
  'gift_id',
  'gift_name',
  'count',
  'amount_cents',
  'extra',
  'recv_ms',
  'batch',
] as const;

/** Event kinds that are moderation actions (counted together in rollups). */
export const moderationKinds = ['retract', 'mute', 'unmute', 'ban', 'unban', 'slow_mode', 'pin', 'room_mode', 'room_close'] as const;

const moderationList = moderationKinds.map((k) => `'${k}'`).join(', ');

/**
 * Event kinds migration 4's audit view copies: the moderation actions, room
 * notices and decisions on held danmaku. Fixed (an applied migration is never
 * edited): a new kind gets a view of its own in a new migration.
 */
const auditKindsV4 = [...moderationKinds, 'notice', 'hold_decision'] as const;

const auditList = auditKindsV4.map((k) => `'${k}'`).join(', ');

/**
 * Plays in the audit log (migration 6): who opened a red packet, poll or
 * lottery and with what, and how it ended (the actor of an end is `system`).
 */
export const playAuditKinds = ['red_packet', 'red_packet_ended', 'poll', 'poll_result', 'lottery', 'lottery_result'] as const;

const playAuditList = playAuditKinds.map((k) => `'${k}'`).join(', ');

/** Event kinds in the audit log: migration 4's, the outcomes of reports (migration 5) and the plays (migration 6). */
export const auditKinds = [...auditKindsV4, 'report_outcome', ...playAuditKinds] as const;

/**
 * The `replay` row of each danmaku in `events` (migration 7): `pos` is the
 * video time in a video room (`_v_<id>`, `extra.offset_ms`) and the wall time
 * elsewhere. Fixed text: an applied migration is never edited.
 */
const replayRows = `SELECT room,
        if(substring(room, 1, 3) = '_v_', toInt64(visitParamExtractUInt(extra, 'offset_ms')), toInt64(ts_ms)) AS pos,
        seq, ts, ts_ms, item_id, user_id, user_name, user_role, text,
        toUInt8(visitParamExtractUInt(extra, 'mode')) AS mode, toUInt32(visitParamExtractUInt(extra, 'color')) AS color,
        toUInt8(visitParamExtractUInt(extra, 'size')) AS size, count
      FROM {db}.events WHERE kind = 'danmaku'`;

/** The migrations, oldest first. Never edit an applied one: add a new version. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'raw events',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.events (
        room String,
        ts DateTime,
        ts_ms UInt64,
        seq UInt64,
        kind String,
        user_id String,
        user_name String,
        user_role UInt8,
        item_id String,
        text String,
        target String,
        gift_id String,
        gift_name String,
        count UInt64,
        amount_cents UInt64,
        extra String,
        recv_ms UInt64,
        batch String
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toDate(ts)
      ORDER BY (room, ts, kind, seq, ts_ms)`,
    ],
  },
  {
    version: 2,
    name: 'per-minute room rollup',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.room_minute (
        room String,
        minute DateTime,
        batch String,
        part UInt64,
        events UInt64,
        danmaku UInt64,
        gifts UInt64,
        gift_events UInt64,
        revenue_cents UInt64,
        super_chats UInt64,
        likes UInt64,
        moderation UInt64,
        online_max UInt64,
        online_sum UInt64,
        online_samples UInt64,
        latency_sum_ms UInt64,
        latency_samples UInt64
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toDate(minute)
      ORDER BY (room, minute, batch, part)`,
      // Fed per insert block. `part` tells apart the rollup rows of one batch
      // should the engine ever cut the batch into several blocks; it is a
      // function of the rows, so a retry yields the same key again.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.room_minute_mv TO {db}.room_minute AS
      SELECT
        room,
        toStartOfMinute(ts) AS minute,
        batch,
        min(cityHash64(kind, seq, ts_ms)) AS part,
        count() AS events,
        sumIf(count, kind = 'danmaku') AS danmaku,
        sumIf(count, kind = 'gift') AS gifts,
        countIf(kind = 'gift') AS gift_events,
        sumIf(amount_cents, kind IN ('gift', 'super_chat')) AS revenue_cents,
        countIf(kind = 'super_chat') AS super_chats,
        sumIf(count, kind = 'likes') AS likes,
        countIf(kind IN (${moderationList})) AS moderation,
        maxIf(count, kind = 'online') AS online_max,
        sumIf(count, kind = 'online') AS online_sum,
        countIf(kind = 'online') AS online_samples,
        sumIf(toUInt64(recv_ms - ts_ms), kind = 'danmaku' AND recv_ms > ts_ms) AS latency_sum_ms,
        countIf(kind = 'danmaku' AND recv_ms > ts_ms) AS latency_samples
      FROM {db}.events
      GROUP BY room, minute, batch`,
    ],
  },
  {
    version: 3,
    name: 'server-side insert deduplication (22.2+)',
    when: (version) => featuresOf(version).insertDedupToken,
    statements: [
      // A retried batch (same token) is dropped at insert, before it can
      // reach the materialized view. FINAL in queries stays the guarantee.
      `ALTER TABLE {db}.events MODIFY SETTING non_replicated_deduplication_window = 1000`,
      `ALTER TABLE {db}.room_minute MODIFY SETTING non_replicated_deduplication_window = 1000`,
    ],
  },
  {
    version: 4,
    name: 'moderation audit log',
    statements: [
      // Who did what to whom, when and why: one row per moderation event,
      // copied from the events as they are inserted (the actor rides in the
      // user columns, the reason in extra). Sorted for "the room's latest
      // actions"; ReplacingMergeTree on the event identity, read with FINAL,
      // so a retried batch counts once here too.
      `CREATE TABLE IF NOT EXISTS {db}.audit (
        room String,
        ts DateTime,
        ts_ms UInt64,
        seq UInt64,
        action String,
        actor_id String,
        actor_name String,
        actor_role UInt8,
        target String,
        text String,
        count UInt64,
        extra String,
        reason String
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toYYYYMM(ts)
      ORDER BY (room, ts, seq, action, ts_ms)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.audit_mv TO {db}.audit AS
      SELECT room, ts, ts_ms, seq, kind AS action, user_id AS actor_id, user_name AS actor_name, user_role AS actor_role,
        target, text, count, extra, visitParamExtractString(extra, 'reason') AS reason
      FROM {db}.events
      WHERE kind IN (${auditList})`,
    ],
  },
  {
    version: 5,
    name: 'audit log: report outcomes',
    statements: [
      // A view of its own beside migration 4's (which stays as it is): an auto-hold or resolution
      // of a reported danmaku; the reported danmaku in target, the reporters in count.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.audit_reports_mv TO {db}.audit AS
      SELECT room, ts, ts_ms, seq, kind AS action, user_id AS actor_id, user_name AS actor_name, user_role AS actor_role,
        target, text, count, extra, visitParamExtractString(extra, 'reason') AS reason
      FROM {db}.events
      WHERE kind = 'report_outcome'`,
    ],
  },
  {
    version: 6,
    name: 'audit log: plays',
    statements: [
      // Red packets, polls and lotteries opened and ended: the starter (or `system` for an end) in
      // the actor columns, the play's id as the target, what it was in text, count and extra.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.audit_plays_mv TO {db}.audit AS
      SELECT room, ts, ts_ms, seq, kind AS action, user_id AS actor_id, user_name AS actor_name, user_role AS actor_role,
        item_id AS target, text, count, extra, '' AS reason
      FROM {db}.events
      WHERE kind IN (${playAuditList})`,
    ],
  },
  {
    version: 7,
    name: 'replay by video time',
    statements: [
      // A recording's danmaku by video time (core/replay/replay-queries.ts). `events` is sorted
      // (room, ts, kind, ...): a session's segment is a time range there, but the retraction
      // anti-join read every row of the room for its few retracts, and a video room's danmaku
      // were found by parsing `extra` row by row. Here `pos` is where a danmaku sits in its
      // room's recording: its wall time (ts_ms) in a live room, its video time (extra.offset_ms)
      // in a video room, so one primary-key range answers either; style columns are parsed
      // once, at insert. Retractions get a small table keyed (room, target). Both are
      // ReplacingMergeTree on the event identity, read with FINAL (a retried batch counts once),
      // partitioned by day like `events` (the retention drops them alike).
      `CREATE TABLE IF NOT EXISTS {db}.replay (
        room String,
        pos Int64,
        seq UInt64,
        ts DateTime,
        ts_ms UInt64,
        item_id String,
        user_id String,
        user_name String,
        user_role UInt8,
        text String,
        mode UInt8,
        color UInt32,
        size UInt8,
        count UInt64
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toDate(ts)
      ORDER BY (room, pos, seq, ts_ms)`,
      `CREATE TABLE IF NOT EXISTS {db}.replay_retracts (
        room String,
        target String,
        ts DateTime,
        ts_ms UInt64
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toDate(ts)
      ORDER BY (room, target, ts_ms)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.replay_mv TO {db}.replay AS ${replayRows}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.replay_retracts_mv TO {db}.replay_retracts AS
      SELECT room, target, ts, ts_ms FROM {db}.events WHERE kind = 'retract'`,
      // Rows written before the views existed (or while this migration ran: copied twice, one
      // after FINAL). Run again after an interruption, it copies again, harmlessly.
      `INSERT INTO {db}.replay ${replayRows}`,
      `INSERT INTO {db}.replay_retracts SELECT room, target, ts, ts_ms FROM {db}.events WHERE kind = 'retract'`,
    ],
  },
];

/** What `migrate` did. */
export interface MigrationReport {
  applied: number[];
  skipped: number[];
  current: number;
}

/** Applies every migration not yet recorded in `{db}.schema_migrations`. Safe to run concurrently with itself only once. */
export async function migrate(store: AnalyticsStore, database: string): Promise<MigrationReport> {
  const db = sqlIdent(database);
  const report: MigrationReport = { applied: [], skipped: [], current: 0 };
  try {
    await store.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await store.exec(
      `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied UInt8, at DateTime)
       ENGINE = ReplacingMergeTree() ORDER BY version`,
    );
    const rows = await store.query<{ version: number | string }>(`SELECT version FROM ${db}.schema_migrations FINAL`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const version = await store.version();
    for (const m of migrations) {
      if (done.has(m.version)) {
        report.skipped.push(m.version);
        continue;
      }
      const apply = m.when ? m.when(version) : true;
      if (apply) for (const sql of m.statements) await store.exec(sql.replaceAll('{db}', db));
      const name = m.name.replace(/'/g, '');
      await store.exec(
        `INSERT INTO ${db}.schema_migrations (version, name, applied, at) VALUES (${sqlUInt(m.version)}, '${name}', ${apply ? 1 : 0}, now())`,
      );
      report.applied.push(m.version);
    }
    report.current = Math.max(0, ...migrations.map((m) => m.version));
    return report;
  } catch (err) {
    if (err instanceof AnalyticsError) throw err;
    throw new AnalyticsError(AnalyticsErrorCode.Migration, `analytics migration failed: ${(err as Error).message}`, { cause: err });
  }
}
