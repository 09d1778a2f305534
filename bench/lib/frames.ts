/**
 * Frame times of a page, as the browser paints: every requestAnimationFrame
 * interval over `seconds`, and every 30 frames the value of `countFn` (the
 * body of a function, run in the page: how many danmaku are on screen). The
 * widget benches compare renderers with it, so they all measure the same way.
 */
import type { Page } from 'playwright-core';

export interface FrameSample {
  /** Frame interval quantiles, ms (the first interval is left out: it starts before the first frame). */
  p50: number;
  p95: number;
  /** Mean of `countFn` over the samples. */
  onScreen: number;
}

export async function sampleFrames(page: Page, seconds: number, countFn: string): Promise<FrameSample> {
  const sample = await page.evaluate(
    ({ seconds, countFn }) =>
      new Promise<{ deltas: number[]; counts: number[] }>((resolve) => {
        const count = new Function(countFn) as () => number;
        const deltas: number[] = [];
        const counts: number[] = [];
        let last = performance.now();
        const end = last + seconds * 1000;
        const tick = (now: number) => {
          deltas.push(now - last);
          last = now;
          if (deltas.length % 30 === 0) counts.push(count());
          if (now < end) requestAnimationFrame(tick);
          else resolve({ deltas, counts });
        };
        requestAnimationFrame(tick);
      }),
    { seconds, countFn },
  );
  const sorted = sample.deltas.slice(1).sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return {
    p50: q(0.5),
    p95: q(0.95),
    onScreen: Math.round(sample.counts.reduce((a, b) => a + b, 0) / Math.max(1, sample.counts.length)),
  };
}
