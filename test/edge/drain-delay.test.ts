/**
 * BARRAGE_DRAIN_DELAY_MS: after the stop begins, an edge answers /readyz 503
 * and refuses new WebSockets while it still listens and its viewers stay
 * connected and served; only after the delay are they closed with 4000. This
 * is the window in which a load balancer or Kubernetes takes the edge out, so
 * viewers told to reconnect do not land on it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../domain/close-codes.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { scrape } from '../helpers/metrics.js';

describe('edge drain delay', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('edge drain delay - readiness is red and upgrades refused while viewers stay connected, then they are closed with 4000', async () => {
    server = await startTestServer({ BARRAGE_DRAIN_DELAY_MS: '1500' });
    const s = server;
    const viewer = await TestClient.connect(s.wsUrl('drain', await s.token({ room: 'drain' })));
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    expect(await scrape(s.url, 'barrage_draining')).toBe(0);

    const stopped = s.stop();
    await expect.poll(async () => (await fetch(`${s.url}/readyz`)).status).toBe(503);
    expect(await (await fetch(`${s.url}/readyz`)).text()).toBe('draining');
    expect(await scrape(s.url, 'barrage_draining')).toBe(1);
    // Still listening and still serving the viewer it has...
    expect(viewer.closeCode).toBeUndefined();
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    // ...but a new viewer is sent elsewhere.
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(s.wsUrl('drain'));
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('a new viewer was admitted while draining')));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(503);

    await viewer.closed(10_000);
    expect(viewer.closeCode).toBe(CloseCode.Shutdown);
    await stopped;
    server = undefined;
  });
});
