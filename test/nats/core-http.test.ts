/**
 * `barrage core` as an operator sees it: health, readiness that follows the
 * NATS connection, and Prometheus metrics that include the analytics sink
 * (which runs in core when clustered), against a real nats-server and chDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';
import { Viewer } from './helpers/viewer.js';
import { promValue } from '../helpers/metrics.js';

describe('core http - health, readiness and metrics of barrage core', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edge: RoleProcess;
  const viewers: Viewer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'barrage-core-http-'));

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-http', nats.urls, {
      BARRAGE_ANALYTICS: 'on',
      BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
      BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
    });
    edge = await RoleProcess.start('edge', 'edge-http', nats.urls);
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    await Promise.all([edge?.stop(), core?.stop()]);
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('core http - metrics count what the analytics sink stored; readiness follows NATS', async () => {
    expect(await core.http('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await core.http('/readyz')).status).toBe(200);
    expect((await core.http('/nope')).status).toBe(404);

    const t = await token({ room: 'metrics', user: 'chatter' });
    const chatter = await new Viewer((_n, s) => edge.wsUrl('metrics', t, s)).start();
    viewers.push(chatter);
    for (let i = 0; i < 20; i++) chatter.danmaku(`m${i}`);
    await chatter.until(() => chatter.texts().length === 20, 10_000, '20 danmaku');

    // The sink seals a batch within a second and counts it once chDB accepted it.
    let text = '';
    await expect
      .poll(async () => promValue((text = (await core.http('/metrics')).body), 'barrage_analytics_events_inserted_total') ?? 0, {
        timeout: 15_000,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(20);
    expect(promValue(text, 'barrage_core_bus_connected')).toBe(1);
    expect(promValue(text, 'barrage_analytics_events_received_total')).toBeGreaterThanOrEqual(20);
    expect(promValue(text, 'barrage_analytics_batches_inserted_total')).toBeGreaterThanOrEqual(1);
    expect(promValue(text, 'barrage_analytics_events_dropped_total')).toBe(0);
    // Online counts keep arriving, so a batch may be waiting at any moment: the gauge is there, its value moves.
    expect(promValue(text, 'barrage_analytics_queued_events')).toBeDefined();
    expect(promValue(text, 'barrage_process_process_resident_memory_bytes')).toBeGreaterThan(0);

    // NATS goes away: core stays up and healthy, but says it is not ready.
    await nats.servers[0]?.stop('SIGKILL');
    await expect.poll(async () => (await core.http('/readyz')).status, { timeout: 10_000, interval: 100 }).toBe(503);
    expect((await core.http('/healthz')).status).toBe(200);
    expect(promValue((await core.http('/metrics')).body, 'barrage_core_bus_connected')).toBe(0);
    await nats.servers[0]?.start();
    await expect.poll(async () => (await core.http('/readyz')).status, { timeout: 20_000, interval: 100 }).toBe(200);
    expect(core.alive).toBe(true);
  });
});
