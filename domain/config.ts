/**
 * Configuration: environment variables, overridden by command-line flags,
 * checked once at start. Every option is listed in README.md.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { apiKeyFromEnv } from './http.js';
import { ConfigError } from './errors.js';
import { defaultLogBufferBytes } from './logger.js';

/** Everything a Barrage process can be told. */
export interface Config {
  host: string;
  port: number;
  /** Identifies this edge in logs, metrics and presence reports. */
  edgeId: string;
  /** HS256 secret for viewer tokens. */
  secret: Uint8Array;
  /** Where the secret came from, for the start banner. */
  secretSource: 'env' | 'file';
  secretFile: string;
  /** One Batch frame per room per window. */
  batchWindowMs: number;
  /** Flush a room's batch early when it holds this many events. */
  batchMaxEvents: number;
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
  /** Chat events replayed to a viewer who joins. */
  joinHistory: number;
  /** Events per room kept for resume. */
  retainEvents: number;
  /** Rooms that admit read-only guests without a token: `*`, or a list. */
  guestRooms: '*' | ReadonlySet<string>;
  idleTimeoutSeconds: number;
  logLevel: string;
  /** Log output that may wait for a slow stdout reader before lines are dropped (never blocks the loop). */
  logBufferBytes: number;
  /** SIGTERM/SIGINT to the process being gone, enforced from a watchdog thread (bin/shutdown-watchdog.ts). */
  shutdownDeadlineMs: number;
  /** Key site backends send as `Authorization: Bearer <key>` on /api/v1. */
  apiKey: string;
  /** True when `apiKey` was derived from the secret (development). */
  apiKeyDerived: boolean;
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
  /**
   * Per-room state (sequencer rings, moderation bookkeeping, counters) of a
   * room with no event and no viewer for this long is freed, so rooms that
   * were used once (or made up by a guest) do not cost memory for good.
   */
  roomIdleSeconds: number;
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
  /** Take the client address from the last `X-Forwarded-For` entry (only behind a proxy that sets it). */
  trustProxy: boolean;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** Default location of the development secret, relative to the working directory. */
export const defaultSecretFile = '.barrage/dev-secret';

/**
 * Reads the token secret: `BARRAGE_SECRET`, or else the development secret
 * file, created once with 32 random bytes when `create` is set.
 */
export function loadSecret(env: Env, create: boolean): { secret: Uint8Array; source: 'env' | 'file'; file: string } {
  const file = resolve(env['BARRAGE_SECRET_FILE'] || defaultSecretFile);
  const fromEnv = env['BARRAGE_SECRET'];
  if (fromEnv) {
    if (Buffer.byteLength(fromEnv) < 32) throw new ConfigError('BARRAGE_SECRET must be at least 32 bytes');
    return { secret: new TextEncoder().encode(fromEnv), source: 'env', file };
  }
  if (!existsSync(file)) {
    if (!create) {
      throw new ConfigError(`no BARRAGE_SECRET and no development secret at ${file}; run \`barrage start\` once or set BARRAGE_SECRET`);
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const text = readFileSync(file, 'utf8').trim();
  if (text.length < 32) throw new ConfigError(`development secret at ${file} is too short; delete it to make a new one`);
  return { secret: new TextEncoder().encode(text), source: 'file', file };
}

/** Builds the configuration from the environment; throws `ConfigError` on anything invalid. */
export function loadConfig(env: Env = process.env, options: { createSecret?: boolean } = {}): Config {
  const { secret, source, file } = loadSecret(env, options.createSecret ?? true);
  const guests = (env['BARRAGE_GUEST_ROOMS'] ?? '*').trim();
  const maxFrameBytes = int(env, 'BARRAGE_MAX_FRAME_BYTES', 4096, 256, 1 << 20);
  const api = apiKeyFromEnv(env, secret);
  return {
    host: env['HOST'] || '0.0.0.0',
    port: int(env, 'PORT', 8080, 0, 65535),
    edgeId: env['BARRAGE_EDGE_ID'] || `${hostname()}-${process.pid}`,
    secret,
    secretSource: source,
    secretFile: file,
    batchWindowMs: int(env, 'BARRAGE_BATCH_MS', 25, 0, 1000),
    batchMaxEvents: int(env, 'BARRAGE_BATCH_MAX_EVENTS', 256, 1, 10_000),
    maxTextLength: int(env, 'BARRAGE_MAX_TEXT', 100, 1, 1000),
    danmakuPerSecond: int(env, 'BARRAGE_DANMAKU_RATE', 2, 1, 1_000_000),
    danmakuBurst: int(env, 'BARRAGE_DANMAKU_BURST', 5, 1, 1_000_000),
    framesPerSecond: int(env, 'BARRAGE_FRAME_RATE', 50, 1, 1_000_000),
    framesBurst: int(env, 'BARRAGE_FRAME_BURST', 100, 1, 1_000_000),
    maxFrameBytes,
    maxBackpressure: int(env, 'BARRAGE_MAX_BACKPRESSURE', 1 << 20, 1024, 1 << 30),
    slowReaderCloseMs: int(env, 'BARRAGE_SLOW_READER_CLOSE_MS', 10_000, 100, 3_600_000),
    joinHistory: int(env, 'BARRAGE_JOIN_HISTORY', 20, 0, 1000),
    retainEvents: int(env, 'BARRAGE_RETAIN_EVENTS', 1000, 1, 1_000_000),
    guestRooms:
      guests === '*'
        ? '*'
        : new Set(
            guests
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          ),
    idleTimeoutSeconds: int(env, 'BARRAGE_IDLE_TIMEOUT', 120, 8, 960),
    logLevel: env['BARRAGE_LOG_LEVEL'] || env['LOG_LEVEL'] || 'info',
    logBufferBytes: int(env, 'BARRAGE_LOG_BUFFER_BYTES', defaultLogBufferBytes, 64 << 10, 1 << 30),
    shutdownDeadlineMs: int(env, 'BARRAGE_SHUTDOWN_DEADLINE_MS', 10_000, 1000, 3_600_000),
    apiKey: api.key,
    apiKeyDerived: api.derived,
    chatBudget: int(env, 'BARRAGE_CHAT_BUDGET', 0, 0, 100_000),
    overloadBuckets: int(env, 'BARRAGE_OVERLOAD_BUCKETS', 4, 1, 64),
    mergeDanmaku: bool(env, 'BARRAGE_MERGE_DANMAKU', false),
    mergeMaxLength: int(env, 'BARRAGE_MERGE_MAX_LENGTH', 8, 1, 100),
    demoTokens: bool(env, 'BARRAGE_DEMO_TOKENS', source === 'file'),
    roomIdleSeconds: int(env, 'BARRAGE_ROOM_IDLE_SECONDS', 600, 10, 30 * 86_400),
    maxBufferedBodyBytes: int(env, 'BARRAGE_MAX_BUFFERED_BODY_BYTES', 32 << 20, 64 << 10, 1 << 30),
    replayBytesPerSecond: int(env, 'BARRAGE_REPLAY_BYTES_PER_SECOND', 16 << 20, 64 << 10, 1 << 30),
    resumePerMinute: int(env, 'BARRAGE_RESUME_PER_MINUTE', 20, 1, 100_000),
    resumeBurst: int(env, 'BARRAGE_RESUME_BURST', 3, 1, 1000),
    moderatePerSecond: int(env, 'BARRAGE_MODERATE_RATE', 10, 1, 100_000),
    moderateBurst: int(env, 'BARRAGE_MODERATE_BURST', 30, 1, 100_000),
    ipUpgradesPerSecond: int(env, 'BARRAGE_IP_UPGRADE_RATE', 50, 1, 1_000_000),
    ipUpgradesBurst: int(env, 'BARRAGE_IP_UPGRADE_BURST', 500, 1, 1_000_000),
    ipCostlyPerSecond: int(env, 'BARRAGE_IP_COSTLY_RATE', 20, 1, 1_000_000),
    ipCostlyBurst: int(env, 'BARRAGE_IP_COSTLY_BURST', 200, 1, 1_000_000),
    ipFramesPerSecond: int(env, 'BARRAGE_IP_FRAME_RATE', 2000, 1, 10_000_000),
    ipFramesBurst: int(env, 'BARRAGE_IP_FRAME_BURST', 4000, 1, 10_000_000),
    maxConnectionsPerIp: int(env, 'BARRAGE_MAX_CONNECTIONS_PER_IP', 0, 0, 10_000_000),
    trustProxy: bool(env, 'BARRAGE_TRUST_PROXY', false),
  };
}
