import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, publishEvent, screenshot } from './browser.js';

/**
 * Every string the widget itself shows (text outside viewers' content,
 * aria-labels, placeholders, titles) in the overlay, its settings panel and
 * the chat, each shadow root walked.
 */
function widgetStrings(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const walk = (root: ShadowRoot | null | undefined): void => {
      if (!root) return;
      for (const el of root.querySelectorAll('*')) {
        for (const attr of ['aria-label', 'placeholder', 'title']) {
          const v = el.getAttribute(attr);
          if (v) out.push(v);
        }
        if (el.shadowRoot) walk(el.shadowRoot);
        // Viewers' own words: danmaku, chat lines other than system lines, the screen-reader log.
        if (el.closest('.d, [role=log], li:not(.system), style')) continue;
        for (const n of el.childNodes) if (n.nodeType === Node.TEXT_NODE && n.textContent?.trim()) out.push(n.textContent.trim());
      }
    };
    walk(document.querySelector('barrage-overlay')?.shadowRoot);
    walk(document.querySelector('barrage-chat')?.shadowRoot);
    return out;
  });
}

async function waitForLang(page: Page, tag: string, lang: string): Promise<void> {
  await page.waitForFunction(
    ([t, l]) => (document.querySelector(t as string) as unknown as { tr: { lang: string } })?.tr?.lang === l,
    [tag, lang],
  );
}

describe('languages', () => {
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

  it('i18n - lang=zh-CN shows no English string in the overlay, its settings and the chat', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, locale: 'en-US' });
    await page.goto(`${server.url}/?room=i18n&lang=zh-CN`);
    await page.waitForFunction(() => document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'));
    await waitForLang(page, 'barrage-chat', 'zh-CN');
    await waitForLang(page, 'barrage-overlay', 'zh-CN');
    // System lines and cards: slow mode, room mode, a gift with a price, a super chat, a notice, likes and online.
    publishEvent(server, 'i18n', { slowMode: { seconds: 5 } });
    // An error answered by the server: the status line reads it by code, in the language.
    await page.waitForFunction(() => document.querySelector('barrage-chat')?.shadowRoot?.querySelector('li.system'));
    for (let i = 0; i < 2; i++) {
      await page.fill('barrage-chat >> input[name=text]', `slow ${i}`);
      await page.click('barrage-chat >> button[type=submit]');
    }
    await page.waitForFunction(() =>
      document.querySelector('barrage-chat')?.shadowRoot?.querySelector('.status')?.textContent?.includes('慢速模式已开启'),
    );
    publishEvent(server, 'i18n', { roomMode: { membersOnly: true, emoteOnly: true } });
    publishEvent(server, 'i18n', {
      superChat: { id: 'sc1', user: { id: 'a', name: 'Alice' }, text: '加油', priceCents: 3000, pinSeconds: 60 },
    });
    publishEvent(server, 'i18n', { likes: { total: 123_456, delta: 1 } });
    publishDanmaku(server, 'i18n', 'hello world', { user: { id: 'b', name: 'Bob' } });
    await page.click('barrage-overlay >> .settings-button');
    await page.waitForFunction(() =>
      document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('barrage-settings')?.shadowRoot?.querySelector('h2'),
    );
    await page.waitForFunction(() => (document.querySelector('barrage-chat')?.shadowRoot?.querySelectorAll('li.system').length ?? 0) >= 2);
    const strings = await widgetStrings(page);
    expect(strings.length).toBeGreaterThan(30);
    expect(strings).toContain('发送');
    expect(strings).toContain('慢速模式：每 5 秒一条');
    expect(strings).toContain('仅会员可发言，仅可发送表情');
    expect(strings.some((s) => s.includes('12.3万'))).toBe(true);
    // Viewers' names are theirs; colour swatches are labelled with their hex code.
    const english = strings.filter((s) => /[A-Za-z]{2,}/.test(s.replace(/Alice|Bob|visitor-\d+|#[0-9a-f]{6}/g, '')));
    expect(english).toEqual([]);
    await screenshot(page, 'i18n-zh-CN');
    await page.close();
  });

  it("i18n - without a lang attribute the page's lang decides, then the browser's", async () => {
    const context = await browser.newContext({ locale: 'zh-TW', viewport: { width: 960, height: 540 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/overlay?room=i18n-tw`);
    await waitForLang(page, 'barrage-overlay', 'zh-TW');
    publishEvent(server, 'i18n-tw', { likes: { total: 5, delta: 5 } });
    await page.evaluate(() => ((document.querySelector('barrage-overlay') as unknown as { controls: boolean }).controls = true));
    await page.waitForFunction(
      () =>
        document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('.settings-button')?.getAttribute('aria-label') === '彈幕設定',
    );
    // The page's lang comes before the browser's, and a change of it is followed.
    await page.evaluate(() => document.documentElement.setAttribute('lang', 'ja'));
    await waitForLang(page, 'barrage-overlay', 'ja');
    await page.waitForFunction(
      () =>
        document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('.settings-button')?.getAttribute('aria-label') ===
        'コメント設定',
    );
    // The element's own attribute comes first; a language without a catalogue is passed over.
    await page.evaluate(() => document.querySelector('barrage-overlay')!.setAttribute('lang', 'en'));
    await waitForLang(page, 'barrage-overlay', 'en');
    await page.evaluate(() => document.querySelector('barrage-overlay')!.setAttribute('lang', 'fr'));
    await waitForLang(page, 'barrage-overlay', 'ja');
    await context.close();
  });
});
