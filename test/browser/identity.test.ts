import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, publishEvent, screenshot, waitForTexts } from './browser.js';

/** A 24x24 emote image, served over http like a site's CDN would. */
const doge = `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><circle cx="12" cy="12" r="11" fill="#f5c542"/><circle cx="8" cy="10" r="2"/><circle cx="16" cy="10" r="2"/><path d="M7 16q5 4 10 0" stroke="#000" fill="none" stroke-width="2"/></svg>`;

describe('badges, medals and emotes', () => {
  let server: TestServer;
  let images: Server;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    buildWidget();
    images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(doge));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    const port = (images.address() as AddressInfo).port;
    const file = join(mkdtempSync(join(tmpdir(), 'emotes-')), 'emotes.json');
    writeFileSync(
      file,
      JSON.stringify({ emotes: [{ code: '[doge]', url: `http://127.0.0.1:${port}/doge.svg`, width: 24, height: 24, name: 'doge' }] }),
    );
    server = await startTestServer({ BARRAGE_EMOTES_FILE: file });
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  afterAll(async () => {
    await closeBrowser?.();
    await server?.stop();
    images?.close();
  });

  it('identity - the chat draws badges, medals and image emotes; the overlay draws emotes, and badges when asked; joins are one line', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}/?room=badges`);
    await page.waitForFunction(() => document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'));
    // The emote catalogue is fetched after the Welcome: wait until the chat has it.
    await page.waitForFunction(() => !(document.querySelector('barrage-chat') as unknown as { emotes: { empty: boolean } }).emotes.empty);
    publishDanmaku(server, 'badges', 'hello [doge] world', {
      user: { id: 'h', name: 'Hostess', role: 3, badges: ['host', 'vip-2026'], medal: { name: '大航海', level: 21 } },
    });
    publishDanmaku(server, 'badges', 'just text', { user: { id: 'm', name: 'Member', badges: ['member'] } });
    publishEvent(server, 'badges', { joinNotice: { users: [{ id: 'a', name: 'Alice' }], count: 24 } });
    const row = 'barrage-chat >> li:has-text("hello")';
    await page.waitForSelector(`${row} >> img.emote`);
    const chat = await page.evaluate(() => {
      const li = [...document.querySelector('barrage-chat')!.shadowRoot!.querySelectorAll('li')].find((l) =>
        l.textContent?.includes('hello'),
      )!;
      const img = li.querySelector('img.emote') as HTMLImageElement;
      return {
        badges: [...li.querySelectorAll('.badge')].map((b) => [b.getAttribute('part'), b.textContent]),
        medal: li.querySelector('.medal')?.textContent,
        medalTitle: (li.querySelector('.medal') as HTMLElement | null)?.title,
        img: { alt: img.alt, loaded: img.complete && img.naturalWidth > 0, height: img.height },
        text: li.textContent,
      };
    });
    expect(chat.badges).toEqual([
      ['badge badge-host', 'Host'],
      ['badge badge-vip-2026', 'vip-2026'],
    ]);
    expect(chat.medal).toBe('大航海21');
    expect(chat.medalTitle).toBe('大航海 level 21');
    expect(chat.img).toEqual({ alt: 'doge', loaded: true, height: 22 });
    expect(chat.text).toBe('Host' + 'vip-2026' + '大航海21' + 'Hostess' + 'hello  world');
    await page.waitForFunction(() =>
      [...document.querySelector('barrage-chat')!.shadowRoot!.querySelectorAll('li.join')].some(
        (l) => l.textContent === 'Alice and 23 others joined',
      ),
    );

    // The overlay: the emote flies as an image inside its danmaku.
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.d img.emote'));
    // Badges on danmaku are off by default, then on when the viewer asks.
    expect(await page.evaluate(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.d .badge').length)).toBe(0);
    await page.evaluate(() => document.querySelector('barrage-overlay')!.applySettings({ danmakuBadges: true }));
    publishDanmaku(server, 'badges', 'with badges [doge]', {
      user: { id: 'h', name: 'Hostess', role: 3, badges: ['host'], medal: { name: '大航海', level: 21 } },
    });
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.d .badge-host'));
    await waitForTexts(page, ['Host大航海21with badges ']);
    await page.waitForFunction(() =>
      document
        .querySelector('barrage-overlay')!
        .stageState()
        .some((s) => s.text === 'with badges [doge]' && s.x < 500),
    );
    await screenshot(page, 'identity-badges-emotes');
    await page.close();
  });
});
