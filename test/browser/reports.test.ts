import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, screenshot, waitForTexts } from './browser.js';

const room = 'reports';
const consoleText = (page: Page, sel: string) =>
  page.evaluate((s) => document.querySelector('barrage-mod-console')?.shadowRoot?.querySelector(s)?.textContent ?? '', sel);
const toolbarStatus = (page: Page) =>
  page.evaluate(
    () =>
      document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('barrage-danmaku-actions')?.shadowRoot?.querySelector('.status')
        ?.textContent ?? '',
  );

describe('reports', () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    buildWidget();
    server = await startTestServer({ BARRAGE_REPORT_HOLD_THRESHOLD: '2' });
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  afterAll(async () => {
    await closeBrowser?.();
    await server?.stop();
  });

  it('reports - a viewer reports from the toolbar (once), a second reporter auto-holds it, the console sees both and removes it', async () => {
    const mod = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const token = await server.token({ room, user: 'mod', name: 'Mod', role: 'moderator' });
    await mod.goto(`${server.url}/moderate?room=${room}#token=${token}`);
    await mod.waitForSelector('barrage-mod-console >> [data-tab=reports]');
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await viewer.goto(`${server.url}/?room=${room}`);
    await viewer.waitForFunction(() =>
      document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'),
    );
    publishDanmaku(server, room, 'cheap followers here', { user: { id: 'spam', name: 'Spam Bot' } });
    await waitForTexts(viewer, ['cheap followers here']);
    await viewer.waitForFunction(() =>
      document
        .querySelector('barrage-overlay')!
        .stageState()
        .every((s) => s.x < 600),
    );
    const at = await viewer.evaluate(() => {
      const el = [...document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.d')].find(
        (e) => e.textContent === 'cheap followers here',
      )!;
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    });
    await viewer.mouse.move(at.x, at.y);
    await viewer.click('barrage-overlay >> barrage-danmaku-actions >> button[data-action=report]');
    await viewer.click('barrage-overlay >> barrage-danmaku-actions >> button[data-reason="1"]');
    await expect.poll(() => toolbarStatus(viewer)).toBe('Reported. Thank you');
    // The moderators' queue shows it with one reporter and the reason.
    await mod.click('barrage-mod-console >> [data-tab=reports]');
    await expect.poll(() => consoleText(mod, 'li[data-report] .meta')).toContain('1 reports');
    expect(await consoleText(mod, 'li[data-report] .meta')).toContain('Spam');
    // Twice from the same viewer: the server's REPORT_DUPLICATE, in words.
    await viewer.click('barrage-overlay >> barrage-danmaku-actions >> button[data-action=report]');
    await viewer.click('barrage-overlay >> barrage-danmaku-actions >> button[data-reason="2"]');
    await expect.poll(() => toolbarStatus(viewer)).toBe('You already reported this');
    await viewer.mouse.move(10, 700);

    // A second reporter reaches the threshold: held, off every screen, in the held queue too.
    const id =
      (await viewer.evaluate(
        () =>
          document
            .querySelector('barrage-overlay')!
            .stageState()
            .find((s) => s.text === 'cheap followers here')?.id,
      )) ?? '';
    const other = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'v2', name: 'Vee' })));
    other.send({ report: { danmakuId: id, reason: 2, clientMsgId: 'r2' } });
    await other.until(() => other.frames.some((f) => f.ack?.clientMsgId === 'r2'));
    await viewer.waitForFunction(
      () =>
        !document
          .querySelector('barrage-overlay')!
          .stageState()
          .some((s) => s.text === 'cheap followers here'),
    );
    await expect.poll(() => consoleText(mod, 'li[data-report] .meta')).toContain('2 reports');
    await mod.click('barrage-mod-console >> [data-tab=held]');
    await mod.waitForSelector('barrage-mod-console >> li[data-hold]');
    await mod.click('barrage-mod-console >> [data-tab=reports]');
    await screenshot(mod, 'console-reports');
    // Remove: resolved, gone from the queue, answered.
    await mod.click('barrage-mod-console >> li[data-report] >> button[data-action=remove]');
    await expect.poll(() => consoleText(mod, '.feedback')).toBe('Done: Delete');
    await expect.poll(() => consoleText(mod, '.empty')).toBe('No open reports');
    other.close();
    await viewer.close();
    await mod.close();
  });
});
