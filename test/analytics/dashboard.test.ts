/**
 * The single-process server with analytics on chDB (the `npm start`
 * default): events published on the bus show up in the API and on the
 * `/dashboard` page in Chromium, which is screenshotted for a human to look at.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../bench/lib/chromium.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardMessages } from '../../widget/dashboard/messages.js';
import { startSingleProcess } from '../../bin/app.js';
import type { SingleProcess } from '../../bin/app.js';
import { testConfig } from '../helpers/config.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { encode } from './events.js';
import { promValue } from '../helpers/metrics.js';

const apiKey = 'test-analytics-key-0123456789';
const room = 'dash-room';
const minute = 60_000;
const end = Math.floor(Date.now() / minute) * minute;
const start = end - 30 * minute;

/** Thirty minutes of a room: chat that grows, online that rises and falls, gifts from three viewers. */
function roomHistory(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const words = ['hype', 'gg', 'lol', '233', 'pog', 'nice', '哈哈'];
  const gifters = [
    { id: 'u-whale', name: 'Whale' },
    { id: 'u-fan', name: 'Big Fan' },
    { id: 'u-lurker', name: 'Lurker' },
  ];
  let seq = 0;
  for (let m = 0; m < 30; m++) {
    const t = start + m * minute;
    for (let i = 0; i < 10 + m * 3; i++) {
      const text = `${words[i % words.length]} ${i % 3 === 0 ? 'gg' : 'hype'}`;
      out.push(
        encode({ room, seq: ++seq, tsMs: t + i * 100, danmaku: { id: `d${seq}`, user: { id: `v${i}`, name: `viewer${i}` }, text } }),
      );
    }
    for (let s = 0; s < 30; s++) {
      out.push(encode({ room, seq, tsMs: t + s * 2000 + 1, online: { count: 100 + Math.round(80 * Math.sin((m / 30) * Math.PI)) } }));
    }
    if (m % 3 === 0) {
      const g = gifters[m % 9 === 0 ? 0 : m % 2 === 0 ? 2 : 1] as { id: string; name: string };
      out.push(
        encode({
          room,
          seq: ++seq,
          tsMs: t + 30_000,
          gift: { id: `g${seq}`, user: g, giftId: 'rocket', name: 'Rocket', count: 2, priceCents: 500 },
        }),
      );
    }
    out.push(encode({ room, seq, tsMs: t + 45_000, likes: { total: (m + 1) * 20, delta: 20 } }));
  }
  // Plays: a red packet at minute 5 (grabbed over two minutes), a poll at minute 10 still open at the end.
  const host = { id: 'host-1', name: '主播', role: 3 };
  const at = (m: number, s: number): number => start + m * minute + s * 1000;
  out.push(
    encode({
      room,
      seq: ++seq,
      tsMs: at(5, 50),
      actor: host,
      redPacket: { id: 'rp1', sender: host, totalCents: 888, count: 8, greeting: '恭喜发财' },
    }),
  );
  out.push(encode({ room, seq, tsMs: at(5, 52), redPacketProgress: { id: 'rp1', grabbed: 5, count: 8, grabbedCents: 500 } }));
  out.push(encode({ room, seq, tsMs: at(6, 10), redPacketProgress: { id: 'rp1', grabbed: 8, count: 8, grabbedCents: 888 } }));
  out.push(encode({ room, seq: ++seq, tsMs: at(6, 11), redPacketEnded: { id: 'rp1', grabbed: 8, count: 8, grabbedCents: 888 } }));
  out.push(
    encode({ room, seq: ++seq, tsMs: at(10, 5), actor: host, poll: { id: 'po1', question: '下一局？', options: ['甲', '乙'], by: host } }),
  );
  for (let m = 10; m < 14; m++)
    out.push(encode({ room, seq, tsMs: at(m, 30), pollTally: { id: 'po1', votes: [m, 1], voters: (m - 9) * 10 } }));
  return out;
}

