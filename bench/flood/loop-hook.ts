/**
 * Preloaded (`--import`) into the server the flood benchmark starts: measures
 * the server's own event-loop delay, so a slow `/healthz` answer can be told
 * apart from a busy machine delaying the probe. Answers `loop-reset` and
 * `loop` over IPC (milliseconds).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();

/** What the hook answers to `loop`. */
export interface LoopDelay {
  loop: { p50: number; p99: number; max: number };
}

process.on('message', (message) => {
  if (message === 'loop-reset') {
    delay.reset();
    return;
  }
  if (message !== 'loop') return;
  const ms = (ns: number): number => ns / 1e6;
  process.send?.({ loop: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) } } satisfies LoopDelay);
});
