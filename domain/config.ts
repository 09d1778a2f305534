/**
 * Configuration: one loader for every setting of every process.
 *
 * `loadConfig(env)` reads the table of settings (`config/settings.ts`, with
 * the parsers of `config/parse.ts`), checks every value, then reads the files
 * settings point at (the development secret, the gifts catalogue) and returns
 * one frozen tree. The CLI calls it before it starts anything, so a bad value
 * stops the process with a `ConfigError` naming the variable (exit code 2)
 * before a port is bound, a store opened or a file written. Modules never see
 * the environment: each takes its part of the tree as a parameter
 * (`EdgeServer` takes `config.edge`, the gift service `config.gifts`, and so
 * on; `bin/wiring.ts` hands the parts out), and tests build a tree with
 * `loadConfig({ ... })` instead of changing the environment of the test process.
 *
 * The tree:
 * - `process`: this process's name, log level and output, stop deadline;
 * - `auth`: the token secret (and where it came from), the API key;
 * - `edge`: everything an edge is told (listening, limits, batching, overload, demo tokens);
 * - `core`: history, retention and idle rooms of the sequencer and services, core's HTTP port;
 * - `gifts`: the catalogue, super chat tiers, receipts, combos, likes;
 * - `moderation`: emotes, automatic slow mode, ban limits, word filter sizes;
 * - `nats`: servers, replicas and stream retention of a NATS deployment;
 * - `analytics`: on or off, the store, where batches spill, retention;
 * - `webhooks`: receivers, their secret, the kinds sent, batching, retries, spill and dead letters.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { devApiKey } from './http.js';
import { defaultGifts, defaultSuperChatTiers, validateGifts, validateTiers } from './config-gifts.js';
import type { GiftConfig, GiftDef, SuperChatTier } from './config-gifts.js';
import type { ModerationOptions } from './moderation.js';
import { webhookKinds } from './webhook-kinds.js';
import type { WebhookKind } from './webhook-kinds.js';
import { settings } from './config/settings.js';
import { validateEmotes } from './emotes.js';
import type { EmoteDef } from './emotes.js';
import type { Env, Setting } from './config/parse.js';

export type { Env };

/** Everything an edge is told; `EdgeServer` takes it. */
export interface EdgeConfig {
  host: string;
  port: number;
  /** Identifies this edge in logs, metrics and presence reports. */
  edgeId: string;
  /** HS256 secret of viewer tokens, checked at upgrade. */
  secret: Uint8Array;
  /** Key site backends send as `Authorization: Bearer <key>` on /api/v1. */
  apiKey: string;
  /** One Batch frame per room per window. */
  batchWindowMs: number;
  /** Flush a room's batch early when it holds this many events. */
  batchMaxEvents: number;
  /**
   * Socket writes per second one room may cost this edge before its window
   * grows (frames per second × its viewers here); 0 keeps every window at
   * `batchWindowMs`.
   */
  batchWritesPerSecond: number;
  /** The most a room's window grows to. */
  batchMaxWindowMs: number;
  maxTextLength: number;
  danmakuPerSecond: number;
  danmakuBurst: number;
  /** All frames of one connection, danmaku or not. */
  framesPerSecond: number;
  framesBurst: number;
  /** Larger frames get FRAME_TOO_LARGE; four times this closes with 1009. */
  maxFrameBytes: number;
  /** Bytes queued for one socket before batches are skipped for it. */
  maxBackpressure: number;
  /** A socket skipping batches for this long is closed (4001). */
  slowReaderCloseMs: number;
  /** Rooms that admit read-only guests without a token: `*`, or a set (empty: none). */
  guestRooms: '*' | ReadonlySet<string>;
  idleTimeoutSeconds: number;
  /** Chat (danmaku) each viewer is sent per second at most; above it chat is sampled. 0 = no budget. */
  chatBudget: number;
  /** Viewer groups of a room that see different chat samples under overload. */
  overloadBuckets: number;
  /** Merge identical short danmaku inside one batch ("233 x12"). */
  mergeDanmaku: boolean;
  /** Longest text (code points) that is merged. */
  mergeMaxLength: number;
  /**
   * The demo page at `/` mints a viewer token for every visitor. On by default
   * only with the development secret: with a real secret it would hand any
   * visitor a token for any room.
   */
  demoTokens: boolean;
  /** Bytes all HTTP requests of a process may hold buffered at once; past it new bodies get 503. */
  maxBufferedBodyBytes: number;
  /** Bytes of history one edge replays per second to resumes (burst: a quarter second's worth, 64 KiB reserved per resume until its size is known); past it resumes are answered as joins. */
  replayBytesPerSecond: number;
  /** Per connection: resumes per minute and burst (each one reads history). */
  resumePerMinute: number;
  resumeBurst: number;
  /** Per connection: moderation frames per second and burst. */
  moderatePerSecond: number;
  moderateBurst: number;
  /** Per client address (see edge/ip-budget.ts): upgrades, costly frames (resume, moderation) and all frames. */
  ipUpgradesPerSecond: number;
  ipUpgradesBurst: number;
  ipCostlyPerSecond: number;
  ipCostlyBurst: number;
  ipFramesPerSecond: number;
  ipFramesBurst: number;
  /** Open connections per client address; 0 = no limit. */
  maxConnectionsPerIp: number;
  /** An upgrade refused for its address's budget waits this long for its 429 (0: at once), so reconnect loops slow down. */
  ipRefusalDelayMs: number;
  /** Refusals that may wait at once; past it a refused upgrade is closed without an answer. */
  ipRefusalMaxHeld: number;
  /**
   * Closes for abuse (4501, 4500, 1009) from one address before its upgrades
   * are refused for a penalty window (edge/ip-penalty.ts); 0 = off.
   */
  ipAbuseStrikes: number;
  /** The first penalty window; it doubles with each penalty up to `ipPenaltyMaxSeconds`. */
  ipPenaltySeconds: number;
  ipPenaltyMaxSeconds: number;
  /** Quiet time that forgives one strike and one doubling. */
  ipPenaltyDecaySeconds: number;
  /** Addresses the penalty table remembers at most (least recently struck forgotten first). */
  ipPenaltyMaxAddresses: number;
  /** Take the client address from the last `X-Forwarded-For` entry (only behind a proxy that sets it). */
  trustProxy: boolean;
  /**
   * After SIGTERM, how long `/readyz` answers 503 (and new upgrades are
   * refused) while the listening socket and every connection stay up, so a
   * load balancer or Kubernetes takes the edge out before its viewers are told
   * to reconnect; otherwise they could reconnect to this same edge.
   */
  drainDelayMs: number;
}

