import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusError, CoreErrorCode } from '../../domain/errors.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('history - resume while core is briefly away', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_DANMAKU_RATE: '100', BARRAGE_DANMAKU_BURST: '100' });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Makes the next `n` history requests fail as they do while NATS or core restarts. */
  function failHistory(n: number): () => number {
    const bus = server.bus;
    const real = bus.request.bind(bus);
    let failures = 0;
    bus.request = async (subject, data, timeoutMs) => {
      if (subject.endsWith('.hist') && failures < n) {
        failures++;
        throw new BusError(CoreErrorCode.NoResponder, `no responder for ${subject}`);
      }
      return real(subject, data, timeoutMs);
    };
    return () => failures;
  }

  it('history - a resume whose history request fails is retried, and still recovers every event', async () => {
    const sender = await TestClient.connect(server.wsUrl('away', await server.token({ room: 'away', user: 's' })));
    for (let i = 0; i < 5; i++) sender.danmaku(`m${i}`);
    await sender.until(() => sender.texts().length === 5);
    const failures = failHistory(2);
    const back = await TestClient.connect(server.wsUrl('away', await server.token({ room: 'away', user: 'v' }), { since: '2' }));
    expect(failures()).toBe(2);
    expect(back.welcome?.recovered).toBe(true);
    await back.until(() => back.frames.some((f) => f.batch?.history));
    expect(back.frames.find((f) => f.batch?.history)?.batch?.events?.map((e) => e.seq)).toEqual([3, 4, 5]);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/barrage_history_retries_total 2/);
    sender.close();
    back.close();
  });

  it('history - a plain join is welcomed at once without history rather than waiting for core', async () => {
    const retriesBefore = (await server.edge.metrics.historyRetries.get()).values[0]?.value ?? 0;
    const failures = failHistory(1);
    const c = await TestClient.connect(server.wsUrl('away', await server.token({ room: 'away', user: 'j' })));
    expect(failures()).toBe(1);
    expect(c.welcome?.recovered).toBe(false);
    // Not retried: a join gets live events at once and recent chat is a nicety.
    expect((await server.edge.metrics.historyRetries.get()).values[0]?.value ?? 0).toBe(retriesBefore);
    c.close();
  });
});
