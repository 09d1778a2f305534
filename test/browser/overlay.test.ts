import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { SkipReason, v1 } from '../../proto/index.js';
import { subjects } from '../../domain/subjects.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, publishDanmaku, publishEvent, screenshot, shownTexts, waitForTexts } from './browser.js';

/** Opens the OBS page for a room and waits for its Welcome. */
async function openOverlay(browser: Browser, server: TestServer, query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(`${server.url}/overlay?${query}`);
  await page.waitForFunction(
    () =>
      document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('[role=log]') &&
      (document.querySelector('barrage-overlay') as unknown as { welcomed?: unknown }).welcomed,
  );
  return page;
}

describe('overlay', () => {
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

  it('overlay - 200 danmaku at once: none overlaps another in its lane', async () => {
    const page = await openOverlay(browser, server, 'room=flood');
    for (let i = 0; i < 200; i++) publishDanmaku(server, 'flood', `${i} ${'w'.repeat(i % 17)} danmaku`, { mode: i % 10 === 0 ? 1 : 0 });
    await page.waitForFunction(() => (document.querySelector('barrage-overlay')?.stageStats().shown ?? 0) > 20);
    for (const wait of [300, 1500]) {
      await sleep(wait);
      // Positions from the DOM (the animated transforms) and lanes from the renderer.
      const shown = await page.evaluate(() => {
        const overlay = document.querySelector('barrage-overlay');
        const rects = [...(overlay?.shadowRoot?.querySelectorAll('.d') ?? [])].map((el) => {
          const r = el.getBoundingClientRect();
          return {
            text: el.textContent ?? '',
            top: Math.round(r.top),
            left: r.left,
            right: r.right,
            fixed: el.classList.contains('f'),
          };
        });
        return { rects, state: overlay?.stageState() ?? [] };
      });
      expect(shown.rects.length).toBeGreaterThan(15);
      const tracks = new Map<string, typeof shown.rects>();
      for (const r of shown.rects) {
        const key = `${r.fixed ? 'fixed' : 'scroll'}@${r.top}`;
        tracks.set(key, [...(tracks.get(key) ?? []), r]);
      }
      expect(tracks.size).toBeGreaterThan(5);
      for (const [, track] of tracks) {
        track.sort((a, b) => a.left - b.left);
        for (let i = 1; i < track.length; i++)
          expect(track[i]!.left, `${track[i - 1]!.text} / ${track[i]!.text}`).toBeGreaterThanOrEqual(track[i - 1]!.right);
      }
      // The renderer agrees: within a lane, each scroll danmaku starts after the one ahead ends.
      const lanes = new Map<number, Array<{ x: number; width: number }>>();
      for (const s of shown.state.filter((s) => s.mode === 0)) lanes.set(s.lane, [...(lanes.get(s.lane) ?? []), s]);
      for (const lane of lanes.values()) {
        lane.sort((a, b) => a.x - b.x);
        for (let i = 1; i < lane.length; i++) expect(lane[i]!.x).toBeGreaterThanOrEqual(lane[i - 1]!.x + lane[i - 1]!.width);
      }
    }
    const stats = await page.evaluate(() => document.querySelector('barrage-overlay')!.stageStats());
    expect(stats.shown + stats.waiting + stats.dropped).toBeLessThanOrEqual(200);
    await screenshot(page, 'overlay-flood');
    await page.close();
  });

  it('overlay - malicious strings render as inert text', async () => {
    const page = await openOverlay(browser, server, 'room=evil');
    const mallory = await TestClient.connect(
      server.wsUrl('evil', await server.token({ room: 'evil', user: 'm', name: '<img src=x onerror=window.pwned=1>' })),
    );
    const evil = [
      '<img src=x onerror="window.pwned=1">',
      '<script>window.pwned=1</script>',
      '"><svg onload=window.pwned=1>',
      '{{TOKEN}} &amp; &lt;b&gt;',
    ];
    // Through the edge (which lets markup through as text)...
    for (const t of evil.slice(0, 2)) mallory.danmaku(t);
    // ...and straight into the room, as a peer that skipped validation could: controls, bidi overrides, zalgo.
    for (const t of evil.slice(2)) publishDanmaku(server, 'evil', t);
    publishDanmaku(server, 'evil', 'line\nbreak\u202Eevil\u0000 Z\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308');
    await waitForTexts(page, evil);
    const result = await page.evaluate(() => {
      const root = document.querySelector('barrage-overlay')!.shadowRoot!;
      const d = [...root.querySelectorAll('.d')];
      const odd = d.find((e) => e.textContent?.startsWith('line'))!;
      return {
        pwned: (window as unknown as { pwned?: number }).pwned,
        elements: root.querySelectorAll('img, script, svg, b').length,
        odd: odd.textContent,
        oddHeight: odd.getBoundingClientRect().height,
        fontSize: parseFloat(getComputedStyle(odd).fontSize),
        log: root.querySelector('[role=log]')!.textContent,
      };
    });
    expect(result.pwned).toBeUndefined();
    expect(result.elements).toBe(0);
    expect(result.odd).toBe('line break evil  Z\u0301\u0302\u0303');
    expect(result.oddHeight).toBeLessThan(result.fontSize * 1.5);
    expect(result.log).toContain('<img src=x onerror=window.pwned=1>: <img src=x onerror="window.pwned=1">');
    mallory.close();
    await page.close();
  });

  it('overlay - a retracted danmaku disappears mid-flight', async () => {
    const page = await openOverlay(browser, server, 'room=mod');
    publishDanmaku(server, 'mod', 'this one stays');
    publishDanmaku(server, 'mod', 'this one is deleted');
    await waitForTexts(page, ['this one stays', 'this one is deleted']);
    await sleep(500);
    const id = await page.evaluate(
      () =>
        document
          .querySelector('barrage-overlay')!
          .stageState()
          .find((s) => s.text === 'this one is deleted')!.id,
    );
    const before = await page.evaluate(
      () =>
        document
          .querySelector('barrage-overlay')!
          .stageState()
          .find((s) => s.text === 'this one is deleted')!.x,
    );
    expect(before).toBeLessThan(1280); // on its way across
    publishEvent(server, 'mod', { retract: { danmakuId: id } });
    await page.waitForFunction(
      () =>
        !document
          .querySelector('barrage-overlay')!
          .stageState()
          .some((s) => s.text === 'this one is deleted'),
      undefined,
      {
        timeout: 2000,
      },
    );
    expect(await shownTexts(page)).toEqual(['this one stays']);
    await page.close();
  });

  it('overlay - OBS page is transparent, configured by its query, and pauses while hidden', async () => {
    const page = await openOverlay(browser, server, 'room=obs&modes=scroll,top&opacity=0.6&scale=1.5&block=secret');
    publishDanmaku(server, 'obs', 'scrolling along');
    publishDanmaku(server, 'obs', 'top danmaku', { mode: 1, color: 0xffd302 });
    publishDanmaku(server, 'obs', 'bottom is off here', { mode: 2, color: 0x00a0ea });
    publishDanmaku(server, 'obs', 'a secret word', { mode: 1 });
    await waitForTexts(page, ['top danmaku', 'scrolling along']);
    await sleep(300);
    expect((await shownTexts(page)).sort()).toEqual(['scrolling along', 'top danmaku']);
    const looks = await page.evaluate(() => ({
      html: getComputedStyle(document.documentElement).backgroundColor,
      body: getComputedStyle(document.body).backgroundColor,
      opacity: getComputedStyle(document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.stage')!).opacity,
      fontSize: parseFloat(getComputedStyle(document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.d')!).fontSize),
      saved: localStorage.length,
    }));
    expect(looks).toMatchObject({ html: 'rgba(0, 0, 0, 0)', body: 'rgba(0, 0, 0, 0)', opacity: '0.6', saved: 0 });
    expect(looks.fontSize).toBeGreaterThan(35); // 1.5 x the 26.7 px base at 720p
    await page.screenshot({ path: 'test-results/obs.png', omitBackground: true });

    // OBS hides a source by hiding the page.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    expect(await page.evaluate(() => document.querySelector('barrage-overlay')!.paused)).toBe(true);
    const position = () =>
      page.evaluate(() => {
        const root = document.querySelector('barrage-overlay')!.shadowRoot!;
        const el = [...root.querySelectorAll('.d')].find((e) => e.textContent === 'scrolling along')!;
        return { x: el.getBoundingClientRect().left, states: root.getAnimations().map((a) => a.playState) };
      });
    await sleep(100); // a pause takes effect at the next frame
    const frozen = await position();
    expect(new Set(frozen.states)).toEqual(new Set(['paused']));
    await sleep(300);
    expect((await position()).x).toBe(frozen.x);
    publishDanmaku(server, 'obs', 'sent while hidden', { mode: 1 });
    await sleep(400);
    expect(await shownTexts(page)).not.toContain('sent while hidden');
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    expect(await page.evaluate(() => document.querySelector('barrage-overlay')!.paused)).toBe(false);
    await page.close();
  });

  it('overlay - gift combos, super chats, likes, online count and "+N more"', async () => {
    const page = await openOverlay(browser, server, 'room=gifts');
    const user = { id: 'u9', name: 'Generous' };
    for (let combo = 1; combo <= 5; combo++) {
      publishEvent(server, 'gifts', {
        gift: { id: `g${combo}`, user, giftId: 'rocket', name: 'Rocket', count: 1, combo, comboId: 'c1', priceCents: 500 },
      });
    }
    publishEvent(server, 'gifts', {
      superChat: { id: 's1', user, text: 'Love the stream! <b>not bold</b>', priceCents: 5000, pinSeconds: 60, color: 0xe62117 },
    });
    publishEvent(server, 'gifts', { likes: { total: 12345, delta: 10 } });
    publishDanmaku(server, 'gifts', 'nice gift!');
    // A batch that says the server thinned this viewer's chat, fed through the connection as the socket would.
    const thinned = [
      ...v1.ServerFrame.encode({ batch: { room: 'gifts', skipped: 42, skipReason: SkipReason.SKIP_REASON_OVERLOAD } }).finish(),
    ];
    await page.evaluate((bytes) => document.querySelector('barrage-overlay')!.activeConnection!.receive(new Uint8Array(bytes)), thinned);
    await page.waitForFunction(
      () => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.gift .combo')?.textContent === 'x5',
    );
    await page.waitForFunction(
      () => /watching/.test(document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.counters')!.textContent!),
      undefined,
      {
        timeout: 4000,
      },
    );
    const shadow = await page.evaluate(() => {
      const root = document.querySelector('barrage-overlay')!.shadowRoot!;
      return {
        gifts: root.querySelectorAll('.gift').length,
        superChat: root.querySelector('.super-chat p')?.textContent,
        counters: root.querySelector('.counters')?.textContent?.replace(/\s+/g, ' ').trim(),
        skipped: root.querySelector('.skipped')?.textContent,
      };
    });
    expect(shadow.gifts).toBe(1); // one alert that counted up, not five
    expect(shadow.superChat).toBe('Love the stream! <b>not bold</b>');
    expect(shadow.skipped).toBe('+42 more');
    expect(shadow.counters).toMatch(/1 watching ♥ 12(\.3)?K/);
    await screenshot(page, 'overlay-alerts');
    // A moderator unpins the super chat early: it leaves every screen.
    publishEvent(server, 'gifts', { superChatRemoved: { id: 's1', byUserId: 'mod' } });
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.super-chat') === null);
    await page.close();
  });

  it('overlay - a super chat arriving long after the welcome is pinned for its own time, not longer', async () => {
    const page = await openOverlay(browser, server, 'room=later');
    await sleep(3_000); // the page has been open a while
    publishEvent(server, 'later', {
      superChat: { id: 's-late', user: { id: 'u', name: 'U' }, text: 'short one', priceCents: 100, pinSeconds: 1 },
    });
    const sc = () => page.evaluate(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.super-chat') !== null);
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.super-chat') !== null);
    const shownAt = Date.now();
    await page.waitForFunction(
      () => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.super-chat') === null,
      undefined,
      {
        timeout: 10_000,
      },
    );
    // Pinned for 1 s (plus the ticker's step), not 1 s plus the 3 s the page had been open.
    expect(Date.now() - shownAt).toBeLessThan(2_500);
    expect(await sc()).toBe(false);
    await page.close();
  });

  it('overlay - the top gifters, when asked for, from the leaderboard core pushes', async () => {
    const shown = await openOverlay(browser, server, 'room=board&top=2');
    const plain = await openOverlay(browser, server, 'room=board');
    // A counter event, published as core's gift service publishes it (not sequenced).
    const leaderboard = {
      entries: [
        { user: { id: 'u1', name: '<img src=x onerror=alert(1)>' }, totalCents: 12_000, gifts: 12 },
        { user: { id: 'u2', name: '老板' }, totalCents: 5_050, gifts: 3 },
        { user: { id: 'u3', name: 'Third' }, totalCents: 100, gifts: 1 },
      ],
      totalCents: 17_150,
      totalGifts: 16,
    };
    server.bus.publish(subjects.events('board'), v1.Event.encode({ room: 'board', seq: 0, tsMs: Date.now(), leaderboard }).finish());
    await shown.waitForFunction(
      () => document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.top-gifters li').length === 2,
    );
    const rows = await shown.evaluate(() =>
      [...document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.top-gifters li')].map((li) =>
        li.textContent!.replace(/\s+/g, ' ').trim(),
      ),
    );
    expect(rows).toEqual(['1 <img src=x onerror=alert(1)> 120.00', '2 老板 50.50']);
    expect(await shown.evaluate(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('img'))).toBeNull();
    await screenshot(shown, 'overlay-top-gifters');
    await plain.waitForFunction(() => (document.querySelector('barrage-overlay') as unknown as { leaderboard?: unknown }).leaderboard);
    expect(await plain.evaluate(() => document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.top-gifters'))).toBeNull();
    await shown.close();
    await plain.close();
  });

  it('overlay - a danmaku passing the counters is drawn over them, not hidden behind them', async () => {
    const page = await openOverlay(browser, server, 'room=layers');
    publishEvent(server, 'layers', { online: { count: 12 } });
    publishDanmaku(server, 'layers', 'must stay readable '.repeat(3));
    // The overlay lets clicks through (pointer-events: none), which also hides it
    // from hit testing; for this test only, make both layers hit-testable. Paint
    // order, which is what is checked, does not depend on pointer events.
    await page.evaluate(() => {
      const style = document.createElement('style');
      style.textContent = '.stage, .stage *, .counters, .counters * { pointer-events: auto !important; }';
      document.querySelector('barrage-overlay')!.shadowRoot!.append(style);
    });
    // Wait until the danmaku crosses the counters badge, then ask what is drawn there.
    const topmost = await page.waitForFunction(
      () => {
        const root = document.querySelector('barrage-overlay')!.shadowRoot!;
        const badge = root.querySelector('.counters .card')?.getBoundingClientRect();
        const d = [...root.querySelectorAll('.stage .d')].find((e) => e.textContent?.includes('must stay readable'));
        const r = d?.getBoundingClientRect();
        if (!badge || !r) return false;
        const x = Math.max(badge.left, r.left) + 2;
        const y = Math.max(badge.top, r.top) + 2;
        if (x > Math.min(badge.right, r.right) - 2 || y > Math.min(badge.bottom, r.bottom) - 2) return false;
        const hit = root.elementFromPoint(x, y);
        return hit?.closest('.stage') ? 'danmaku' : hit?.closest('.counters') ? 'counters' : String(hit?.className);
      },
      undefined,
      { timeout: 15_000 },
    );
    expect(await topmost.jsonValue()).toBe('danmaku');
    await page.close();
  });

  it('overlay - reduced motion shows a static list', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 450 }, reducedMotion: 'reduce' });
    await page.goto(`${server.url}/overlay?room=calm`);
    await page.waitForFunction(() => (document.querySelector('barrage-overlay') as unknown as { welcomed?: unknown }).welcomed);
    publishDanmaku(server, 'calm', 'no motion please');
    await page.waitForFunction(() =>
      document.querySelector('barrage-overlay')!.shadowRoot!.querySelector('.list')?.textContent?.includes('no motion please'),
    );
    expect(await shownTexts(page)).toEqual([]);
    await page.close();
  });
});
