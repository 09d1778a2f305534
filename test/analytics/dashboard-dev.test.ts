/**
 * The dashboard in development (issue 17): with the development secret and
 * no `BARRAGE_API_KEY`, a visitor on this machine opens `/dashboard` and
 * sees data without pasting a key; a proxied visitor, a deployment with a
 * real secret and one with `BARRAGE_API_KEY` never get it. And a range that
 * holds one minute of online counts draws that minute (a dot: a line needs
 * two points), in Chromium.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../bench/lib/chromium.js';
import { startSingleProcess } from '../../bin/app.js';
import type { SingleProcess } from '../../bin/app.js';
import { loadConfig } from '../../domain/config.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { testConfig, testEnv } from '../helpers/config.js';
import { startClickHouse } from './clickhouse-server.js';
import type { TestClickHouse } from './clickhouse-server.js';
import { encode } from './events.js';

const room = 'dev-dash';
const minute = 60_000;
const devMeta = /<meta name="barrage-dev-key" content="([^"]*)">/;

describe('analytics dashboard - development key and single points', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-dash-dev-'));
  let dev: SingleProcess;
  let devKey: string;
  let clickhouse: TestClickHouse | undefined;
  const production: SingleProcess[] = [];
  let browser: Browser | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { stdio: 'inherit' });
    // `barrage start` on a laptop: no BARRAGE_SECRET (a development secret file), no BARRAGE_API_KEY.
    const config = loadConfig({
      ...testEnv,
      BARRAGE_SECRET: undefined,
      BARRAGE_SECRET_FILE: join(dir, 'dev-secret'),
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    expect([config.auth.secretSource, config.auth.apiKeyDerived]).toEqual(['file', true]);
    devKey = config.auth.apiKey;
    dev = await startSingleProcess(config, createLogger('silent'), { processMetrics: false, analyticsSink: { flushMs: 50 } });
    await dev.analytics?.ready;
    // One minute of data: a few danmaku and online counts, nothing else in the hour around it.
    const t = Math.floor(Date.now() / minute) * minute - 10 * minute;
    for (let i = 0; i < 5; i++) {
      dev.bus.publish(
        subjects.events(room),
        encode({ room, seq: i + 1, tsMs: t + i * 1000, danmaku: { id: `d${i}`, user: { id: 'u' }, text: '你好 gg' } }),
      );
    }
    for (let s = 0; s < 3; s++)
      dev.bus.publish(subjects.events(room), encode({ room, seq: 5, tsMs: t + s * 2000 + 1, online: { count: 40 + s } }));
    await dev.bus.flush();
    await dev.analytics?.sink.flush();
    // Deployments: a real secret (no key set), and a development secret with BARRAGE_API_KEY. ClickHouse, one database each.
    clickhouse = await startClickHouse();
    const on = { BARRAGE_ANALYTICS: 'on', BARRAGE_CLICKHOUSE_URL: clickhouse.url, BARRAGE_ANALYTICS_SPILL: join(dir, 'spill-prod') };
    const configs = [
      testConfig({ ...on, BARRAGE_ANALYTICS_DB: 'prod_secret' }),
      loadConfig({
        ...testEnv,
        ...on,
        BARRAGE_ANALYTICS_DB: 'prod_key',
        BARRAGE_SECRET: undefined,
        BARRAGE_SECRET_FILE: join(dir, 'dev-secret'),
        BARRAGE_API_KEY: 'a-real-key-0123456789abcdef',
      }),
    ];
    for (const c of configs) production.push(await startSingleProcess(c, createLogger('silent'), { processMetrics: false }));
  });
  afterAll(async () => {
    await browser?.close();
    for (const p of production) await p.stop();
    await dev?.stop();
    await clickhouse?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dashboard dev - the page hands the development key to a visitor on this machine, and to nobody else', async () => {
    const page = await fetch(`http://127.0.0.1:${dev.port}/dashboard`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(devMeta.exec(await page.text())?.[1]).toBe(devKey);
    // Through a proxy the peer is the proxy, not the visitor.
    for (const header of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }] as Array<Record<string, string>>) {
      expect(await (await fetch(`http://127.0.0.1:${dev.port}/dashboard`, { headers: header })).text()).not.toMatch(devMeta);
    }
    // Production: a real secret, or an API key set: never.
    for (const p of production) {
      const html = await (await fetch(`http://127.0.0.1:${p.port}/dashboard`)).text();
      expect(html).toContain('Barrage analytics');
      expect(html).not.toMatch(devMeta);
    }
  });

  it('dashboard dev - opened without a key it shows the data, and one minute of online counts is drawn', async () => {
    browser = await chromium.launch(chromiumLaunchOptions());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${dev.port}/dashboard?room=${room}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/analytics-dashboard-dev.png', fullPage: true });
    expect(errors).toEqual([]);
    expect(await page.locator('[data-metric="messages"] .value').textContent()).toBe('5');
    expect(await page.locator('#top-words tbody tr').allTextContents()).toEqual(['gg5', '你好5']);
    // The online chart's greens (peak #16a34a, average #84cc16, drawn over it) are on its canvas: the single minute is a dot.
    const green = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#chart-online canvas');
      const px = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 0; i < px.length; i += 4) {
        const [r, g, b] = [px[i], px[i + 1], px[i + 2]];
        if ((r === 22 && g === 163 && b === 74) || (r === 132 && g === 204 && b === 22)) n++;
      }
      return n;
    });
    expect(green).toBeGreaterThan(10);
  });
});
