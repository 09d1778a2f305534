/**
 * Every setting Barrage reads, in one table: each environment variable with
 * its default and range, grouped as docs/operations.md groups them. The
 * loader (`domain/config.ts`) reads this table and nothing else from the
 * environment, and the docs test takes the list of names from it, so a new
 * setting is one line here, one field where the loader places it, and one
 * row in docs/operations.md (the test fails until the row is there).
 */
import { hostname } from 'node:os';
import { isValidRoomId } from '../subjects.js';
import { defaultLogBufferBytes, logLevels } from '../logger.js';
import { defaultFilterMaxPatterns, defaultFilterMaxTerms, maxSlowSeconds } from '../moderation.js';
import { defaultBanSeconds, maxBanSeconds, maxBansPerRoomLimit } from '../moderation-state.js';
import { defaultWebhookKinds, isWebhookKind, webhookKinds } from '../webhook-kinds.js';
import { bool, choice, httpUrl, int, list, path, text } from './parse.js';
import type { Setting } from './parse.js';

const KiB = 1 << 10;
const MiB = 1 << 20;
const GiB = 1 << 30;
const day = 86_400;

/** Default location of the development secret, relative to the working directory. */
const defaultSecretFile = '.barrage/dev-secret';

const natsUrl = (s: string): string | undefined =>
  /^(nats|tls):\/\/\S+$/.test(s) || /^[\w.-]+:\d+$/.test(s) ? undefined : 'is not a NATS URL (nats://host:4222)';

