/**
 * Starts a single-process Barrage in the test process on a free port, with a
 * fixed test secret and quiet logs.
 */
import { startSingleProcess } from '../../bin/app.js';
import type { SingleProcess } from '../../bin/app.js';
import { mintToken } from '../../domain/auth.js';
import type { MintOptions } from '../../domain/auth.js';
import { loadConfig } from '../../domain/config.js';
import { loadGiftConfig } from '../../domain/config-gifts.js';
import type { Config } from '../../domain/config.js';
import { createLogger } from '../../domain/logger.js';

/** The secret every test server and token uses. */
export const testSecret = 'test-secret-test-secret-test-secret-0123456789';

/** A test server plus helpers bound to it. */
export interface TestServer extends SingleProcess {
  config: Config;
  url: string;
  wsUrl(room: string, token?: string, extra?: Record<string, string>): string;
  token(options: Partial<MintOptions> & { room: string }): Promise<string>;
}

/** Starts a server; `env` overrides configuration (e.g. BARRAGE_BATCH_MS). */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    BARRAGE_SECRET: testSecret,
    PORT: '0',
    HOST: '127.0.0.1',
    BARRAGE_EDGE_ID: 'test-edge',
    // The demo page's tests need a token per visitor; the default with a real secret is off.
    BARRAGE_DEMO_TOKENS: 'on',
    ...env,
  });
  const app = await startSingleProcess(config, createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), {
    processMetrics: false,
    giftConfig: loadGiftConfig(env, config.secret),
  });
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
      return mintToken(config.secret, { user: 'u1', name: 'User One', role: 'viewer', ...options });
    },
  };
}
