/**
 * bench/k6/red-packets.js against a real single process: a storm of 300
 * grabbers on a 120-share packet passes its thresholds (every grabber
 * answered, exactly 120 granted, the packet read back exact); with a wrong
 * API key it cannot open the packet and fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/process.js';
import type { CliProcess } from '../helpers/process.js';
import { explain, k6Secret, runK6 } from '../k6/k6.js';

const apiKey = 'k6-plays-key-k6-plays-key-k6-play';

describe('k6 - red-packets.js against a single process', () => {
  let server: CliProcess;
  let url: string;

  beforeAll(async () => {
    server = await startCli(['start'], {
      env: { BARRAGE_SECRET: k6Secret, BARRAGE_API_KEY: apiKey, BARRAGE_LOG_LEVEL: 'warn', BARRAGE_ANALYTICS: 'off' },
    });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  it('k6 - red-packets.js passes: 300 grab 120 shares, exactly 120 granted, the rest told EMPTY', async () => {
    const run = await runK6(
      'red-packets.js',
      { BARRAGE_URL: url, BARRAGE_API_KEY: apiKey, GRABBERS: 300, SHARES: 120, CONNS_PER_VU: 50, JOIN: '5s', P99_MS: 5000 },
      90_000,
    );
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toContain('RESULT: PASS');
    expect(run.value('barrage_grabs_granted')).toBe(120);
    expect(run.value('barrage_grabs_empty')).toBe(180);
    expect(run.value('barrage_red_packet_mismatch')).toBe(0);
    expect(run.stdout).toMatch(/grab throughput: \d+ answered grabs\/s/);
  }, 120_000);

  it('k6 - red-packets.js fails when the packet cannot be opened (wrong API key)', async () => {
    const run = await runK6('red-packets.js', { BARRAGE_URL: url, BARRAGE_API_KEY: 'wrong', GRABBERS: 10, SHARES: 5, JOIN: '1s' });
    expect(run.code).not.toBe(0);
  }, 60_000);
});
