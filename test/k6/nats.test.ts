/**
 * The k6 scripts against a multi-process deployment: one nats-server with
 * JetStream, one `barrage core` and two `barrage edge` processes, with k6
 * addressing both edges (BARRAGE_URL lists them; connection i goes to edge
 * i mod 2, and reconnect-storm.js moves every viewer to the other edge on
 * each reconnect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess } from '../nats/helpers/roles.js';
import { explain, k6Secret, runK6 } from './k6.js';

const loose = { P99_MS: 3000, E2E_P99_MS: 3000, RECONNECT_P95_MS: 5000 };
/** The defaults an operator runs with (the role helper raises them for other tests). */
const limits = { BARRAGE_DANMAKU_RATE: '2', BARRAGE_DANMAKU_BURST: '5', BARRAGE_FRAME_RATE: '50', BARRAGE_FRAME_BURST: '100' };

describe('k6 - scripts against two edges and a core on NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  let urls: string;

  beforeAll(async () => {
    nats = await startNats();
    const env = { ...limits, BARRAGE_SECRET: k6Secret, BARRAGE_LOG_LEVEL: 'warn' };
    // The role helper waits for the "is up" line, which is logged at info.
    env.BARRAGE_LOG_LEVEL = 'info';
    [core, ...edges] = await Promise.all([
      RoleProcess.start('core', 'k6-core', nats.urls, env),
      RoleProcess.start('edge', 'k6-e1', nats.urls, env),
      RoleProcess.start('edge', 'k6-e2', nats.urls, env),
    ]);
    urls = edges.map((e) => `http://127.0.0.1:${e.port}`).join(',');
  });

  afterAll(async () => {
    await Promise.all([...edges, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('k6 - viewers.js passes across two edges: every viewer gets every danmaku, whichever edge it is on', async () => {
    const run = await runK6('viewers.js', {
      ...loose,
      BARRAGE_URL: urls,
      ROOM: 'nv',
      VIEWERS: 40,
      CONNS_PER_VU: 10,
      RAMP: '1s',
      HOLD: '4s',
      SEND_RATE: 10,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    expect(run.value('barrage_seq_gaps')).toBe(0);
    const sent = run.value('barrage_danmaku_sent');
    expect(sent).toBeGreaterThan(10);
    expect(run.value('barrage_danmaku_received')).toBe(sent * 40);
  });

  it('k6 - chat-storm.js passes across two edges, and the edges counted what k6 saw refused', async () => {
    const run = await runK6('chat-storm.js', {
      ...loose,
      BARRAGE_URL: urls,
      ROOM: 'ns',
      SENDERS: 8,
      RATE: 6,
      POLITE_SENDERS: 2,
      POLITE_RATE: 1,
      DURATION: '4s',
      METRICS_URL: edges.map((e) => `http://127.0.0.1:${e.port}/metrics`).join(','),
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    const refused = run.value('barrage_danmaku_refused');
    expect(refused).toBeGreaterThan(0);
    expect(run.value('barrage_server_rate_limited')).toBe(refused);
  });

  it('k6 - reconnect-storm.js passes with every reconnect moving to the other edge', async () => {
    const run = await runK6('reconnect-storm.js', {
      ...loose,
      BARRAGE_URL: urls,
      ROOM: 'nr',
      VIEWERS: 40,
      WARMUP: '2s',
      STORMS: 2,
      EVERY: '2s',
      SEND_RATE: 10,
      JITTER_MS: 500,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    expect(run.value('barrage_reconnects')).toBe(80);
    expect(run.value('barrage_resume_recovered')).toBe(1);
    expect(run.value('barrage_seq_gaps')).toBe(0);
    expect(run.value('barrage_resume_replayed')).toBeGreaterThan(0);
  });
});
