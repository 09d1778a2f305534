/**
 * Configuration for tests, the way a process gets it: `loadConfig` on an
 * environment, here a plain object (never `process.env`), with a fixed test
 * secret, a free port on loopback and analytics off unless a test turns it on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../domain/config.js';
import type { Config } from '../../domain/config.js';

/** The secret every test server and token uses. */
export const testSecret = 'test-secret-test-secret-test-secret-0123456789';

/** What every in-process test server starts from; a test's own settings go on top. */
export const testEnv: Readonly<Record<string, string>> = {
  BARRAGE_SECRET: testSecret,
  PORT: '0',
  HOST: '127.0.0.1',
  BARRAGE_EDGE_ID: 'test-edge',
  // The demo page's tests need a token per visitor; the default with a real secret is off.
  BARRAGE_DEMO_TOKENS: 'on',
  // An engine per test server would cost seconds each; the analytics suites turn it on.
  BARRAGE_ANALYTICS: 'off',
};

/**
 * The configuration of a test server: `testEnv` with `env` on top. Throws `ConfigError` like the CLI would.
 * Each gets a fresh directory for sessions and videos unless `env` names one (a restart test reuses it).
 */
export function testConfig(env: Record<string, string> = {}): Config {
  const videosDir = env['BARRAGE_VIDEOS_DIR'] ?? mkdtempSync(join(tmpdir(), 'barrage-videos-'));
  return loadConfig({ ...testEnv, ...env, BARRAGE_VIDEOS_DIR: videosDir });
}