/** What core's sequencer and services are told. */
export interface CoreConfig {
  /** Address core's own HTTP server listens on (`HOST`), when core runs as its own process. */
  host: string;
  /** Port of core's /healthz, /readyz and /metrics in `barrage core`; 0 picks a free one. */
  httpPort: number;
  /** Chat events replayed to a viewer who joins. */
  joinHistory: number;
  /** Events per room kept for resume. */
  retainEvents: number;
  /**
   * Per-room state (sequencer rings, moderation bookkeeping, counters) of a
   * room with no event and no viewer for this long is freed, so rooms that
   * were used once (or made up by a guest) do not cost memory for good.
   */
  roomIdleMs: number;
}

/** This process as a whole. */
export interface ProcessConfig {
  /** The process's name in logs, presence, session ids and its NATS client name (`BARRAGE_EDGE_ID`). */
  id: string;
  logLevel: string;
  /** Log output that may wait for a slow stdout reader before lines are dropped (never blocks the loop). */
  logBufferBytes: number;
  /** SIGTERM/SIGINT to the process being gone, enforced from a watchdog thread (bin/shutdown-watchdog.ts). */
  shutdownDeadlineMs: number;
  /** One process: the directory of live sessions and registered videos (`BARRAGE_VIDEOS_DIR`). */
  videosDir: string;
}

