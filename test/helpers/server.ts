/**
 * Starts a single-process Barrage in the test process on a free port, with a
 * fixed test secret and quiet logs (`config.ts` says what it is told).
 */
import { startSingleProcess } from '../../bin/app.js';
import type { SingleProcess } from '../../bin/app.js';
import { mintToken } from '../../domain/auth.js';
import type { MintOptions } from '../../domain/auth.js';
import type { Config } from '../../domain/config.js';
import { createLogger } from '../../domain/logger.js';
import { testConfig, testSecret } from './config.js';

export { testSecret };

/** A test server plus helpers bound to it. */
export interface TestServer extends SingleProcess {
  config: Config;
  url: string;
  wsUrl(room: string, token?: string, extra?: Record<string, string>): string;
  token(options: Partial<MintOptions> & { room: string }): Promise<string>;
}

/**
 * Starts a server; `env` holds the settings of this test on top of
 * `testEnv` (e.g. `{ BARRAGE_BATCH_MS: '20' }`), read by the same loader as
 * the CLI's. `TEST_LOG_LEVEL` (a test-runner flag, not a setting) shows its logs.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = testConfig(env);
  const app = await startSingleProcess(config, createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), { processMetrics: false });
  const url = `http://127.0.0.1:${app.port}`;
  return {
    ...app,
    config,
    url,
    wsUrl(room, token, extra = {}) {
      const q = new URLSearchParams({ room, ...(token ? { token } : {}), ...extra });
      return `ws://127.0.0.1:${app.port}/ws?${q}`;
    },
    token(options) {
      return mintToken(config.auth.secret, { user: 'u1', name: 'User One', role: 'viewer', ...options });
    },
  };
}
