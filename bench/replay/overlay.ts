/**
 * Replay frame time: one headless Chromium at 1920x1080 plays the same
 * recording at 2x with `<barrage-overlay video= for=>` (replay mode: segments
 * fetched from a stand-in of the replay API) and with the `danmaku` npm
 * library bound to the same kind of media element (its own `media` +
 * `comments` replay, DOM engine), one page after the other, and reports
 * frame time (p50/p95 of requestAnimationFrame intervals) and danmaku on
 * screen. The recording: 3,000 danmaku per minute of video (so 100 a second
 * of wall time at 2x), the same texts and times for both.
 *
 *   node --import tsx bench/replay/overlay.ts [--seconds 10] [--per-minute 3000] [--rate 2]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { chromiumLaunchOptions } from '../lib/chromium.js';
import { sampleFrames } from '../lib/frames.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 10);
const perMinute = arg('per-minute', 3000);
const rate = arg('rate', 2);
const warmup = 5;
const fontPx = 16;
const durationMs = 360_000; // one segment
const words = ['233333', '哈哈哈哈哈', 'lol', 'nice!', 'GG', '前方高能', '+1', 'wow wow', 'first', '666666', 'ok', 'pog'];
const colors = [0xffffff, 0xffffff, 0xffffff, 0xfe0302, 0xffd302, 0x00a0ea];
const count = Math.round((perMinute * durationMs) / 60_000);
// Evenly spread with a little jitter, sorted by video time.
const comments = Array.from({ length: count }, (_, i) => ({
  id: `d${i}`,
  offset_ms: Math.min(durationMs - 1, Math.round(((i + 0.5 * ((i * 0.618) % 1)) * durationMs) / count)),
  text: words[i % words.length] as string,
  mode: 0,
  color: colors[i % colors.length] as number,
  size: 0,
  merged: 1,
  user: { id: 'u', name: 'bench', role: 1 },
}));

execFileSync(process.execPath, ['scripts/build-widget.mjs'], { stdio: 'inherit' });
const widget = readFileSync('dist/widget/widget.js', 'utf8');
const segment = JSON.stringify({ video: 'bench', segment: 0, segment_ms: 360_000, duration_ms: durationMs, danmaku: comments });
const info = JSON.stringify({ video: 'bench', duration_ms: durationMs, segment_ms: 360_000, segments: 1 });
const http = createServer((req, res) => {
  const url = req.url ?? '';
  const send = (type: string, body: string) => res.writeHead(200, { 'content-type': type }).end(body);
  if (url === '/widget.js') return send('text/javascript', widget);
  if (url.startsWith('/chunks/')) return send('text/javascript', readFileSync(`dist/widget${url}`, 'utf8'));
  if (url === '/danmaku.js') return send('text/javascript', readFileSync('node_modules/danmaku/dist/esm/danmaku.js', 'utf8'));
  if (url === '/api/v1/videos/bench') return send('application/json', info);
  if (url.startsWith('/api/v1/videos/bench/danmaku')) return send('application/json', segment);
  if (url === '/') {
    return send(
      'text/html',
      '<!doctype html><body style="margin:0;background:#000"><div id="stage" style="position:fixed;inset:0"></div><video id="player" muted style="display:none"></video></body>',
    );
  }
  res.writeHead(404).end();
});
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
const browser = await chromium.launch(chromiumLaunchOptions());

/** A silent WAV as long as the recording, as the /replay page makes it. */
const silentTrack = `
  const seconds = ${durationMs / 1000}, hz = 8000, data = hz * seconds;
  const wav = new Uint8Array(44 + data).fill(128, 44);
  const v = new DataView(wav.buffer);
  const put = (at, s) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  put(0, 'RIFF'); v.setUint32(4, 36 + data, true); put(8, 'WAVEfmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true);
  v.setUint16(22, 1, true); v.setUint32(24, hz, true); v.setUint32(28, hz, true); v.setUint16(32, 1, true); v.setUint16(34, 8, true);
  put(36, 'data'); v.setUint32(40, data, true);
  const p = document.getElementById('player');
  p.src = URL.createObjectURL(new Blob([wav], { type: 'audio/wav' }));
  await new Promise((r) => p.addEventListener('loadedmetadata', r, { once: true }));
`;

interface Result {
  name: string;
  p50: number;
  p95: number;
  onScreen: number;
}

async function measure(name: string, setup: string, countFn: string): Promise<Result> {
  const page: Page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.addInitScript('window.__name = (f) => f');
  await page.goto(base + '/');
  await page.addScriptTag({ type: 'module', content: `${silentTrack} ${setup} window.ready = true;` });
  await page.waitForFunction(() => 'ready' in window, undefined, { timeout: 20_000 });
  await page.evaluate(`(async () => { const p = document.getElementById('player'); p.playbackRate = ${rate}; await p.play(); })()`);
  await page.waitForTimeout(warmup * 1000);
  const frames = await sampleFrames(page, seconds, countFn);
  await page.close();
  return { name, ...frames };
}

const load = () => readFileSync('/proc/loadavg', 'utf8').trim();
const loadBefore = load();
const results: Result[] = [];
results.push(
  await measure(
    '<barrage-overlay> replay mode',
    `await import('/widget.js');
     const o = document.createElement('barrage-overlay');
     o.storage = 'none';
     o.settings = { ...o.settings, fontScale: ${fontPx} / 32, density: 2000 };
     o.style.cssText = 'position:fixed;inset:0';
     o.server = location.origin.replace('http', 'ws') + '/ws';
     o.setAttribute('for', 'player');
     o.setAttribute('video', 'bench');
     document.getElementById('stage').appendChild(o);
     await new Promise((r) => setTimeout(r, 500));`,
    `return document.querySelector('barrage-overlay').stageStats().shown`,
  ),
);
results.push(
  await measure(
    'danmaku 2.0.10 (DOM engine, media-bound)',
    `const { default: Danmaku } = await import('/danmaku.js');
     const css = (c) => '#' + c.toString(16).padStart(6, '0');
     const comments = await (await fetch('/api/v1/videos/bench/danmaku?segment=0')).json();
     window.dm = new Danmaku({
       container: document.getElementById('stage'),
       media: document.getElementById('player'),
       engine: 'dom',
       speed: 240,
       comments: comments.danmaku.map((d) => ({ text: d.text, time: d.offset_ms / 1000, style: { fontSize: '${fontPx}px', fontWeight: '600', color: css(d.color), textShadow: '0 0 2px #000, 0 0 1px #000' } })),
     });`,
    `return window.dm._.runningList.length`,
  ),
);
await browser.close();
http.close();
console.log(
  `\n${perMinute} danmaku per minute of video at ${rate}x, ${seconds} s measured after ${warmup} s, 1920x1080, headless Chromium`,
);
console.log(`load before: ${loadBefore}; after: ${load()}\n`);
console.log('| renderer | on screen (avg) | frame p50 (ms) | frame p95 (ms) |');
console.log('|---|---|---|---|');
for (const r of results) console.log(`| ${r.name} | ${r.onScreen} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