/** Secrets and keys. */
export interface AuthConfig {
  /** HS256 secret of viewer tokens. */
  secret: Uint8Array;
  /** Where the secret came from, for the start banner. */
  secretSource: 'env' | 'file';
  /** The development secret's file (made once when `BARRAGE_SECRET` is unset). */
  secretFile: string;
  /** Key site backends send as `Authorization: Bearer <key>` on /api/v1. */
  apiKey: string;
  /** True when `apiKey` was derived from the secret (development), so the start log shows it. */
  apiKeyDerived: boolean;
}

/** What an edge or core process needs to join NATS. */
export interface NatsConfig {
  /** Server URLs; several for a cluster; empty in single-process mode. */
  servers: readonly string[];
  /** JetStream replicas of the room stream and the KV buckets. */
  replicas: number;
  /** Seconds stored room events are kept (core only). */
  retainSeconds: number;
}

/** How analytics runs. */
export interface AnalyticsConfig {
  /** Off: no sink, no analytics routes, no dashboard. */
  enabled: boolean;
  /** ClickHouse server URL; absent = chDB at `chdbPath`. */
  clickhouseUrl?: string;
  chdbPath: string;
  database: string;
  spillDir: string;
  /** Days rows are kept before their partitions are dropped; 0 keeps them for ever. */
  ttlDays: number;
}

/** The site's moderation callback (edge/moderation-hook.ts); off without `url`. */
export interface ModerationHookConfig {
  /** Where each danmaku is POSTed before it is published. */
  url?: string;
  /** A danmaku waits at most this long for the answer, queueing included. */
  timeoutMs: number;
  /** On timeout, error, a bad answer or a full queue: `open` publishes, `closed` holds for a moderator. */
  policy: 'open' | 'closed';
  /** Requests in flight at once per edge (keep-alive connections). */
  concurrency: number;
  /** Danmaku waiting for a free request; past it the policy applies at once. */
  maxQueued: number;
  /** Danmaku per request: 1 (the default) one JSON object each; more a JSON array of what waits, answered by an array. */
  batchMax: number;
  /** Signs each request (`Barrage-Signature`, as webhooks are signed) when set. */
  secret?: string;
}

/** Outbound webhooks (`core/webhooks/`); off when `urls` is empty. */
export interface WebhookConfig {
  /** Every receiver gets every event of the kinds in `kinds`; empty: webhooks off. */
  urls: readonly string[];
  /** HMAC key of `Barrage-Signature`. */
  secret: Uint8Array;
  /** True when `BARRAGE_WEBHOOK_SECRET` is unset and the secret was derived from the token secret (logged at start). */
  secretDerived: boolean;
  kinds: ReadonlySet<WebhookKind>;
  batchMaxEvents: number;
  batchMs: number;
  timeoutMs: number;
  /** Requests in flight per receiver. */
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** How long an event is retried (from when it arrived) before its batch becomes a dead letter. */
  retryHorizonMs: number;
  /** Events held in memory (all receivers) before the source is paused, or the rest spilled to disk. */
  maxBufferEvents: number;
  spillDir: string;
  maxSpillBytes: number;
  /** Where dead letters are kept in one process (clustered: a JetStream stream). */
  deadDir: string;
  deadMax: number;
}

/** Every setting of a process, as one frozen tree (see the file comment for its parts). */
export interface Config {
  readonly process: Readonly<ProcessConfig>;
  readonly auth: Readonly<AuthConfig>;
  readonly edge: Readonly<EdgeConfig>;
  readonly core: Readonly<CoreConfig>;
  readonly gifts: Readonly<GiftConfig>;
  readonly moderation: Readonly<Required<ModerationOptions>>;
  readonly moderationHook: Readonly<ModerationHookConfig>;
  readonly nats: Readonly<NatsConfig>;
  readonly analytics: Readonly<AnalyticsConfig>;
  readonly webhooks: Readonly<WebhookConfig>;
}

/** What the command being run needs beyond the settings. */
export interface LoadOptions {
  /**
   * Make the development secret file when `BARRAGE_SECRET` is unset
   * (`barrage start`, `barrage token`; default). Off for `barrage edge|core`:
   * processes of one deployment must share the site's secret.
   */
  createSecret?: boolean;
  /** `BARRAGE_NATS_URL` (or `--nats`) must be given: `barrage edge` and `barrage core`. */
  requireNats?: boolean;
}

