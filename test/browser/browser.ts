/**
 * Browser-test helpers: builds the widget bundle once per test file, starts
 * Debian's Chromium through playwright-core with a fresh profile, and saves
 * screenshots under test-results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../bench/lib/chromium.js';
import type { Browser, Page } from 'playwright-core';
import { v1 } from '../../proto/index.js';
import { subjects } from '../../domain/subjects.js';
import type { TestServer } from '../helpers/server.js';

/** Builds dist/widget/widget.js (the server reads it when it starts). */
export function buildWidget(): void {
  execFileSync(process.execPath, ['scripts/build-widget.mjs'], { stdio: 'pipe' });
}

/** A Chromium with a fresh profile (playwright makes a new temporary user-data dir per launch). */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch(chromiumLaunchOptions());
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** Saves a screenshot as test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync('test-results', { recursive: true });
  const path = join('test-results', `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Texts of the danmaku on screen in the first `<barrage-overlay>`. */
export function shownTexts(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...(document.querySelector('barrage-overlay')?.shadowRoot?.querySelectorAll('.d') ?? [])].map((e) => e.textContent ?? ''),
  );
}

/** Waits until every text in `texts` is among the shown danmaku. */
export async function waitForTexts(page: Page, texts: string[], timeout = 5000): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const shown = [...(document.querySelector('barrage-overlay')?.shadowRoot?.querySelectorAll('.d') ?? [])].map((e) => e.textContent);
      return want.every((t) => shown.includes(t));
    },
    texts,
    { timeout },
  );
}

/** Publishes an event into a room as core would receive it (sequenced, batched and fanned out like any other). */
export function publishEvent(server: TestServer, room: string, event: v1.IEvent): void {
  server.bus.publish(subjects.ingress(room), v1.Event.encode({ room, tsMs: Date.now(), ...event }).finish());
}

/** Publishes a danmaku without the edge's per-viewer rate limit (a crowd of senders). */
export function publishDanmaku(server: TestServer, room: string, text: string, extra: Partial<v1.IDanmaku> = {}): void {
  publishEvent(server, room, { danmaku: { text, color: 0xffffff, user: { id: 'crowd', name: 'Crowd' }, ...extra } });
}