/** The settings of every process: listening, secrets, edge limits, core's history, logs and stopping. */
const processSettings = {
  host: text('HOST', '0.0.0.0'),
  port: int('PORT', 8080, 0, 65535),
  edgeId: text('BARRAGE_EDGE_ID', `${hostname()}-${process.pid}`),
  secret: text('BARRAGE_SECRET', undefined, { minBytes: 32 }),
  secretFile: path('BARRAGE_SECRET_FILE', defaultSecretFile),
  /** One process: where live sessions and registered videos are kept (clustered: the KV bucket `BARRAGE_VIDEOS`). */
  videosDir: path('BARRAGE_VIDEOS_DIR', '.barrage/videos'),
  apiKey: text('BARRAGE_API_KEY', undefined),
  batchWindowMs: int('BARRAGE_BATCH_MS', 25, 0, 1000),
  batchMaxEvents: int('BARRAGE_BATCH_MAX_EVENTS', 256, 1, 10_000),
  batchWritesPerSecond: int('BARRAGE_BATCH_WRITES', 50_000, 0, 100_000_000),
  batchMaxWindowMs: int('BARRAGE_BATCH_MAX_MS', 100, 0, 1000),
  maxTextLength: int('BARRAGE_MAX_TEXT', 100, 1, 1000),
  danmakuPerSecond: int('BARRAGE_DANMAKU_RATE', 2, 1, 1_000_000),
  danmakuBurst: int('BARRAGE_DANMAKU_BURST', 5, 1, 1_000_000),
  framesPerSecond: int('BARRAGE_FRAME_RATE', 50, 1, 1_000_000),
  framesBurst: int('BARRAGE_FRAME_BURST', 100, 1, 1_000_000),
  maxFrameBytes: int('BARRAGE_MAX_FRAME_BYTES', 4096, 256, MiB),
  maxBackpressure: int('BARRAGE_MAX_BACKPRESSURE', MiB, KiB, GiB),
  slowReaderCloseMs: int('BARRAGE_SLOW_READER_CLOSE_MS', 10_000, 100, 3_600_000),
  joinHistory: int('BARRAGE_JOIN_HISTORY', 20, 0, 1000),
  retainEvents: int('BARRAGE_RETAIN_EVENTS', 1000, 1, 1_000_000),
  guestRooms: list('BARRAGE_GUEST_ROOMS', ['*'], (room) =>
    room === '*' || isValidRoomId(room) ? undefined : 'is not a room id (1-64 of A-Z a-z 0-9 _ -) or *',
  ),
  idleTimeoutSeconds: int('BARRAGE_IDLE_TIMEOUT', 120, 8, 960),
  logLevel: choice('BARRAGE_LOG_LEVEL', 'info', Object.fromEntries(logLevels.map((l) => [l, l])), { aliases: ['LOG_LEVEL'] }),
  logBufferBytes: int('BARRAGE_LOG_BUFFER_BYTES', defaultLogBufferBytes, 64 * KiB, GiB),
  shutdownDeadlineMs: int('BARRAGE_SHUTDOWN_DEADLINE_MS', 10_000, 1000, 3_600_000),
  /** An edge's /readyz is 503 this long after SIGTERM before its sockets are closed, so load balancers stop sending new viewers first. */
  drainDelayMs: int('BARRAGE_DRAIN_DELAY_MS', 0, 0, 600_000),
  chatBudget: int('BARRAGE_CHAT_BUDGET', 0, 0, 100_000),
  overloadBuckets: int('BARRAGE_OVERLOAD_BUCKETS', 4, 1, 64),
  mergeDanmaku: bool('BARRAGE_MERGE_DANMAKU', false),
  mergeMaxLength: int('BARRAGE_MERGE_MAX_LENGTH', 8, 1, 100),
  /** Its default depends on where the secret came from (on only with the development secret). */
  demoTokens: bool('BARRAGE_DEMO_TOKENS', undefined),
  roomIdleSeconds: int('BARRAGE_ROOM_IDLE_SECONDS', 600, 10, 30 * day),
  maxBufferedBodyBytes: int('BARRAGE_MAX_BUFFERED_BODY_BYTES', 32 * MiB, 64 * KiB, GiB),
  replayBytesPerSecond: int('BARRAGE_REPLAY_BYTES_PER_SECOND', 16 * MiB, 64 * KiB, GiB),
  resumePerMinute: int('BARRAGE_RESUME_PER_MINUTE', 20, 1, 100_000),
  resumeBurst: int('BARRAGE_RESUME_BURST', 3, 1, 1000),
  moderatePerSecond: int('BARRAGE_MODERATE_RATE', 10, 1, 100_000),
  moderateBurst: int('BARRAGE_MODERATE_BURST', 30, 1, 100_000),
  ipUpgradesPerSecond: int('BARRAGE_IP_UPGRADE_RATE', 50, 1, 1_000_000),
  ipUpgradesBurst: int('BARRAGE_IP_UPGRADE_BURST', 500, 1, 1_000_000),
  ipCostlyPerSecond: int('BARRAGE_IP_COSTLY_RATE', 20, 1, 1_000_000),
  ipCostlyBurst: int('BARRAGE_IP_COSTLY_BURST', 200, 1, 1_000_000),
  ipFramesPerSecond: int('BARRAGE_IP_FRAME_RATE', 2000, 1, 10_000_000),
  ipFramesBurst: int('BARRAGE_IP_FRAME_BURST', 4000, 1, 10_000_000),
  maxConnectionsPerIp: int('BARRAGE_MAX_CONNECTIONS_PER_IP', 0, 0, 10_000_000),
  ipRefusalDelayMs: int('BARRAGE_IP_REFUSAL_DELAY_MS', 1_000, 0, 60_000),
  ipRefusalMaxHeld: int('BARRAGE_IP_REFUSAL_MAX_HELD', 2_000, 1, 100_000),
  ipAbuseStrikes: int('BARRAGE_IP_ABUSE_STRIKES', 5, 0, 100_000),
  ipPenaltySeconds: int('BARRAGE_IP_PENALTY_SECONDS', 10, 1, day),
  ipPenaltyMaxSeconds: int('BARRAGE_IP_PENALTY_MAX_SECONDS', 300, 1, day),
  ipPenaltyDecaySeconds: int('BARRAGE_IP_PENALTY_DECAY_SECONDS', 60, 1, day),
  ipPenaltyMaxAddresses: int('BARRAGE_IP_PENALTY_MAX_ADDRESSES', 100_000, 1, 10_000_000),
  trustProxy: bool('BARRAGE_TRUST_PROXY', false),
};

