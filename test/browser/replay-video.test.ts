/**
 * Overlay replay mode in Chromium over a player that shows real video frames
 * (the path production sites take): the ReplayDriver follows the media clock
 * with `requestVideoFrameCallback`'s `mediaTime`, not `requestAnimationFrame`
 * + `currentTime` (the silent-WAV path of replay.test.ts). The video is made
 * in the page, no file and no ffmpeg: a clock drawn on a canvas, recorded
 * from `canvas.captureStream()` with MediaRecorder (WebM, VP8), then played
 * in the `<video>` the overlay follows. Seeking is not tested here:
 * MediaRecorder WebM has no duration and no cues (replay.test.ts covers it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, screenshot } from './browser.js';
import { startReplayServer } from './replay-server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-replay-video-'));
const video = 'tvrvfc';
/** Video time (ms) of each danmaku, in time order; the text says it. */
const times: Array<[string, number]> = [
  ['at 1.0s', 1_000],
  ['at 1.5s', 1_500],
  ['at 2.5s', 2_500],
  ['at 3.7s', 3_700],
];
/** Length of the recording (ms): the playhead never reaches its end while timed. */
const recordMs = 6_000;

/**
 * Before any page script: every `requestVideoFrameCallback` the page makes
 * (the driver's) is counted, and each video frame's `mediaTime` is recorded
 * (by a loop of the test's own, through the unwrapped method) before any
 * callback of that frame runs, so the overlay's insertions can be matched to
 * the frame they were placed in.
 */
const initScript = (): void => {
  const w = window as unknown as {
    rvfcCalls: number;
    rafDuringPlay: number;
    frames: number[];
    mediaNow: number;
    presented: number;
    followFrames(v: HTMLVideoElement): void;
  };
  w.rvfcCalls = 0;
  w.frames = [];
  w.mediaNow = NaN;
  w.presented = -1;
  const proto = HTMLVideoElement.prototype;
  const original = proto.requestVideoFrameCallback;
  const note = (meta: VideoFrameCallbackMetadata): void => {
    if (meta.presentedFrames === w.presented) return;
    w.presented = meta.presentedFrames;
    w.mediaNow = meta.mediaTime * 1000;
    w.frames.push(w.mediaNow);
  };
  proto.requestVideoFrameCallback = function (this: HTMLVideoElement, cb: VideoFrameRequestCallback): number {
    w.rvfcCalls++;
    return original.call(this, (now, meta) => {
      note(meta);
      cb(now, meta);
    });
  };
  w.followFrames = (v: HTMLVideoElement): void => {
    const loop: VideoFrameRequestCallback = (_now, meta) => {
      note(meta);
      original.call(v, loop);
    };
    original.call(v, loop);
  };
};

