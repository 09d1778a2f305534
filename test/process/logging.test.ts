import { afterEach, describe, expect, it } from 'vitest';
import { promValue } from '../helpers/metrics.js';
import { startCli } from '../helpers/process.js';
import { runFixture, sampleFutexWaits } from './fixture.js';
import { StalledPipe } from './stalled-pipe.js';

const secret = 'logging-secret-logging-secret-logging-0123456';

describe('logging - stdout that nobody reads', () => {
  let pipe: StalledPipe | undefined;
  afterEach(() => pipe?.close());

  it('logging - a flood into a full pipe is dropped and counted, the main thread never waits, the process exits at once', async () => {
    pipe = StalledPipe.open();
    const bufferBytes = 256 * 1024;
    const flood = runFixture('log-flood.ts', ['100000', String(bufferBytes)], { stdout: pipe.writer, killAfterMs: 20_000 });
    await flood.said('flooding');
    const futex = sampleFutexWaits(flood.child.pid!);
    const ended = await flood.ended;
    const longestFutexMs = futex.stop();
    const report = JSON.parse(
      flood
        .stderr()
        .split('\n')
        .find((l) => l.startsWith('{')) ?? '{}',
    ) as Record<string, number | boolean>;
    console.log('log flood into a full pipe', { ...report, exitMs: ended.ms, longestFutexMs, samples: futex.samples() });
    // Before: pino's sonic-boom buffered without limit and, at exit, retried EAGAIN in Atomics.wait forever (SIGKILLed here).
    expect(ended).toMatchObject({ code: 0, signal: null });
    expect(report['dropped']).toBeGreaterThan(90_000);
    expect(report['maxQueuedBytes']).toBeLessThanOrEqual(bufferBytes);
    expect(report['flushed']).toBe(false);
    // sonic-boom retried EAGAIN in Atomics.wait (a futex wait) 100 ms at a time, forever; short futex waits (GC helpers) are normal.
    expect(longestFutexMs).toBeLessThan(250);
  });

  it('logging - barrage start on a full stdout answers /healthz and exits 0 on SIGTERM within its deadline', async () => {
    pipe = StalledPipe.open();
    const deadlineMs = 4000;
    const proc = await startCli(['start'], {
      stdout: pipe.writer,
      env: { BARRAGE_SECRET: secret, BARRAGE_SHUTDOWN_DEADLINE_MS: String(deadlineMs), BARRAGE_ANALYTICS: 'off' },
    });
    const base = `http://127.0.0.1:${proc.port}`;
    const futex = sampleFutexWaits(proc.child.pid!);
    // Its start lines wait for a reader that never comes; the edge goes on serving.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(promValue(metrics, 'barrage_log_queued_bytes')).toBeGreaterThan(0);
    expect(promValue(metrics, 'barrage_log_lines_dropped_total')).toBe(0);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const seen: number[] = [];
        for (let i = 0; i < 25; i++) seen.push((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).status);
        return seen;
      }),
    );
    expect(statuses.flat()).toEqual(Array.from({ length: 500 }, () => 200));

    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    const code = await proc.exited;
    const exitMs = Date.now() - signalled;
    const longestFutexMs = futex.stop();
    console.log('barrage start on a full stdout: exit after SIGTERM', { exitMs, code, longestFutexMs });
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(deadlineMs);
    expect(longestFutexMs).toBeLessThan(250);
  });
});
