/**
 * Widget benchmark: one headless Chromium at 1920x1080 shows the same stream
 * of danmaku with `<barrage-overlay>` and with the `danmaku` npm library (its
 * DOM engine, the default), one page after the other, and reports frame time
 * (p50/p95 of requestAnimationFrame intervals) and main-thread time per
 * incoming message (Chromium's TaskDuration over the window / messages fed).
 *
 * Both get the same texts at the same times, the same font size and speed,
 * at a rate that keeps about 1,000 danmaku on screen. Our overlay gets them
 * as encoded Batch frames through its connection (decode included).
 *
 * Hit-testing (issue 17: hover or tap a danmaku to hold it): danmaku take the
 * pointer while the stage around them does not. The overlay is measured three
 * ways: without a pointer; with a mouse sweeping the whole player during the
 * measured window while danmaku do not take the pointer (as before the
 * feature: CSS `pointer-events: none` on them); and with the same sweep while
 * they do (each danmaku the pointer crosses is held and let go, the real
 * cost of the feature). The sweep is CDP mouse moves, about 30 a second.
 *
 *   node --import tsx bench/widget/run.ts [--seconds 10] [--rate 130]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../lib/chromium.js';
import { sampleFrames } from '../lib/frames.js';
import type { Page } from 'playwright-core';
import { v1 } from '../../proto/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 10);
const rate = arg('rate', 130);
const warmup = 10;
const batchMs = 25; // the edge's batching window
const fontPx = 16;
const speed = 240; // px/s: what the overlay uses at 1920 px wide (width / 8 s)

const words = ['233333', '哈哈哈哈哈', 'lol', 'nice!', 'GG', '前方高能', '+1', 'wow wow', 'first', '666666', 'ok', 'pog'];
const total = Math.ceil((warmup + seconds) * rate);
const texts = Array.from({ length: total }, (_, i) => `${words[i % words.length]}`);
const colors = [0xffffff, 0xffffff, 0xffffff, 0xfe0302, 0xffd302, 0x00a0ea];
const perBatch = (rate * batchMs) / 1000;
// The stream as the edge would send it: one Batch frame per window.
const frames: string[] = [];
for (let i = 0, seq = 1; i < total;) {
  const n = Math.max(1, Math.round(perBatch * (frames.length + 1)) - i);
  const events = texts.slice(i, i + n).map((text, k) => ({
    seq: seq++,
    room: 'bench',
    tsMs: 0,
    danmaku: { id: `d${i + k}`, text, color: colors[(i + k) % colors.length], user: { id: 'u', name: 'bench' } },
  }));
  frames.push(Buffer.from(v1.ServerFrame.encode({ batch: { room: 'bench', events } }).finish()).toString('base64'));
  i += n;
}

execFileSync(process.execPath, ['scripts/build-widget.mjs'], { stdio: 'inherit' });
const files: Record<string, [string, string]> = {
  '/widget.js': ['text/javascript', readFileSync('dist/widget/widget.js', 'utf8')],
  '/danmaku.js': ['text/javascript', readFileSync('node_modules/danmaku/dist/esm/danmaku.js', 'utf8')],
  '/': ['text/html', '<!doctype html><body style="margin:0;background:#000"><div id="stage" style="position:fixed;inset:0"></div></body>'],
};
// The bundle imports its chunks from /chunks/ (shared code, and the lazy tools chunk a hover loads).
for (const name of readdirSync('dist/widget/chunks')) {
  if (name.endsWith('.js')) files[`/chunks/${name}`] = ['text/javascript', readFileSync(`dist/widget/chunks/${name}`, 'utf8')];
}
const http = createServer((req, res) => {
  const f = files[req.url ?? ''];
  res.writeHead(f ? 200 : 404, { 'content-type': f?.[0] ?? 'text/plain' });
  res.end(f?.[1] ?? '');
});
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const browser = await chromium.launch(chromiumLaunchOptions());

interface Result {
  name: string;
  p50: number;
  p95: number;
  perMessageMs: number;
  onScreen: number;
  messages: number;
}

/** Feeds the stream in the page, waits the warm-up, then measures for `seconds`. */
async function measure(
  name: string,
  setup: (page: Page) => Promise<void>,
  feedFn: string,
  countFn: string,
  sweep = false,
): Promise<Result> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  // tsx names functions with a helper; the functions below run in the page, where it is absent.
  await page.addInitScript('window.__name = (f) => f');
  await page.goto(base + '/');
  await setup(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.evaluate(
    ({ frames, texts, batchMs, feedFn }) => {
      const w = window as unknown as Record<string, unknown>;
      const feed = new Function('frame', 'texts', feedFn) as (frame: Uint8Array, texts: string[]) => void;
      const decoded = frames.map((b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
      let i = 0;
      let t = 0;
      w['fed'] = 0;
      const timer = setInterval(() => {
        if (i >= decoded.length) return clearInterval(timer);
        // texts of this frame, for the library that takes plain objects
        const n = Math.round((texts.length * (i + 1)) / decoded.length) - t;
        const chunk = texts.slice(t, t + n);
        t += n;
        feed(decoded[i++] as Uint8Array, chunk);
        w['fed'] = (w['fed'] as number) + chunk.length;
      }, batchMs);
    },
    { frames, texts, batchMs, feedFn },
  );
  await page.waitForTimeout(warmup * 1000);
  const taskTime = async () => {
    const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> };
    if (process.env['BENCH_DEBUG'])
      console.log(
        name,
        metrics
          .filter((m) => /Duration|Nodes|LayoutCount|RecalcStyleCount/.test(m.name))
          .map((m) => `${m.name}=${m.value.toFixed(2)}`)
          .join(' '),
      );
    return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
  };
  const fedBefore = (await page.evaluate('window.fed')) as number;
  const task0 = await taskTime();
  // The pointer sweeps the player in rows, left to right and back, through the measured window.
  let sweeping = sweep;
  const mover = (async () => {
    for (let i = 0; sweeping; i++) {
      const row = Math.floor(i / 40) % 27;
      const col = i % 40;
      const x = (row % 2 === 0 ? col : 39 - col) * 48 + 24;
      await page.mouse.move(x, row * 40 + 20);
    }
  })();
  const painted = await sampleFrames(page, seconds, countFn);
  sweeping = false;
  await mover;
  const task1 = await taskTime();
  const fedAfter = (await page.evaluate('window.fed')) as number;
  await page.close();
  const messages = fedAfter - fedBefore;
  return { name, ...painted, perMessageMs: ((task1 - task0) * 1000) / messages, messages };
}

const results: Result[] = [];
/** Our overlay; `danmakuPointer: false` gives danmaku `pointer-events: none`, as before hover and tap existed. */
const overlay = (name: string, danmakuPointer: boolean, sweep: boolean) =>
  measure(
    name,
    async (page) => {
      await page.addScriptTag({ type: 'module', content: `import * as W from '/widget.js'; window.W = W;` });
      await page.waitForFunction(() => 'W' in window);
      await page.evaluate(
        ({ fontPx, danmakuPointer }) => {
          const W = (window as unknown as { W: typeof import('../../widget/index.js') }).W;
          const overlay = document.createElement('barrage-overlay');
          overlay.storage = 'none';
          // base font at 1080p is 32 px; the scale brings it to the same size the library draws
          overlay.settings = { ...W.defaultSettings, fontScale: fontPx / 32, density: 2000 };
          overlay.style.cssText = 'position:fixed;inset:0';
          overlay.connection = new W.BarrageConnection({ url: 'ws://unused/ws', room: 'bench', manual: true });
          document.getElementById('stage')!.appendChild(overlay);
          if (!danmakuPointer) {
            const style = document.createElement('style');
            style.textContent = '.d { pointer-events: none !important }';
            overlay.updateComplete.then(() => overlay.shadowRoot!.appendChild(style));
          }
        },
        { fontPx, danmakuPointer },
      );
      await page.waitForFunction(() => document.querySelector('barrage-overlay')?.shadowRoot?.querySelector('.stage'));
    },
    `document.querySelector('barrage-overlay').activeConnection.receive(frame)`,
    `return document.querySelector('barrage-overlay').stageStats().shown`,
    sweep,
  );
results.push(await overlay('<barrage-overlay>, no pointer', true, false));
results.push(await overlay('<barrage-overlay>, pointer sweeping, danmaku ignore it (as before)', false, true));
results.push(await overlay('<barrage-overlay>, pointer sweeping, danmaku take it (hover holds)', true, true));
results.push(
  await measure(
    'danmaku 2.0.10 (DOM engine)',
    async (page) => {
      await page.addScriptTag({
        type: 'module',
        content: `import Danmaku from '/danmaku.js'; window.dm = new Danmaku({ container: document.getElementById('stage'), engine: 'dom', speed: ${speed} });`,
      });
      await page.waitForFunction(() => 'dm' in window);
    },
    `const colors = ['#ffffff','#ffffff','#ffffff','#fe0302','#ffd302','#00a0ea'];
     for (let k = 0; k < texts.length; k++) window.dm.emit({ text: texts[k], style: { fontSize: '${fontPx}px', fontWeight: '600', color: colors[(window.n = (window.n || 0) + 1) % 6], textShadow: '0 0 2px #000, 0 0 1px #000' } });`,
    `return window.dm._.runningList.length`,
  ),
);
await browser.close();
http.close();

console.log(`\n${rate} danmaku/s, ${seconds} s measured after ${warmup} s warm-up, 1920x1080, headless Chromium (--disable-gpu)`);
console.log(`load average before: ${loadBefore}; after: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
console.log('| renderer | on screen (avg) | frame p50 (ms) | frame p95 (ms) | main thread per message (ms) |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.onScreen} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.perMessageMs.toFixed(3)} |`);
}
