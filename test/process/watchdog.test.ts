import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/process.js';
import { runFixture } from './fixture.js';

const secret = 'watchdog-secret-watchdog-secret-watchdog-01234';
/** Slack above a deadline for the kernel to deliver SIGKILL and the test to see the exit on 2 shared cores. */
const marginMs = 3000;

describe('shutdown - the deadline holds when the main thread is stuck', () => {
  for (const mode of ['busy', 'atomics', 'exit'] as const) {
    it(`shutdown - the watchdog kills a process whose main thread is stuck (${mode})`, async () => {
      const deadlineMs = 1000;
      const stuck = runFixture('stuck.ts', [mode, String(deadlineMs)], { killAfterMs: 20_000 });
      await stuck.said('stuck');
      const ended = await stuck.ended;
      // Before the watchdog nothing could end it: the test's own guard SIGKILLed it at 20 s.
      expect(ended.signal).toBe('SIGKILL');
      expect(ended.ms).toBeGreaterThanOrEqual(deadlineMs);
      expect(ended.ms).toBeLessThan(deadlineMs + marginMs);
    });
  }

  it('shutdown - barrage start whose exit hangs is killed at BARRAGE_SHUTDOWN_DEADLINE_MS (SIGKILL, status 137)', async () => {
    const deadlineMs = 2000;
    const hang = pathToFileURL(join(import.meta.dirname, 'fixtures/hang-on-exit.mjs')).href;
    const proc = await startCli(['start'], {
      env: {
        BARRAGE_SECRET: secret,
        BARRAGE_SHUTDOWN_DEADLINE_MS: String(deadlineMs),
        BARRAGE_ANALYTICS: 'off',
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${hang}`,
      },
    });
    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    const guard = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
    await proc.exited;
    clearTimeout(guard);
    const exitMs = Date.now() - signalled;
    console.log('barrage start with a hanging exit: gone after SIGTERM', { exitMs, signal: proc.child.signalCode });
    expect(proc.child.signalCode).toBe('SIGKILL');
    expect(proc.output()).toContain('"msg":"shutting down"');
    expect(exitMs).toBeLessThan(deadlineMs + marginMs);
  });
});
