/**
 * Overlay replay mode in Chromium, on the /replay demo page over a recorded
 * video (chDB): danmaku appear when the playhead reaches their video time,
 * hold still while the player is paused, move twice as fast at 2x, and after
 * a seek (forwards or back) the screen holds what would be on it at the new
 * time, placed where it would be, not a burst at the right edge. Asserts on
 * what is painted (the danmaku elements' boxes) and saves screenshots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, screenshot } from './browser.js';
import { startReplayServer } from './replay-server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-replay-browser-'));
const video = 'tv1';
/** Video time (ms) of each danmaku; the text says it. */
const times: Record<string, number> = {
  'at 2s': 2_000,
  'at 5s': 5_000,
  'at 20s': 20_000,
  'at 21s': 21_000,
  'at 24s': 24_000,
  'at 40s': 40_000,
};

interface Painted {
  text: string;
  left: number;
}

/** The danmaku painted in the overlay now, with where their left edge is. */
const painted = (page: Page): Promise<Painted[]> =>
  page.evaluate(() => {
    const o = document.querySelector('barrage-overlay') as HTMLElement;
    const base = o.getBoundingClientRect().left;
    return [...(o.shadowRoot?.querySelectorAll('.d') ?? [])].map((e) => ({
      text: e.textContent ?? '',
      left: e.getBoundingClientRect().left - base,
    }));
  });
const texts = async (page: Page): Promise<string[]> => (await painted(page)).map((p) => p.text).sort();
const leftOf = async (page: Page, text: string): Promise<number | undefined> => (await painted(page)).find((p) => p.text === text)?.left;
const player = (page: Page, script: string): Promise<unknown> =>
  page.evaluate(`(async (p) => { ${script} })(document.getElementById('player'))`);

/** A danmaku's first paint: the playhead then, the frame's duration and how far the playhead moved since the frame before (ms). */
interface Paint {
  mediaMs: number;
  frameMs: number;
  stepMs: number;
}

/**
 * Records, in the page, every animation frame's time and playhead and, for
 * each danmaku text, the playhead, the frame's duration and the playhead's
 * step since the previous frame when it is first painted (inserted into the
 * overlay: the stage inserts in the frame it places).
 */
