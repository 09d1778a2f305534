/**
 * The route table of a server with every feature on, for the checked-in
 * docs/openapi.json (`scripts/gen-openapi.ts` writes it, test/unit/openapi.test.ts
 * compares it): a single process is started on a free loopback port with
 * `everyFeature`, its edge's mounted routes are read, and it is stopped.
 * Reading what is mounted, not a second list, is what keeps the document and
 * the routes in step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../domain/config.js';
import type { Route } from '../domain/http.js';
import { createLogger } from '../domain/logger.js';
import { openApiText, sdkOperationsText } from '../domain/openapi.js';
import { packageVersion } from '../domain/paths.js';
import { startSingleProcess } from './app.js';

/**
 * Settings that turn on every feature that mounts routes. A route mounted
 * only under some setting is described only when that setting is here: add
 * it when you add such a route.
 */
export const everyFeature: Readonly<Record<string, string>> = {
  BARRAGE_SECRET: 'openapi-description-secret-0123456789abcdef',
  BARRAGE_API_KEY: 'openapi-description-key',
  PORT: '0',
  HOST: '127.0.0.1',
  BARRAGE_DEMO_TOKENS: 'on',
  BARRAGE_ANALYTICS: 'on',
};

/** The routes a server with `everyFeature` mounts. */
export async function everyRoute(): Promise<readonly Route[]> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-openapi-'));
  try {
    const config = loadConfig({
      ...everyFeature,
      BARRAGE_ANALYTICS_PATH: join(dir, 'analytics'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    const app = await startSingleProcess(config, createLogger('silent'), { processMetrics: false });
    try {
      return app.edge.routes;
    } finally {
      await app.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The text of docs/openapi.json. */
export async function openApiFileText(): Promise<string> {
  return openApiText(await everyRoute(), { version: packageVersion() });
}

/** The text of sdk/operations.ts. */
export async function sdkOperationsFileText(): Promise<string> {
  return sdkOperationsText(await everyRoute());
}
