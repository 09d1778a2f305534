/**
 * Play cards in a real Chromium on the demo page (overlay and chat): the
 * plays chunk loads with the first play event; the red packet card's grab
 * button fires a cancelable `barrage-red-packet-grab` (canceled: nothing is
 * sent), then grabs and shows the share and the luckiest line; the poll card
 * votes by a click and shows live bars and a quiz's answer; the lottery card
 * joins and shows the winners; the chat shows the lines. Screenshots of each
 * card go to test-results/plays-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, screenshot } from '../browser/browser.js';

const apiKey = 'w'.repeat(32);

describe('play cards - browser', () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    buildWidget();
    server = await startTestServer({ BARRAGE_API_KEY: apiKey });
    ({ browser, close: closeBrowser } = await launchBrowser());
  }, 60_000);
  afterAll(async () => {
    await closeBrowser?.();
    await server?.stop();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}/api/v1/rooms/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };
  const openDemo = async (room: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}/?room=${room}`);
    await page.waitForFunction(() => document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'));
    return page;
  };
  const cardText = (page: Page, part: string) =>
    page.evaluate((p) => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector(`[part~="${p}"]`)?.textContent ?? '', part);
  const chatText = (page: Page) =>
    page.evaluate(() =>
      [...(document.querySelector('barrage-chat')?.shadowRoot?.querySelectorAll('li') ?? [])].map((li) => li.textContent ?? ''),
    );

  it('play cards - red packet: grab event is cancelable, then the share, the luckiest line and the chat lines', async () => {
    const page = await openDemo('cards1');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The site wants a login first: it cancels the first grab.
    await page.evaluate(() => {
      let first = true;
      document.addEventListener('barrage-red-packet-grab', (e) => {
        (window as unknown as { grabs: number }).grabs = ((window as unknown as { grabs?: number }).grabs ?? 0) + 1;
        if (first) e.preventDefault();
        first = false;
      });
    });
    await post('cards1/red-packets', { sender: { id: 'host', name: 'The Host' }, total_cents: 888, count: 1, greeting: '恭喜发财' });
    await page.waitForFunction(() => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="red-packet"] button'));
    expect(await cardText(page, 'red-packet')).toContain('The Host');
    await screenshot(page, 'plays-red-packet-open');
    await page.click('barrage-overlay >> [part~="grab"]');
    await page.waitForFunction(() => (window as unknown as { grabs?: number }).grabs === 1);
    // Canceled: nothing was sent, the button is still there.
    expect(await cardText(page, 'play-result')).toBe('');
    expect(await cardText(page, 'grab')).toBe('Grab');
    await page.click('barrage-overlay >> [part~="grab"]');
    await page.waitForFunction(() =>
      document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="red-packet"] .luckiest'),
    );
    const text = await cardText(page, 'red-packet');
    expect(await cardText(page, 'play-result')).toMatch(/You got .*8\.88/);
    expect(text).toMatch(/Luckiest/);
    await screenshot(page, 'plays-red-packet-result');
    await expect
      .poll(() => chatText(page), { timeout: 5_000 })
      .toEqual(expect.arrayContaining([expect.stringMatching(/grabbed the red packet/)]));
    expect(errors).toEqual([]);
  }, 30_000);

  it('play cards - poll and quiz: a click votes, the bars move, the quiz shows its answer', async () => {
    const page = await openDemo('cards2');
    const quiz = await post('cards2/polls', { question: 'Which year?', options: ['2024', '2025', '2026'], duration_s: 5, correct: 2 });
    await page.waitForFunction(() =>
      document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="poll"] [part~="option"]'),
    );
    await page.click('barrage-overlay >> [part~="poll"] [part~="option"] >> nth=2');
    await page.waitForFunction(
      () => (document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="poll"]')?.textContent ?? '').includes('1 voted'),
      undefined,
      { timeout: 5_000 },
    );
    await screenshot(page, 'plays-poll-live');
    await page.waitForFunction(
      () => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="poll"] [part~="play-result"]'),
      undefined,
      { timeout: 10_000 },
    );
    const text = await cardText(page, 'poll');
    expect(text).toContain('Answer: 2026');
    expect(text).toContain('1 answered right');
    expect(quiz.id).toMatch(/^[0-9a-f]+$/);
    await screenshot(page, 'plays-quiz-result');
  }, 30_000);

  it('play cards - lottery: join, entrants, winners', async () => {
    const page = await openDemo('cards3');
    await post('cards3/lotteries', { prize: 'A signed poster', winners: 1, duration_s: 5, entry: 'any' });
    await page.waitForFunction(() => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="join"]'));
    await page.click('barrage-overlay >> [part~="join"]');
    await page.waitForFunction(
      () =>
        (document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="lottery"]')?.textContent ?? '').includes(
          '1 entered',
        ),
      undefined,
      { timeout: 5_000 },
    );
    await screenshot(page, 'plays-lottery-open');
    await page.waitForFunction(
      () => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[part~="lottery"] [part~="play-result"]'),
      undefined,
      { timeout: 10_000 },
    );
    expect(await cardText(page, 'lottery')).toMatch(/Winners: \S+/);
    await screenshot(page, 'plays-lottery-result');
    await expect.poll(() => chatText(page), { timeout: 5_000 }).toEqual(expect.arrayContaining([expect.stringMatching(/Winners:/)]));
  }, 30_000);
});