describe('analytics dashboard - single process with chDB', () => {
  let app: SingleProcess;
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-dash-'));
  const events = roomHistory();
  // Online counts are stored once per room and minute (the minute's peak): 30 rows of the 900 samples.
  const stored = events.length - 30 * 30 + 30;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { stdio: 'inherit' });
    // One API key per process: the edge checks it before routing to analytics.
    const config = testConfig({
      BARRAGE_API_KEY: apiKey,
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    app = await startSingleProcess(config, createLogger('silent'), { processMetrics: false, analyticsSink: { flushMs: 50 } });
    await app.analytics?.ready;
    for (const e of events) app.bus.publish(subjects.events(room), e);
    await app.bus.flush();
    await app.analytics?.sink.flush();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('api - stats need the key and count what was published', async () => {
    const url = `http://127.0.0.1:${app.port}/api/v1/rooms/${room}/stats?from=${start}&to=${end}`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as Record<string, number>;
    const messages = Array.from({ length: 30 }, (_, m) => 10 + m * 3).reduce((a, b) => a + b, 0);
    expect(stats['messages']).toBe(messages);
    expect(stats['gifts']).toBe(20);
    expect(stats['revenueCents']).toBe(10 * 2 * 500);
    expect(stats['likes']).toBe(600);
    expect(stats['peakOnline']).toBe(180);
    expect(stats['events']).toBe(stored);
    const bad = await fetch(`http://127.0.0.1:${app.port}/api/v1/rooms/${room}/stats?from=${end}&to=${start}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(bad.status).toBe(400);
  });

  it('metrics - the edge /metrics counts what the sink stored', async () => {
    const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    const value = (name: string) => promValue(text, name);
    expect(value('barrage_analytics_events_inserted_total')).toBe(stored);
    expect(value('barrage_analytics_events_received_total')).toBe(events.length);
    expect(value('barrage_analytics_counters_skipped_total')).toBe(events.length - stored);
    expect(value('barrage_analytics_queued_events')).toBe(0);
    expect(value('barrage_analytics_events_dropped_total')).toBe(0);
  });

  it('dashboard - renders the charts and tables from real data in Chromium', async () => {
    browser = await chromium.launch(chromiumLaunchOptions());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${app.port}/dashboard?room=${room}&from=${start}&to=${end}#key=${apiKey}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/analytics-dashboard.png', fullPage: true });

    expect(errors).toEqual([]);
    expect(page.url()).not.toContain(apiKey); // the key left the address bar
    expect(await page.locator('[data-metric="messages"] .value').textContent()).toBe('1,605');
    expect(await page.locator('[data-metric="peak-online"] .value').textContent()).toBe('180');
    expect(await page.locator('[data-metric="revenue"] .value').textContent()).toBe('$100.00');
    const gifters = await page.locator('#top-gifters tbody tr').allTextContents();
    expect(gifters[0]).toContain('Whale');
    expect(gifters).toHaveLength(3);
    const firstWord = await page.locator('#top-words tbody tr').first().textContent();
    expect(firstWord).toMatch(/^hype/);
    // Plays: the cards, the list (newest first), and the sixth chart.
    expect(await page.locator('[data-metric="plays-started"] .value').textContent()).toBe('2');
    expect(await page.locator('[data-metric="grabs"] .value').textContent()).toBe('8');
    expect(await page.locator('[data-metric="votes"] .value').textContent()).toBe('40');
    const plays = await page.locator('#plays tbody tr').allTextContents();
    expect(plays).toHaveLength(2);
    expect(plays[0]).toMatch(/^Poll: 下一局？主播.*40 \(open\)$/);
    expect(plays[1]).toMatch(/^Red packet: 恭喜发财主播.*8$/);
    // Six uPlot charts, each drawn on a canvas with something on it.
    expect(await page.locator('.uplot canvas').count()).toBe(6);
    const inked = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLCanvasElement>('.uplot canvas')).map((c) => {
        const px = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if ((px[i] as number) > 0) n++;
        return n;
      }),
    );
    for (const n of inked) expect(n).toBeGreaterThan(500);
  });

  it('dashboard - lang=zh-CN shows no English string of the page, and formats numbers and money with Intl', async () => {
    browser ??= await chromium.launch(chromiumLaunchOptions());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${app.port}/dashboard?room=${room}&from=${start}&to=${end}&lang=zh-CN&currency=CNY#key=${apiKey}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
    await page.screenshot({ path: 'test-results/analytics-dashboard-zh-CN.png', fullPage: true });
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(await page.title()).toBe(dashboardMessages['zh-CN'].title);
    // The page's own text, charts' legends and axes included (data aside: viewer names and words come from
    // the room), holds no English string.
    const shown = await page.evaluate(() => {
      for (const el of document.querySelectorAll('#top-gifters tbody, #top-words tbody, #chart-words')) el.remove();
      // The plays list keeps its labels (translated); only the data in it is the room's.
      return document.body.innerText;
    });
    for (const english of Object.values(dashboardMessages.en)) {
      const fixed = english.split(/\{\w+\}/).filter((part) => /[A-Za-z]{2,}/.test(part));
      for (const part of fixed) expect(shown, part).not.toContain(part.trim());
    }
    expect(await page.locator('[data-metric="messages"] .value').textContent()).toBe(new Intl.NumberFormat('zh-CN').format(1605));
    expect(await page.locator('[data-metric="revenue"] .value').textContent()).toBe(
      new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY' }).format(100),
    );
    expect(await page.locator('[data-metric="messages"] .label').textContent()).toBe(dashboardMessages['zh-CN'].messages);
    expect(await page.locator('#plays tbody tr').first().textContent()).toContain(`${dashboardMessages['zh-CN'].poll}: 下一局？`);
    await page.close();
  });
});