/** Gifts, super chats and likes. */
const giftSettings = {
  giftsFile: path('BARRAGE_GIFTS_FILE', undefined),
  receiptSecret: text('BARRAGE_RECEIPT_SECRET', undefined, { minBytes: 32 }),
  receiptMaxTtlSeconds: int('BARRAGE_RECEIPT_MAX_TTL', 600, 10, day),
  comboWindowMs: int('BARRAGE_COMBO_WINDOW_MS', 5_000, 100, 60_000),
  maxGiftCount: int('BARRAGE_GIFT_MAX_COUNT', 9_999, 1, 1_000_000),
  leaderboardSize: int('BARRAGE_LEADERBOARD_SIZE', 10, 1, 100),
  superChatMaxText: int('BARRAGE_SUPER_CHAT_MAX_TEXT', 200, 1, 1000),
  likeMaxPerFrame: int('BARRAGE_LIKE_MAX_PER_FRAME', 100, 1, 1_000_000),
  likeRate: int('BARRAGE_LIKE_RATE', 50, 1, 1_000_000),
  /** At most `BARRAGE_LIKE_PUSH_MS`: the loader checks the pair. */
  likeFlushMs: int('BARRAGE_LIKE_FLUSH_MS', 250, 10, 2_000),
  likePushMs: int('BARRAGE_LIKE_PUSH_MS', 1_000, 100, 2_000),
};

/** Moderation: emotes, automatic slow mode, bans and word filters. */
const moderationSettings = {
  emotes: list('BARRAGE_EMOTES', []),
  emotesFile: path('BARRAGE_EMOTES_FILE', undefined),
  autoSlowRate: int('BARRAGE_AUTO_SLOW_RATE', 0, 0, 1_000_000),
  autoSlowSeconds: int('BARRAGE_AUTO_SLOW_SECONDS', 5, 1, maxSlowSeconds),
  autoSlowCalmMs: int('BARRAGE_AUTO_SLOW_CALM_MS', 30_000, 0, day * 1000),
  banDefaultSeconds: int('BARRAGE_BAN_DEFAULT_SECONDS', defaultBanSeconds, 60, maxBanSeconds),
  maxBansPerRoom: int('BARRAGE_MAX_BANS_PER_ROOM', maxBansPerRoomLimit, 1, maxBansPerRoomLimit),
  filterMaxTerms: int('BARRAGE_FILTER_MAX_TERMS', defaultFilterMaxTerms, 0, 50_000),
  filterMaxPatterns: int('BARRAGE_FILTER_MAX_PATTERNS', defaultFilterMaxPatterns, 0, 1_000),
  reportHoldThreshold: int('BARRAGE_REPORT_HOLD_THRESHOLD', 5, 0, 10_000),
  reportWindowSeconds: int('BARRAGE_REPORT_WINDOW_SECONDS', 600, 10, day),
  reportsPerMinute: int('BARRAGE_REPORTS_PER_MINUTE', 5, 1, 1_000),
  joinNotices: bool('BARRAGE_JOIN_NOTICES', false),
  joinNoticeMs: int('BARRAGE_JOIN_NOTICE_MS', 3_000, 500, 60_000),
};

/** The site's moderation callback, asked by the edge before a danmaku is published (edge/moderation-hook.ts). */
const moderationHookSettings = {
  url: httpUrl('BARRAGE_MODERATION_HOOK_URL'),
  timeoutMs: int('BARRAGE_MODERATION_HOOK_TIMEOUT_MS', 300, 10, 60_000),
  policy: choice('BARRAGE_MODERATION_HOOK_POLICY', 'open', { open: 'open', closed: 'closed' } as const),
  concurrency: int('BARRAGE_MODERATION_HOOK_CONCURRENCY', 64, 1, 4_096),
  maxQueued: int('BARRAGE_MODERATION_HOOK_MAX_QUEUED', 10_000, 1, 1_000_000),
  batchMax: int('BARRAGE_MODERATION_HOOK_BATCH', 1, 1, 1_000),
  secret: text('BARRAGE_MODERATION_HOOK_SECRET', undefined, { minBytes: 16 }),
};