const recordPaints = (p: Page): Promise<void> =>
  p.evaluate(() => {
    const w = window as unknown as { paints: Record<string, Paint>; frames: Array<[number, number]> };
    if (w.paints) return;
    const o = document.querySelector('barrage-overlay') as HTMLElement;
    const v = document.getElementById('player') as HTMLVideoElement;
    w.paints = {};
    w.frames = [];
    const frame = (t: number) => {
      w.frames.push([t, v.currentTime * 1000]);
      if (w.frames.length > 2_000) w.frames.splice(0, 1_000);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    new MutationObserver(() => {
      // Inside the frame callback that inserted it: this frame against the one before.
      const f = w.frames;
      const now = Number(document.timeline.currentTime);
      const media = v.currentTime * 1000;
      const prev = f[f.length - 1]?.[0] === now ? f[f.length - 2] : f[f.length - 1];
      const frameMs = prev === undefined ? NaN : now - prev[0];
      const stepMs = prev === undefined ? NaN : media - prev[1];
      for (const e of o.shadowRoot?.querySelectorAll('.d') ?? []) w.paints[e.textContent ?? ''] ??= { mediaMs: media, frameMs, stepMs };
    }).observe(o.shadowRoot as ShadowRoot, { subtree: true, childList: true });
  });

/** The paints recorded, and the page's median frame duration (ms). */
const paints = (p: Page): Promise<{ seen: Record<string, Paint>; frameMs: number }> =>
  p.evaluate(() => {
    const w = window as unknown as { paints: Record<string, Paint>; frames: Array<[number, number]> };
    const gaps = w.frames.slice(1).map(([t], i) => t - (w.frames[i] as [number, number])[0]);
    gaps.sort((a, b) => a - b);
    return { seen: w.paints, frameMs: gaps[Math.floor(gaps.length / 2)] ?? NaN };
  });

/**
 * A danmaku painted within one frame of its video time: the playhead at its
 * first paint differs from its time by at most that frame, i.e. its duration
 * (~16.7 ms at 60 Hz) or, when the player's clock jumped (a busy machine
 * stalls the media clock, then it catches up), the playhead's step since the
 * frame before: no frame nearer its time was painted.
 */
function expectWithinFrame(seen: Record<string, Paint>, text: string, atMs: number, medianFrameMs: number): void {
  const paint = seen[text];
  expect(paint, text).toBeDefined();
  const { mediaMs, frameMs, stepMs } = paint as Paint;
  const frame = Math.max(medianFrameMs, Number.isFinite(frameMs) ? frameMs : 0, Number.isFinite(stepMs) ? stepMs : 0);
  console.log(
    `replay timing: ${text} painted at ${mediaMs.toFixed(1)} ms for ${atMs} (${(mediaMs - atMs).toFixed(1)} ms; ` +
      `frame ${frameMs.toFixed(1)} ms, playhead step ${stepMs.toFixed(1)} ms, median frame ${medianFrameMs.toFixed(1)} ms)`,
  );
  expect(medianFrameMs).toBeLessThan(40); // the page ran at a frame rate at all
  expect(Math.abs(mediaMs - atMs), text).toBeLessThanOrEqual(frame + 1);
}

describe('replay overlay in chromium', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let page: Page;
  let chromium: Browser;

  beforeAll(async () => {
    buildWidget();
    server = await startReplayServer(dir, video, times);
    const browser = await launchBrowser();
    close = browser.close;
    chromium = browser.browser;
    page = await browser.browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The first segment is in the page before playback starts (a late fetch makes late danmaku, which is not what is timed).
    const segment = page.waitForResponse((r) => r.url().includes('/danmaku?segment=0'), { timeout: 20_000 });
    await page.goto(`${server.url}/replay?video=${video}`);
    await segment;
    await page.waitForFunction(() => (document.getElementById('player') as HTMLVideoElement).readyState >= 1, undefined, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => !!document.querySelector('barrage-heatmap')?.shadowRoot?.querySelector('canvas'), undefined, {
      timeout: 10_000,
    });
  }, 120_000);
  afterAll(async () => {
    await close?.();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replay - each danmaku appears in the frame nearest its video time (± one frame), stands still while paused', async () => {
    expect(await texts(page)).toEqual([]);
    await recordPaints(page);
    await player(page, 'await p.play();');
    await page.waitForFunction(() => (document.getElementById('player') as HTMLVideoElement).currentTime > 5.3, undefined, {
      timeout: 15_000,
    });
    await player(page, 'p.pause();');
    const { seen, frameMs } = await paints(page);
    for (const text of ['at 2s', 'at 5s']) expectWithinFrame(seen, text, times[text] as number, frameMs);
    expect(await texts(page)).toEqual(['at 2s', 'at 5s']);
    await screenshot(page, 'replay-paused-5s');
    const before = await painted(page);
    await page.waitForTimeout(600);
    expect(await painted(page)).toEqual(before); // nothing moves while paused
  });

  it('replay - a seek forwards shows what would be on screen there, placed as it would be', async () => {
    await player(page, 'p.currentTime = 24.5; await new Promise((r) => p.addEventListener("seeked", r, { once: true }));');
    await expect.poll(() => texts(page), { timeout: 5_000 }).toEqual(['at 20s', 'at 21s', 'at 24s']);
    // Sent 4.5, 3.5 and 0.5 s before the playhead: the older, the further left (not all at the right edge).
    const [a = NaN, b = NaN, c = NaN] = [await leftOf(page, 'at 20s'), await leftOf(page, 'at 21s'), await leftOf(page, 'at 24s')];
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    const width = await page.evaluate(() => (document.querySelector('barrage-overlay') as HTMLElement).clientWidth);
    expect(c).toBeGreaterThan(width * 0.85);
    expect(a).toBeLessThan(width * 0.7);
    await screenshot(page, 'replay-seek-24s');
  });

  it('replay - at 2x danmaku move twice as fast', async () => {
    // px per ms of the painted box, measured in the page (one clock, no round trips in between).
    const speed = (): Promise<number> =>
      page.evaluate(async () => {
        const el = () =>
          [...(document.querySelector('barrage-overlay')?.shadowRoot?.querySelectorAll('.d') ?? [])].find(
            (e) => e.textContent === 'at 24s',
          );
        const x0 = el()?.getBoundingClientRect().left ?? NaN;
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, 1_000));
        const x1 = el()?.getBoundingClientRect().left ?? NaN;
        return (x0 - x1) / (performance.now() - t0);
      });
    // A fresh danmaku at each rate: seek back a little so 'at 24s' enters again.
    await player(page, 'p.currentTime = 23.9; await new Promise((r) => p.addEventListener("seeked", r, { once: true })); await p.play();');
    await expect.poll(() => texts(page), { timeout: 5_000 }).toContain('at 24s');
    const normal = await speed();
    await player(
      page,
      'p.pause(); p.playbackRate = 2; p.currentTime = 23.9; await new Promise((r) => p.addEventListener("seeked", r, { once: true })); await p.play();',
    );
    await expect.poll(() => texts(page), { timeout: 5_000 }).toContain('at 24s');
    const fast = await speed();
    await screenshot(page, 'replay-2x');
    await player(page, 'p.pause(); p.playbackRate = 1;');
    expect(fast / normal).toBeGreaterThan(1.6);
    expect(fast / normal).toBeLessThan(2.4);
  });

  it('replay - a seek backwards clears what came later and shows the earlier ones again, once', async () => {
    await player(page, 'p.currentTime = 4.5; await new Promise((r) => p.addEventListener("seeked", r, { once: true }));');
    await expect.poll(() => texts(page), { timeout: 5_000 }).toEqual(['at 2s']);
    await screenshot(page, 'replay-seek-back-4s');
    await player(page, 'await p.play();');
    await expect.poll(() => texts(page), { timeout: 5_000 }).toEqual(['at 2s', 'at 5s']);
    await player(page, 'p.pause();');
    // The heatmap drew the density: its canvas is not blank.
    const inked = await page.evaluate(() => {
      const c = document.querySelector('barrage-heatmap')?.shadowRoot?.querySelector('canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if ((d[i] as number) > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(0);
  });

  it('replay - a danmaku another viewer of the video posts shows when this viewer reaches its time', async () => {
    // Viewer B (this page) is behind; viewer A (a token for the video) posts at its playhead.
    await player(page, 'p.pause(); p.currentTime = 9; await new Promise((r) => p.addEventListener("seeked", r, { once: true }));');
    const token = await server.token({ room: video, user: 'poster', name: 'Poster' });
    const a = await chromium.newPage({ viewport: { width: 1280, height: 900 } });
    await a.goto(`${server.url}/replay?video=${video}&token=${token}`);
    await a.waitForFunction(() => (document.getElementById('player') as HTMLVideoElement).readyState >= 1, undefined, { timeout: 10_000 });
    const open = (p: Page) =>
      p.evaluate(
        () => (document.querySelector('barrage-overlay') as unknown as { activeConnection?: { state: string } }).activeConnection?.state,
      );
    await expect.poll(() => open(a), { timeout: 10_000 }).toBe('open');
    await expect.poll(() => open(page), { timeout: 10_000 }).toBe('open');
    // Both pages note the video time of what comes over their socket.
    const listen = (p: Page) =>
      p.evaluate(() => {
        const w = window as unknown as { offsets: Record<string, number> };
        w.offsets = {};
        const conn = (document.querySelector('barrage-overlay') as unknown as { activeConnection: { subscribe(l: object): void } })
          .activeConnection;
        conn.subscribe({
          events: (events: Array<{ danmaku?: { text: string; offsetMs?: number } }>) => {
            for (const e of events) if (e.danmaku) w.offsets[e.danmaku.text] = e.danmaku.offsetMs ?? -1;
          },
        });
      });
    await listen(a);
    await listen(page);
    const offsets = (p: Page) => p.evaluate(() => (window as unknown as { offsets: Record<string, number> }).offsets);
    await player(a, 'p.currentTime = 12; await new Promise((r) => p.addEventListener("seeked", r, { once: true })); await p.play();');
    await a.waitForFunction(() => (document.getElementById('player') as HTMLVideoElement).currentTime > 12.2, undefined, {
      timeout: 10_000,
    });
    await a.fill('#send input[name=text]', 'from A');
    await a.click('#send button');
    // A sees its own at once (its playhead has just passed it) ...
    await expect.poll(() => texts(a), { timeout: 5_000 }).toContain('from A');
    const at = (await offsets(a))['from A'] as number;
    expect(at).toBeGreaterThanOrEqual(12_200);
    expect(at).toBeLessThan(16_000);
    await screenshot(a, 'replay-poster');
    await player(a, 'p.pause();');
    // ... B got it over the socket (its segment was fetched long before), at the same video time ...
    await expect.poll(async () => (await offsets(page))['from A'], { timeout: 5_000 }).toBe(at);
    expect(await texts(page)).not.toContain('from A');
    // ... and paints it when its own playhead gets there, within a frame.
    await player(page, 'await p.play();');
    await expect.poll(() => texts(page), { timeout: 15_000 }).toContain('from A');
    await player(page, 'p.pause();');
    const { seen, frameMs } = await paints(page);
    expectWithinFrame(seen, 'from A', at, frameMs);
    await screenshot(page, 'replay-other-viewer');
    // B, paused, posts its own: painted at once on the still screen, at B's playhead.
    const pausedAt = (await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime)) as number;
    await page.fill('#send input[name=text]', 'from B paused');
    await page.click('#send button');
    await expect.poll(() => texts(page), { timeout: 5_000 }).toContain('from B paused');
    expect((await offsets(page))['from B paused']).toBe(Math.round(pausedAt * 1000));
    await expect
      .poll(() => page.evaluate(() => (document.querySelector('barrage-overlay') as unknown as { paused: boolean }).paused))
      .toBe(true);
    const still = await painted(page);
    await page.waitForTimeout(400);
    expect(await painted(page)).toEqual(still); // frozen again with it on screen
    // A <barrage-chat video=> on the same page shares the video's connection: it lists what arrives and posts at the player's time.
    await page.evaluate((v) => {
      const chat = document.createElement('barrage-chat');
      chat.setAttribute('video', v);
      document.body.appendChild(chat);
    }, video);
    const chatInput = page.locator('barrage-chat input[name=text]');
    await chatInput.fill('from chat');
    await chatInput.press('Enter');
    await expect.poll(async () => (await offsets(page))['from chat'], { timeout: 5_000 }).toBe(Math.round(pausedAt * 1000));
    await expect
      .poll(() => page.evaluate(() => document.querySelector('barrage-chat')?.shadowRoot?.textContent ?? ''), { timeout: 5_000 })
      .toContain('from chat');
    expect(await page.evaluate(() => document.querySelectorAll('barrage-chat').length)).toBe(1);
    await a.close();
  });
});
