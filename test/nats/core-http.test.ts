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
import { sleep } from './helpers/inject.js';

/** The value of an unlabelled series in Prometheus text, or undefined. */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

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
    expect(core.port).toBeGreaterThan(0);
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
    await until(
      async () => {
        text = (await core.http('/metrics')).body;
        return (metric(text, 'barrage_analytics_events_inserted_total') ?? 0) >= 20;
      },
      15_000,
      '20 events inserted',
    );
    expect(metric(text, 'barrage_core_bus_connected')).toBe(1);
    expect(metric(text, 'barrage_analytics_events_received_total')).toBeGreaterThanOrEqual(20);
    expect(metric(text, 'barrage_analytics_batches_inserted_total')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'barrage_analytics_events_dropped_total')).toBe(0);
    // Online counts keep arriving, so a batch may be waiting at any moment: the gauge is there, its value moves.
    expect(metric(text, 'barrage_analytics_queued_events')).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'barrage_process_process_resident_memory_bytes')).toBeGreaterThan(0);

    // NATS goes away: core stays up and healthy, but says it is not ready.
    await nats.servers[0]?.stop('SIGKILL');
    await until(async () => (await core.http('/readyz')).status === 503, 10_000, 'readyz 503');
    expect((await core.http('/healthz')).status).toBe(200);
    expect(metric((await core.http('/metrics')).body, 'barrage_core_bus_connected')).toBe(0);
    await nats.servers[0]?.start();
    await until(async () => (await core.http('/readyz')).status === 200, 20_000, 'readyz 200 again');
    expect(core.alive).toBe(true);
  });
});