/** The test page: a visible video with the overlay over it; the overlay is added once the video is made. */
const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #111; }
.player { position: relative; width: 960px; height: 540px; }
.player video, .player barrage-overlay { position: absolute; inset: 0; width: 100%; height: 100%; }
</style></head><body><div class="player"><video id="player" muted playsinline></video></div>
<script type="module">import '/widget.js'; window.widgetLoaded = true;</script></body></html>`;

/**
 * Records `ms` of a clock drawn on a canvas (30 fps, VP8 WebM) and loads it
 * into the player; resolves with the recording's MIME type and size once the
 * player has its first frame.
 */
const makeVideo = (page: Page, ms: number): Promise<{ type: string; bytes: number; width: number }> =>
  page.evaluate(async (ms) => {
    const type = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'].find((t) => MediaRecorder.isTypeSupported(t));
    if (!type) throw new Error('MediaRecorder records no WebM here');
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = canvas.getContext('2d') as CanvasRenderingContext2D;
    const start = performance.now();
    let drawing = true;
    const draw = (): void => {
      const t = (performance.now() - start) / 1000;
      g.fillStyle = `hsl(${(t * 60) % 360} 45% 25%)`;
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#fff';
      g.font = 'bold 96px sans-serif';
      g.fillText(t.toFixed(2), 120, 220);
      if (drawing) requestAnimationFrame(draw);
    };
    draw();
    const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: type });
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((r) => (recorder.onstop = r));
    recorder.start(500);
    await new Promise((r) => setTimeout(r, ms));
    recorder.stop();
    await stopped;
    drawing = false;
    const blob = new Blob(chunks, { type: 'video/webm' });
    const v = document.getElementById('player') as HTMLVideoElement;
    const loaded = new Promise((r, j) => {
      v.addEventListener('loadeddata', r, { once: true });
      v.addEventListener('error', () => j(new Error(`the recording does not play: ${v.error?.message}`)), { once: true });
    });
    v.src = URL.createObjectURL(blob);
    await loaded;
    return { type, bytes: blob.size, width: v.videoWidth };
  }, ms);

describe('replay overlay in chromium over real video frames', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let page: Page;

  beforeAll(async () => {
    buildWidget();
    server = await startReplayServer(dir, video, Object.fromEntries(times));
    const browser = await launchBrowser();
    close = browser.close;
    page = await browser.browser.newPage({ viewport: { width: 960, height: 540 } });
    await page.addInitScript(initScript);
    // The test page, served at the server's origin (the widget and the replay API are same-origin).
    await page.route(`${server.url}/rvfc-test`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
    await page.goto(`${server.url}/rvfc-test`);
    await page.waitForFunction(() => (window as unknown as { widgetLoaded?: boolean }).widgetLoaded === true, undefined, {
      timeout: 10_000,
    });
  }, 120_000);
  afterAll(async () => {
    await close?.();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replay over video - the driver follows video frames; each danmaku is painted in the frame whose mediaTime reached its time (± one frame), in order, once; pause holds the screen', async () => {
    const made = await makeVideo(page, recordMs);
    console.log(`replay video: recorded ${made.bytes} bytes of ${made.type}, ${made.width} px wide`);
    expect(made.width).toBeGreaterThan(0);
    // The overlay follows the player; its first segment is in the page before playback starts.
    const segment = page.waitForResponse((r) => r.url().includes('/danmaku?segment=0'), { timeout: 20_000 });
    await page.evaluate((v) => {
      const o = document.createElement('barrage-overlay');
      o.setAttribute('storage', 'none');
      o.setAttribute('for', 'player');
      o.setAttribute('video', v);
      document.querySelector('.player')?.appendChild(o);
    }, video);
    await segment;
    await page.waitForFunction(() => !!document.querySelector('barrage-overlay')?.shadowRoot, undefined, { timeout: 10_000 });
    // Every insertion of a danmaku, with the index of the video frame it was placed in.
    await page.evaluate(() => {
      const w = window as unknown as {
        frames: number[];
        inserted: Array<[string, number]>;
        rvfcCalls: number;
        callsAtPlay: number;
        followFrames(v: HTMLVideoElement): void;
      };
      const o = document.querySelector('barrage-overlay') as HTMLElement;
      const v = document.getElementById('player') as HTMLVideoElement;
      w.inserted = [];
      w.followFrames(v);
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (n instanceof HTMLElement && n.classList.contains('d')) w.inserted.push([n.textContent ?? '', w.frames.length - 1]);
      }).observe(o.shadowRoot as ShadowRoot, { subtree: true, childList: true });
      w.callsAtPlay = w.rvfcCalls;
    });
    expect(await page.evaluate(() => document.querySelector('barrage-overlay')?.shadowRoot?.querySelectorAll('.d').length)).toBe(0);
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).play());
    const last = (times[times.length - 1] as [string, number])[1];
    await page.waitForFunction((ms) => (document.getElementById('player') as HTMLVideoElement).currentTime * 1000 > ms + 400, last, {
      timeout: 20_000,
    });
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
    const got = await page.evaluate(() => {
      const w = window as unknown as { frames: number[]; inserted: Array<[string, number]>; rvfcCalls: number; callsAtPlay: number };
      const v = document.getElementById('player') as HTMLVideoElement;
      return { frames: w.frames, inserted: w.inserted, driverCalls: w.rvfcCalls - w.callsAtPlay, videoWidth: v.videoWidth };
    });
    // The video-frame path: the player shows video, and the driver asked for (about) every frame by requestVideoFrameCallback.
    console.log(
      `replay video: ${got.frames.length} video frames presented, ${got.driverCalls} requestVideoFrameCallback calls by the driver`,
    );
    expect(got.videoWidth).toBeGreaterThan(0);
    expect(got.frames.length).toBeGreaterThan(30);
    expect(got.driverCalls).toBeGreaterThanOrEqual(got.frames.length / 2);
    // In order, each once.
    expect(got.inserted.map(([text]) => text)).toEqual(times.map(([text]) => text));
    for (const [text, at] of times) {
      const [, paintIdx] = got.inserted.find(([t]) => t === text) as [string, number];
      // The first presented frame whose mediaTime reached the danmaku's time.
      const due = got.frames.findIndex((m) => m >= at);
      const mediaAt = got.frames[paintIdx] ?? NaN;
      console.log(
        `replay video timing: ${text} placed in frame ${paintIdx} (mediaTime ${mediaAt.toFixed(1)} ms), first frame at or past ` +
          `${at} ms is ${due} (${(got.frames[due] ?? NaN).toFixed(1)} ms)`,
      );
      expect(due, text).toBeGreaterThan(0);
      expect(Math.abs(paintIdx - due), text).toBeLessThanOrEqual(1);
    }
    // The paused frame is a real picture (the clock: a coloured ground and white digits), drawn from the <video>.
    const colours = await page.evaluate(() => {
      const v = document.getElementById('player') as HTMLVideoElement;
      const c = document.createElement('canvas');
      c.width = v.videoWidth;
      c.height = v.videoHeight;
      const g = c.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      g.drawImage(v, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 97)
        seen.add(((d[i] as number) >> 5) * 64 + ((d[i + 1] as number) >> 5) * 8 + ((d[i + 2] as number) >> 5));
      return seen.size;
    });
    console.log(`replay video: the paused frame has ${colours} colour bins`);
    expect(colours).toBeGreaterThan(1);
    // (Headless Chromium without a GPU leaves the <video> layer out of page screenshots: the overlay shows, the picture may not.)
    await screenshot(page, 'replay-video-paused');
    // Paused: nothing moves.
    const boxes = (): Promise<Array<[string, number]>> =>
      page.evaluate(() =>
        [...(document.querySelector('barrage-overlay')?.shadowRoot?.querySelectorAll('.d') ?? [])].map((e) => [
          e.textContent ?? '',
          e.getBoundingClientRect().left,
        ]),
      );
    const still = await boxes();
    expect(still.map(([t]) => t).sort()).toEqual(times.map(([t]) => t).sort());
    await page.waitForTimeout(600);
    expect(await boxes()).toEqual(still);
  });
});
