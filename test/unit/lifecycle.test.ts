/**
 * The lifecycle every process is wired with: stopping is the reverse of
 * starting, every part stops even when one fails, and a start that fails
 * halfway stops what it had started.
 */
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../bin/lifecycle.js';
import { startSingleProcess } from '../../bin/app.js';
import { createLogger } from '../../domain/logger.js';
import { testConfig } from '../helpers/config.js';
import { startTestServer } from '../helpers/server.js';

describe('lifecycle - stop is the reverse of start', () => {
  it('lifecycle - parts stop last-started-first, once, however often stop is called', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    for (const name of ['bus', 'sequencer', 'gifts', 'edge']) life.add(name, name, (n) => stopped.push(n));
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    expect(stopped).toEqual(['edge', 'gifts', 'sequencer', 'bus']);
  });

  it('lifecycle - a part that fails to stop does not keep the others running; the failure is reported', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    life.add('bus', 'bus', async (n) => void stopped.push(n));
    life.add('broken', 'broken', async () => {
      throw new Error('stuck');
    });
    life.add('edge', 'edge', async (n) => void stopped.push(n));
    await expect(life.stop()).rejects.toThrow('stuck');
    expect(stopped).toEqual(['edge', 'bus']);
  });

  it('lifecycle - a start that fails halfway stops what it started and rethrows', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    const start = life.run(async () => {
      life.add('bus', 'bus', (n) => stopped.push(n));
      life.add('store', 'store', (n) => stopped.push(n));
      throw new Error('cannot listen');
    });
    await expect(start).rejects.toThrow('cannot listen');
    expect(stopped).toEqual(['store', 'bus']);
  });

  it('lifecycle - a single process that cannot listen rejects saying why, and the one on the port keeps serving', async () => {
    const first = await startTestServer();
    try {
      const taken = testConfig({ PORT: String(first.port) });
      await expect(startSingleProcess(taken, createLogger('silent'), { processMetrics: false })).rejects.toThrow(/cannot listen/);
      // The first server was not disturbed by the second's failed start.
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }
  });
});
