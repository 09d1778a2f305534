/**
 * Configuration of the NATS roles (`barrage edge`, `barrage core`), apart from
 * `config.ts` so the single-process mode needs none of it.
 */
import { ConfigError } from './errors.js';

/** What an edge or core process needs to join NATS. */
export interface NatsConfig {
  /** Server URLs; several for a cluster. */
  servers: string[];
  /** JetStream replicas of the room stream (core only). */
  replicas: number;
  /** Seconds stored room events are kept (core only). */
  retainSeconds: number;
  /** Port of core's /healthz, /readyz and /metrics (core only); 0 picks a free one. */
  coreHttpPort: number;
}

type Env = Record<string, string | undefined>;

/**
 * Reads `BARRAGE_NATS_URL` (comma-separated), `BARRAGE_JS_REPLICAS`,
 * `BARRAGE_RETAIN_SECONDS` and `BARRAGE_CORE_HTTP_PORT`; `urls` (from `--nats`) wins.
 */
export function loadNatsConfig(env: Env, urls?: string): NatsConfig {
  const raw = urls ?? env['BARRAGE_NATS_URL'] ?? '';
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new ConfigError('--nats <urls> (or BARRAGE_NATS_URL) is required, e.g. nats://127.0.0.1:4222');
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^\s]+$/.test(s) && !/^[\w.-]+:\d+$/.test(s)) throw new ConfigError(`not a NATS URL: "${s}"`);
  }
  const replicas = Number(env['BARRAGE_JS_REPLICAS'] ?? '1');
  if (![1, 3, 5].includes(replicas)) throw new ConfigError('BARRAGE_JS_REPLICAS must be 1, 3 or 5');
  const retainSeconds = Number(env['BARRAGE_RETAIN_SECONDS'] ?? '86400');
  if (!Number.isInteger(retainSeconds) || retainSeconds < 60) throw new ConfigError('BARRAGE_RETAIN_SECONDS must be an integer >= 60');
  const coreHttpPort = Number(env['BARRAGE_CORE_HTTP_PORT'] ?? '9470');
  if (!Number.isInteger(coreHttpPort) || coreHttpPort < 0 || coreHttpPort > 65535)
    throw new ConfigError('BARRAGE_CORE_HTTP_PORT must be a port number (0 picks a free one)');
  return { servers, replicas, retainSeconds, coreHttpPort };
}