type Values<S> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Reads a section of the table; a bad value is recorded in `errors` so every one is reported at once. */
function readSection<S extends Record<string, Setting<unknown>>>(section: S, env: Env, errors: ConfigError[]): Values<S> {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(section)) {
    try {
      out[key] = setting.read(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
    }
  }
  return out as Values<S>;
}

/**
 * The ports a process of this environment listens on, read by the same
 * settings as `loadConfig` but without the secret or any file: what
 * `barrage health` (the image's HEALTHCHECK) needs to find the process it checks.
 */
export function loadPorts(env: Env): { edge: number; core: number } {
  const errors: ConfigError[] = [];
  const { port } = readSection({ port: settings.process.port }, env, errors);
  const { coreHttpPort } = readSection({ coreHttpPort: settings.nats.coreHttpPort }, env, errors);
  throwAll(errors);
  return { edge: port, core: coreHttpPort };
}

function throwAll(errors: ConfigError[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new ConfigError(errors.map((e) => e.message).join('\n'), { cause: new AggregateError(errors) });
  }
}

/**
 * The token secret: `BARRAGE_SECRET`, or else the development secret file,
 * made once with 32 random bytes (mode 0600) when `create` is set.
 */
function loadSecret(fromEnv: string | undefined, file: string, create: boolean): { secret: Uint8Array; source: 'env' | 'file' } {
  if (fromEnv !== undefined) return { secret: new TextEncoder().encode(fromEnv), source: 'env' };
  if (!existsSync(file)) {
    if (!create) {
      throw new ConfigError(`no BARRAGE_SECRET and no development secret at ${file}; run \`barrage start\` once or set BARRAGE_SECRET`);
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const text = readFileSync(file, 'utf8').trim();
  if (text.length < 32)
    throw new ConfigError(`BARRAGE_SECRET_FILE: the development secret at ${file} is too short; delete it to make a new one`);
  return { secret: new TextEncoder().encode(text), source: 'file' };
}

/** Time the drain itself (flush, close sockets, stop the parts) needs after `BARRAGE_DRAIN_DELAY_MS`, within the deadline. */
const minDrainMs = 1000;

/** `BARRAGE_GIFTS_FILE`: JSON `{ "gifts": [...], "superChatTiers": [...] }`, either key optional. */
function readGiftsFile(file: string | undefined): { gifts: GiftDef[]; tiers: SuperChatTier[] } {
  let gifts: GiftDef[] = [...defaultGifts];
  let tiers: SuperChatTier[] = [...defaultSuperChatTiers];
  if (file === undefined) return { gifts, tiers };
  const where = `BARRAGE_GIFTS_FILE ${file}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${where}: must be a JSON object with "gifts" and/or "superChatTiers"`);
  }
  const o = parsed as Record<string, unknown>;
  if (o['gifts'] !== undefined) gifts = validateGifts(o['gifts'], where);
  if (o['superChatTiers'] !== undefined) tiers = validateTiers(o['superChatTiers'], where);
  return { gifts, tiers };
}

/** A development webhook secret when `BARRAGE_WEBHOOK_SECRET` is unset: stable for a token secret, useless without it. */
function devWebhookSecret(secret: Uint8Array): Uint8Array {
  return new TextEncoder().encode(createHmac('sha256', secret).update('barrage webhook secret').digest('base64url'));
}

