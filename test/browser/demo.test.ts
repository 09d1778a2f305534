import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, screenshot, shownTexts, waitForTexts } from './browser.js';

describe('demo page', () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let bob: TestClient;

  beforeAll(async () => {
    buildWidget();
    server = await startTestServer();
    ({ browser, close: closeBrowser } = await launchBrowser());
    bob = await TestClient.connect(server.wsUrl('demo', await server.token({ room: 'demo', user: 'bob', name: 'Bob' })));
  });
  afterAll(async () => {
    bob?.close();
    await closeBrowser?.();
    await server?.stop();
  });

  it('demo - shows danmaku sent by another client, and sends its own', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url + '/');
    await page.waitForFunction(() => document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'));
    for (const text of ['hello from Bob', '2333333', 'first!']) bob.danmaku(text, { color: 0xffffff });
    await waitForTexts(page, ['hello from Bob', '2333333', 'first!']);
    const chatRows = await page.evaluate(() =>
      [...(document.querySelector('barrage-chat')?.shadowRoot?.querySelectorAll('li') ?? [])].map((li) => li.textContent),
    );
    expect(chatRows).toContain('Bobhello from Bob');

    await page.fill('barrage-chat >> input[name=text]', 'hi Bob, from the demo page');
    await page.click('barrage-chat >> button[type=submit]');
    await bob.until(() => bob.texts().includes('hi Bob, from the demo page'), 5000, 'the demo page danmaku');
    await waitForTexts(page, ['hi Bob, from the demo page']);
    await screenshot(page, 'demo');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("demo - serves the widget's lazy chunks by their content-hashed names, and nothing else under /chunks", async () => {
    for (const name of readdirSync('dist/widget/chunks').filter((n) => n.endsWith('.js'))) {
      const res = await fetch(`${server.url}/chunks/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await res.text()).toBe(readFileSync(join('dist/widget/chunks', name), 'utf8'));
    }
    for (const path of ['/chunks/nope.js', '/chunks/..%2Fwidget.js', '/chunks/%2e%2e%2fwidget.js', '/chunks/']) {
      expect((await fetch(server.url + path)).status, path).toBe(404);
    }
  });

  it('demo - settings change what is shown and are remembered', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(server.url + '/');
    await page.waitForFunction(() => document.querySelector('barrage-overlay')?.activeConnection?.state === 'open');
    await page.click('barrage-overlay >> .settings-button');
    await page.fill('barrage-settings >> input[name=blockedKeywords]', 'spoiler');
    await page.press('barrage-settings >> input[name=blockedKeywords]', 'Enter');
    await page.uncheck('barrage-settings >> input[name=mode][value="1"]');
    await page.selectOption('barrage-settings >> select[name=area]', '0.5');
    publishDanmaku(server, 'demo', 'big SPOILER ahead');
    publishDanmaku(server, 'demo', 'a top one', { mode: 1 });
    publishDanmaku(server, 'demo', 'this one is fine');
    await waitForTexts(page, ['this one is fine']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await shownTexts(page)).not.toContain('big SPOILER ahead');
    expect(await shownTexts(page)).not.toContain('a top one');
    await screenshot(page, 'settings');

    // Remembered across a reload, and the display area limits the lanes to the top half.
    await page.reload();
    await page.waitForFunction(() => document.querySelector('barrage-overlay')?.activeConnection?.state === 'open');
    const saved = await page.evaluate(() => document.querySelector('barrage-overlay')!.settings);
    expect(saved).toMatchObject({ blockedKeywords: ['spoiler'], blockedModes: [1], area: 0.5 });
    for (let i = 0; i < 30; i++) publishDanmaku(server, 'demo', `crowd ${i}`);
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.stageState().length >= 10);
    const bottoms = await page.evaluate(() => {
      const host = document.querySelector('barrage-overlay')!.getBoundingClientRect();
      return [...document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.d')].map(
        (e) => (e.getBoundingClientRect().bottom - host.top) / host.height,
      );
    });
    expect(Math.max(...bottoms)).toBeLessThanOrEqual(0.5);

    // Switched off: nothing is shown.
    await page.evaluate(() => document.querySelector('barrage-overlay')!.applySettings({ enabled: false }));
    expect(await shownTexts(page)).toEqual([]);
    await page.close();
  });
});
