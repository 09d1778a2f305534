import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { scrape } from '../helpers/metrics.js';

describe('http - health, readiness, metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('http - /healthz and /readyz answer 200 while the bus is up; unknown paths 404', async () => {
    expect(await (await fetch(server.url + '/healthz')).text()).toBe('ok');
    expect((await fetch(server.url + '/readyz')).status).toBe(200);
    expect((await fetch(server.url + '/nope')).status).toBe(404);
  });

  it('http - /readyz turns 503 when the bus is gone', async () => {
    const other = await startTestServer();
    await other.bus.close();
    const r = await fetch(other.url + '/readyz');
    expect(r.status).toBe(503);
    expect(await r.text()).toBe('bus closed');
    await other.stop();
  });

  it('http - /metrics is Prometheus text with connection, room, frame, drop, rate-limit and error series', async () => {
    const c = await TestClient.connect(server.wsUrl('m', await server.token({ room: 'm' })));
    c.danmaku('counted');
    await c.until(() => c.texts().length === 1);
    const r = await fetch(server.url + '/metrics');
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    for (const name of [
      'barrage_connections 1',
      'barrage_rooms 1',
      'barrage_frames_in_total{kind="sendDanmaku"} 1',
      'barrage_frames_out_total',
      'barrage_events_out_total',
      'barrage_dropped_total',
      'barrage_rate_limited_total',
      'barrage_errors_total',
      'barrage_upgrades_total{result="ok"}',
    ]) {
      expect(text).toContain(name);
    }
    c.close();
  });

  it("http - closes the client makes are counted apart from the server's, by code", async () => {
    const url = server.wsUrl('bye', await server.token({ room: 'bye' }));
    const normal = await TestClient.connect(url);
    const dropped = await TestClient.connect(url);
    const odd = await TestClient.connect(url);
    normal.ws.close(1000, 'bye');
    dropped.ws.terminate(); // no close frame: the server sees 1006
    odd.ws.close(4321);
    const counts = async () =>
      Promise.all(
        ['1000', '1006', 'other'].map(async (code) => (await scrape(server.url, `barrage_client_closes_total{code="${code}"}`)) ?? 0),
      );
    await expect.poll(counts, { timeout: 3_000, interval: 20 }).toEqual([1, 1, 1]);
    expect(await (await fetch(server.url + '/metrics')).text()).not.toContain('barrage_closes_total{code="1000"}');
  });

  it('http - with a real secret the demo page mints no token unless BARRAGE_DEMO_TOKENS is on', async () => {
    const prod = await startTestServer({ BARRAGE_DEMO_TOKENS: '' });
    const page = await (await fetch(prod.url + '/?room=vip')).text();
    expect(page).toContain('token=""');
    expect(page).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    await prod.stop();
    const demo = await (await fetch(server.url + '/?room=vip')).text();
    expect(demo).toMatch(/token="eyJ[\w-]+\.[\w-]+\.[\w-]+"/);
  });

  it('http - ping gets a pong with both clocks', async () => {
    const c = await TestClient.connect(server.wsUrl('p', await server.token({ room: 'p' })));
    c.send({ ping: { clientTsMs: 12345 } });
    await c.until(() => c.frames.some((f) => f.pong));
    const pong = c.frames.find((f) => f.pong)?.pong;
    expect(pong?.clientTsMs).toBe(12345);
    expect(Math.abs((pong?.serverTsMs ?? 0) - Date.now())).toBeLessThan(5000);
    c.close();
  });
});