/** The NATS roles (`barrage edge`, `barrage core`). */
const natsSettings = {
  servers: list('BARRAGE_NATS_URL', [], natsUrl),
  replicas: choice('BARRAGE_JS_REPLICAS', 1, { '1': 1, '3': 3, '5': 5 }),
  retainSeconds: int('BARRAGE_RETAIN_SECONDS', day, 60, 3650 * day),
  coreHttpPort: int('BARRAGE_CORE_HTTP_PORT', 9470, 0, 65535),
};

/** Analytics: the sink's store, where it spills, and how long rows are kept. */
const analyticsSettings = {
  enabled: bool('BARRAGE_ANALYTICS', true),
  clickhouseUrl: httpUrl('BARRAGE_CLICKHOUSE_URL'),
  database: text('BARRAGE_ANALYTICS_DB', 'barrage', { pattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/, what: 'a database name (A-Z a-z 0-9 _)' }),
  chdbPath: path('BARRAGE_ANALYTICS_PATH', '.barrage/analytics'),
  spillDir: path('BARRAGE_ANALYTICS_SPILL', '.barrage/analytics-spill'),
  ttlDays: int('BARRAGE_ANALYTICS_TTL_DAYS', 90, 0, 36_500),
};

const webhookUrl = (s: string): string | undefined => {
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'is not an http(s) URL';
  } catch {
    return 'is not an http(s) URL';
  }
};

/** Outbound webhooks: where, what, how batched, how long retried, where kept when undeliverable. */
const webhookSettings = {
  urls: list('BARRAGE_WEBHOOK_URL', [], webhookUrl),
  secret: text('BARRAGE_WEBHOOK_SECRET', undefined, { minBytes: 16 }),
  events: list('BARRAGE_WEBHOOK_EVENTS', defaultWebhookKinds, (k) =>
    k === '*' || isWebhookKind(k) ? undefined : `is not a webhook kind (${webhookKinds.join(', ')}, or *)`,
  ),
  batchMaxEvents: int('BARRAGE_WEBHOOK_BATCH_MAX', 100, 1, 10_000),
  batchMs: int('BARRAGE_WEBHOOK_BATCH_MS', 200, 0, 60_000),
  timeoutMs: int('BARRAGE_WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
  concurrency: int('BARRAGE_WEBHOOK_CONCURRENCY', 4, 1, 256),
  retryMinMs: int('BARRAGE_WEBHOOK_RETRY_MIN_MS', 1_000, 10, 3_600_000),
  retryMaxMs: int('BARRAGE_WEBHOOK_RETRY_MAX_MS', 600_000, 10, 86_400_000),
  retryHorizonSeconds: int('BARRAGE_WEBHOOK_RETRY_HORIZON', day, 1, 30 * day),
  maxBufferEvents: int('BARRAGE_WEBHOOK_MAX_BUFFER', 100_000, 100, 100_000_000),
  spillDir: path('BARRAGE_WEBHOOK_SPILL', '.barrage/webhook-spill'),
  maxSpillBytes: int('BARRAGE_WEBHOOK_SPILL_BYTES', GiB, MiB, 1024 * GiB),
  deadDir: path('BARRAGE_WEBHOOK_DEAD_DIR', '.barrage/webhook-dead'),
  deadMax: int('BARRAGE_WEBHOOK_DEAD_MAX', 10_000, 1, 10_000_000),
};

/** The table: every setting, by the section of docs/operations.md that lists it. */
export const settings = {
  process: processSettings,
  gifts: giftSettings,
  moderation: moderationSettings,
  moderationHook: moderationHookSettings,
  nats: natsSettings,
  analytics: analyticsSettings,
  webhooks: webhookSettings,
} as const;

/** Every variable name the loader reads, aliases included: what docs/operations.md must list. */
export function settingNames(): string[] {
  const all: Setting<unknown>[] = Object.values(settings).flatMap((section) => Object.values(section) as Setting<unknown>[]);
  return all.flatMap((s) => [s.name, ...s.aliases]);
}