/** `BARRAGE_EMOTES_FILE`: JSON `{ "emotes": [{ "code", "url", "width", "height", "name" }] }`; none when unset. */
function readEmotesFile(file: string | undefined): EmoteDef[] {
  if (file === undefined) return [];
  const where = `BARRAGE_EMOTES_FILE ${file}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  return validateEmotes(parsed, where);
}

/** Freezes the tree, leaving byte arrays, maps and sets as they are (they cannot be frozen; their types are read-only). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Map || value instanceof Set)
    return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/**
 * Reads and checks every setting in `env`, then the files they name, and
 * returns the frozen tree. Throws one `ConfigError` naming every variable
 * that is wrong; nothing is written (no development secret made) unless all
 * values are right.
 */
export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const errors: ConfigError[] = [];
  const p = readSection(settings.process, env, errors);
  const g = readSection(settings.gifts, env, errors);
  const m = readSection(settings.moderation, env, errors);
  const h = readSection(settings.moderationHook, env, errors);
  const n = readSection(settings.nats, env, errors);
  const a = readSection(settings.analytics, env, errors);
  const { emotesFile, ...moderation } = m;
  const w = readSection(settings.webhooks, env, errors);
  if (w.retryMinMs > w.retryMaxMs) {
    errors.push(
      new ConfigError(`BARRAGE_WEBHOOK_RETRY_MIN_MS must be at most BARRAGE_WEBHOOK_RETRY_MAX_MS (${w.retryMaxMs}), got "${w.retryMinMs}"`),
    );
  }
  if (g.likeFlushMs > g.likePushMs) {
    errors.push(new ConfigError(`BARRAGE_LIKE_FLUSH_MS must be at most BARRAGE_LIKE_PUSH_MS (${g.likePushMs}), got "${g.likeFlushMs}"`));
  }
  if (p.drainDelayMs + minDrainMs > p.shutdownDeadlineMs) {
    errors.push(
      new ConfigError(
        `BARRAGE_DRAIN_DELAY_MS must leave at least ${minDrainMs} ms of BARRAGE_SHUTDOWN_DEADLINE_MS (${p.shutdownDeadlineMs}) for the drain itself, got "${p.drainDelayMs}"`,
      ),
    );
  }
  if (options.requireNats && n.servers?.length === 0) {
    errors.push(new ConfigError('BARRAGE_NATS_URL (or --nats <urls>) is required, e.g. nats://127.0.0.1:4222'));
  }
  throwAll(errors);

  // Files only once every value is right: a typo must not leave a development secret behind.
  const catalogue = readGiftsFile(g.giftsFile);
  const emoteCatalogue = readEmotesFile(emotesFile);
  const { secret, source } = loadSecret(p.secret, p.secretFile, options.createSecret ?? true);
  const apiKey = p.apiKey ?? devApiKey(secret);
  const guestRooms = p.guestRooms.includes('*') ? '*' : new Set(p.guestRooms);
  return deepFreeze<Config>({
    process: {
      id: p.edgeId,
      logLevel: p.logLevel,
      logBufferBytes: p.logBufferBytes,
      shutdownDeadlineMs: p.shutdownDeadlineMs,
      videosDir: p.videosDir,
    },
    auth: { secret, secretSource: source, secretFile: p.secretFile, apiKey, apiKeyDerived: p.apiKey === undefined },
    edge: {
      host: p.host,
      port: p.port,
      edgeId: p.edgeId,
      secret,
      apiKey,
      batchWindowMs: p.batchWindowMs,
      batchMaxEvents: p.batchMaxEvents,
      batchWritesPerSecond: p.batchWritesPerSecond,
      batchMaxWindowMs: p.batchMaxWindowMs,
      maxTextLength: p.maxTextLength,
      danmakuPerSecond: p.danmakuPerSecond,
      danmakuBurst: p.danmakuBurst,
      framesPerSecond: p.framesPerSecond,
      framesBurst: p.framesBurst,
      maxFrameBytes: p.maxFrameBytes,
      maxBackpressure: p.maxBackpressure,
      slowReaderCloseMs: p.slowReaderCloseMs,
      guestRooms,
      idleTimeoutSeconds: p.idleTimeoutSeconds,
      chatBudget: p.chatBudget,
      overloadBuckets: p.overloadBuckets,
      mergeDanmaku: p.mergeDanmaku,
      mergeMaxLength: p.mergeMaxLength,
      demoTokens: p.demoTokens ?? source === 'file',
      maxBufferedBodyBytes: p.maxBufferedBodyBytes,
      replayBytesPerSecond: p.replayBytesPerSecond,
      resumePerMinute: p.resumePerMinute,
      resumeBurst: p.resumeBurst,
      moderatePerSecond: p.moderatePerSecond,
      moderateBurst: p.moderateBurst,
      ipUpgradesPerSecond: p.ipUpgradesPerSecond,
      ipUpgradesBurst: p.ipUpgradesBurst,
      ipCostlyPerSecond: p.ipCostlyPerSecond,
      ipCostlyBurst: p.ipCostlyBurst,
      ipFramesPerSecond: p.ipFramesPerSecond,
      ipFramesBurst: p.ipFramesBurst,
      maxConnectionsPerIp: p.maxConnectionsPerIp,
      ipRefusalDelayMs: p.ipRefusalDelayMs,
      ipRefusalMaxHeld: p.ipRefusalMaxHeld,
      ipAbuseStrikes: p.ipAbuseStrikes,
      ipPenaltySeconds: p.ipPenaltySeconds,
      ipPenaltyMaxSeconds: p.ipPenaltyMaxSeconds,
      ipPenaltyDecaySeconds: p.ipPenaltyDecaySeconds,
      ipPenaltyMaxAddresses: p.ipPenaltyMaxAddresses,
      trustProxy: p.trustProxy,
      drainDelayMs: p.drainDelayMs,
    },
    core: {
      host: p.host,
      httpPort: n.coreHttpPort,
      joinHistory: p.joinHistory,
      retainEvents: p.retainEvents,
      roomIdleMs: p.roomIdleSeconds * 1000,
    },
    gifts: {
      gifts: new Map(catalogue.gifts.map((gift) => [gift.id, gift])),
      superChatTiers: catalogue.tiers,
      receiptSecret: g.receiptSecret !== undefined ? new TextEncoder().encode(g.receiptSecret) : secret,
      receiptMaxTtlSeconds: g.receiptMaxTtlSeconds,
      comboWindowMs: g.comboWindowMs,
      maxGiftCount: g.maxGiftCount,
      leaderboardSize: g.leaderboardSize,
      likeMaxPerFrame: g.likeMaxPerFrame,
      likeRate: g.likeRate,
      likeFlushMs: g.likeFlushMs,
      likePushMs: g.likePushMs,
      superChatMaxText: g.superChatMaxText,
    },
    moderation: {
      ...moderation,
      // The catalogue's codes count for emote-only mode like BARRAGE_EMOTES's.
      emotes: [...new Set([...moderation.emotes, ...emoteCatalogue.map((e) => e.code)])],
      emoteCatalogue,
    },
    moderationHook: {
      ...(h.url !== undefined ? { url: h.url } : {}),
      timeoutMs: h.timeoutMs,
      policy: h.policy,
      concurrency: h.concurrency,
      maxQueued: h.maxQueued,
      batchMax: h.batchMax,
      ...(h.secret !== undefined ? { secret: h.secret } : {}),
    },
    nats: { servers: n.servers, replicas: n.replicas, retainSeconds: n.retainSeconds },
    analytics: {
      enabled: a.enabled,
      ...(a.clickhouseUrl !== undefined ? { clickhouseUrl: a.clickhouseUrl } : {}),
      chdbPath: a.chdbPath,
      database: a.database,
      spillDir: a.spillDir,
      ttlDays: a.ttlDays,
    },
    webhooks: {
      urls: w.urls,
      secret: w.secret !== undefined ? new TextEncoder().encode(w.secret) : devWebhookSecret(secret),
      secretDerived: w.secret === undefined,
      kinds: new Set(w.events.includes('*') ? webhookKinds : (w.events as WebhookKind[])),
      batchMaxEvents: w.batchMaxEvents,
      batchMs: w.batchMs,
      timeoutMs: w.timeoutMs,
      concurrency: w.concurrency,
      retryMinMs: w.retryMinMs,
      retryMaxMs: w.retryMaxMs,
      retryHorizonMs: w.retryHorizonSeconds * 1000,
      maxBufferEvents: w.maxBufferEvents,
      spillDir: w.spillDir,
      maxSpillBytes: w.maxSpillBytes,
      deadDir: w.deadDir,
      deadMax: w.deadMax,
    },
  });
}
