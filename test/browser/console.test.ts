import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ErrorCode } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, screenshot } from './browser.js';

const feedback = (page: Page) =>
  page.evaluate(() => document.querySelector('barrage-mod-console')?.shadowRoot?.querySelector('.feedback')?.textContent ?? '');
/** A button of the console row showing `text`. */
const rowButton = (text: string, action: string) =>
  `barrage-mod-console >> li:has(.text:text-is("${text}")) >> button[data-action=${action}]`;

describe('moderator console', () => {
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

  /** The standalone console for a room, with a token of `role`. */
  async function openConsole(room: string, role: 'viewer' | 'moderator' | 'host'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
    const token = await server.token({ room, user: `${role}-1`, name: role === 'viewer' ? 'Vicky' : 'Mod Max', role });
    await page.goto(`${server.url}/moderate?room=${room}#token=${token}`);
    await page.waitForFunction(() => (document.querySelector('barrage-mod-console') as unknown as { welcomed?: unknown })?.welcomed);
    return page;
  }

  it("console - a viewer's token never shows it: not in the chat, not on /moderate", async () => {
    const viewer = await browser.newPage();
    await viewer.goto(`${server.url}/?room=cons-v`);
    await viewer.waitForFunction(() =>
      document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'),
    );
    expect(await viewer.$('barrage-chat >> [part=moderate-button]')).toBeNull();
    const page = await openConsole('cons-v', 'viewer');
    expect(await page.$$('barrage-mod-console >> [role=tab]')).toHaveLength(0);
    expect(await page.textContent('barrage-mod-console >> .empty')).toBe('This token is not a moderator of the room');
    // The token left the address bar at once.
    expect(page.url()).not.toContain('token');
    // Without any token (a first visit), the page says how to get one.
    const bare = await browser.newPage();
    await bare.goto(`${server.url}/moderate?room=cons-v`);
    await bare.waitForSelector('barrage-mod-console >> .empty');
    expect(await bare.textContent('barrage-mod-console >> .empty')).toContain(
      'npm run barrage -- token --room cons-v --user mod1 --role moderator',
    );
    await bare.close();
    await viewer.close();
    await page.close();
  });

  it('console - deletes, times out and bans; the room and its viewers see each; errors say why', async () => {
    const room = 'cons';
    const viewer = await browser.newPage();
    await viewer.goto(`${server.url}/?room=${room}`);
    await viewer.waitForFunction(() =>
      document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'),
    );
    const page = await openConsole(room, 'moderator');
    const troll = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'troll', name: 'Troll' })));
    const spammer = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'spammer', name: 'Spammer' })));
    publishDanmaku(server, room, 'delete this line', { user: { id: 'crowd', name: 'Crowd' } });
    troll.danmaku('trolling here');
    spammer.danmaku('spam spam spam');
    await page.waitForSelector(rowButton('spam spam spam', 'ban'));
    const chatTexts = () =>
      viewer.evaluate(() =>
        [...document.querySelector('barrage-chat')!.shadowRoot!.querySelectorAll('li')].map((li) => li.textContent ?? ''),
      );
    await expect.poll(chatTexts).toContain('Crowddelete this line');

    // Delete: gone from the viewer's chat.
    await page.click(rowButton('delete this line', 'delete'));
    await expect.poll(() => feedback(page)).toBe('Done: Delete');
    await expect.poll(chatTexts).not.toContain('Crowddelete this line');
    expect(await page.$(rowButton('delete this line', 'delete'))).toBeNull();

    // Time out for 10 minutes: the troll's next danmaku is refused as MUTED.
    await page.selectOption(`barrage-mod-console >> li:has(.text:text-is("trolling here")) >> select`, '600');
    await page.click(rowButton('trolling here', 'timeout'));
    await expect.poll(() => feedback(page)).toBe('Done: Time out Troll');
    troll.danmaku('still here?');
    await troll.until(() => troll.errors.some((e) => e.code === ErrorCode.ERROR_CODE_MUTED));

    // Ban: the spammer's socket is closed as banned (4502).
    await page.click(rowButton('spam spam spam', 'ban'));
    await expect.poll(() => feedback(page)).toBe('Done: Ban Spammer');
    await spammer.until(() => spammer.closeCode === 4502);

    // Room tab: slow mode reaches the viewer as a line in their chat.
    await page.click('barrage-mod-console >> [data-tab=room]');
    await page.fill('barrage-mod-console >> input[name=slow]', '7');
    await page.click('barrage-mod-console >> button[data-action=slow]');
    await expect.poll(() => feedback(page)).toBe('Done: Slow mode (seconds, 0 = off)');
    await expect.poll(chatTexts).toContain('Slow mode: one message every 7 s');
    await page.fill('barrage-mod-console >> input[name=noticeText]', 'Be nice, everyone');
    await page.click('barrage-mod-console >> button[data-action=notice]');
    await expect.poll(() => feedback(page)).toBe('Done: Post');
    await expect.poll(chatTexts).toContain('Be nice, everyone');
    await screenshot(page, 'console-room');
    troll.close();
    await viewer.close();
    await page.close();
  });

  it('console - the held queue: approve sends it to the room, reject drops it, a decision already made is the server error', async () => {
    const room = 'cons-held';
    const key = server.config.auth.apiKey;
    const put = await fetch(`${server.url}/api/v1/rooms/${room}/filter`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ terms: ['darn'], action: 'hold' }),
    });
    expect(put.status).toBe(200);
    const page = await openConsole(room, 'host');
    const viewer = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'v1', name: 'Val' })));
    // The rules reach the edge within a second: send until one is held.
    await viewer.until(
      () => {
        if (!viewer.errors.some((e) => e.code === ErrorCode.ERROR_CODE_HELD)) viewer.danmaku(`darn it ${Date.now()}`);
        return viewer.errors.some((e) => e.code === ErrorCode.ERROR_CODE_HELD);
      },
      5000,
      'a held danmaku',
    );
    viewer.danmaku('darn twice');
    await page.click('barrage-mod-console >> [data-tab=held]');
    await page.waitForSelector('barrage-mod-console >> li:has(.text:text-is("darn twice")) >> button[data-action=approve]');
    await screenshot(page, 'console-held');
    await page.click('barrage-mod-console >> li:has(.text:text-is("darn twice")) >> button[data-action=approve]');
    await expect.poll(() => feedback(page)).toBe('Done: Approve');
    await viewer.until(() => viewer.texts().includes('darn twice'));
    const first = await page.textContent('barrage-mod-console >> li[data-hold] .text');
    await page.click('barrage-mod-console >> li[data-hold] >> button[data-action=reject]');
    await expect.poll(() => feedback(page)).toBe('Done: Reject');
    expect(viewer.texts()).not.toContain(first);
    expect(await page.textContent('barrage-mod-console >> .empty')).toBe('Nothing is held');
    // A decision on an entry that is no longer there: the server's NOT_FOUND, in words.
    await page.evaluate(() =>
      (document.querySelector('barrage-mod-console') as unknown as { decide(h: { holdId: string }, a: boolean): void }).decide(
        { holdId: 'gone' },
        true,
      ),
    );
    await expect.poll(() => feedback(page)).toBe('Failed: Approve: It is no longer there');
    viewer.close();
    await page.close();
  });

  it('console - inside <barrage-chat> for a moderator, in the chat language', async () => {
    const room = 'cons-chat';
    const token = await server.token({ room, user: 'm2', name: 'Mo', role: 'moderator' });
    const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
    // A page that loads the widget (its overlay watches another room), then a chat with a moderator token.
    await page.goto(`${server.url}/overlay?room=elsewhere`);
    await page.evaluate(
      ([r, t]) => {
        const chat = document.createElement('barrage-chat');
        chat.setAttribute('lang', 'zh-CN');
        chat.style.cssText = 'position:fixed;right:0;top:0;width:420px;height:700px';
        chat.setAttribute('room', r!);
        chat.setAttribute('token', t!);
        document.body.appendChild(chat);
      },
      [room, token],
    );
    await page.click('barrage-chat >> [part=moderate-button]');
    await page.waitForSelector('barrage-chat >> barrage-mod-console >> [role=tab]');
    expect(await page.textContent('barrage-chat >> barrage-mod-console >> [data-tab=held]')).toContain('待审核');
    publishDanmaku(server, room, '删掉这条', { user: { id: 'x', name: '小明' } });
    await page.click('barrage-chat >> ' + rowButton('删掉这条', 'delete'));
    await expect
      .poll(() =>
        page.evaluate(
          () =>
            document
              .querySelector('barrage-chat')!
              .shadowRoot!.querySelector('barrage-mod-console')!
              .shadowRoot!.querySelector('.feedback')!.textContent,
        ),
      )
      .toBe('完成：删除');
    await screenshot(page, 'console-in-chat-zh');
    await page.close();
  });
});
