/**
 * A moderator's delete, sent as a `moderate` frame, removes the danmaku from
 * the overlay in Chromium while it is on its way across.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, shownTexts, waitForTexts } from '../browser/browser.js';
import { moderate, sleep } from './helpers.js';

describe('moderation overlay', () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    buildWidget();
    server = await startTestServer();
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  afterAll(async () => {
    await closeBrowser?.();
    await server?.stop();
  });

  it('moderation overlay - a moderator deletes a danmaku mid-flight and it leaves the screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}/overlay?room=live`);
    await page.waitForFunction(() => (document.querySelector('barrage-overlay') as unknown as { welcomed?: unknown })?.welcomed);
    const viewer = await TestClient.connect(server.wsUrl('live', await server.token({ room: 'live', user: 'v' })));
    const mod = await TestClient.connect(server.wsUrl('live', await server.token({ room: 'live', user: 'm', role: 'moderator' })));
    viewer.danmaku('this one stays');
    await sleep(600); // a danmaku per lane slot: let the first one move on
    viewer.danmaku('a spoiler to delete');
    await waitForTexts(page, ['this one stays', 'a spoiler to delete']);
    await sleep(400);
    const id = mod.chat().find((e) => e.danmaku?.text === 'a spoiler to delete')?.danmaku?.id as string;
    expect(id).toBeTruthy();
    moderate(mod, { retract: { danmakuId: id }, reason: 'spoiler' });
    await page.waitForFunction(
      () =>
        !document
          .querySelector('barrage-overlay')!
          .stageState()
          .some((s) => s.text === 'a spoiler to delete'),
      undefined,
      { timeout: 2000 },
    );
    expect(await shownTexts(page)).toEqual(['this one stays']);
    viewer.close();
    mod.close();
    await page.close();
  });
});
