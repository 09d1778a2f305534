/**
 * Every k6 script against a real single-process Barrage (`barrage start` as a
 * child process on a free port): green runs with loose latency thresholds
 * (this is a shared 2-core machine, not a benchmark), and red runs that must
 * exit non-zero, both for a deliberately impossible threshold and for a
 * server that really breaks a promise the script checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/process.js';
import type { CliProcess } from '../helpers/process.js';
import { explain, k6Secret, metric, runK6 } from './k6.js';

/** The site API key the gift script posts with. */
const apiKey = 'k6-api-key-k6-api-key-k6-api-key';

/** k6 exits 99 when a threshold is crossed. */
const thresholdsCrossed = 99;
/** Latency limits for a loaded CI machine; the scripts' defaults are the product targets. */
const loose = { P99_MS: 3000, E2E_P99_MS: 3000, RECONNECT_P95_MS: 5000 };

describe('k6 - scripts against a single process', () => {
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

  it('k6 - viewers.js passes: every viewer connects and receives every danmaku, in sequence', async () => {
    const run = await runK6('viewers.js', {
      ...loose,
      BARRAGE_URL: url,
      ROOM: 'kv',
      VIEWERS: 40,
      CONNS_PER_VU: 10,
      RAMP: '1s',
      HOLD: '4s',
      SEND_RATE: 10,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    expect(run.stdout).toContain('RESULT: PASS');
    expect(run.value('barrage_connect_ok')).toBe(1);
    expect(run.metrics['barrage_connect_ok']?.values['passes']).toBe(40);
    expect(run.value('barrage_seq_gaps')).toBe(0);
    const sent = run.value('barrage_danmaku_sent');
    expect(sent).toBeGreaterThan(10);
    // Every viewer was connected before the senders started, so each received every danmaku.
    expect(run.value('barrage_danmaku_received')).toBe(sent * 40);
    expect(run.value('barrage_delivery_ms', 'p(99)')).toBeGreaterThanOrEqual(0);
  });

  it("k6 - viewers.js with METRICS_URL holds the server's own p99 to a threshold and says how much of k6's is k6", async () => {
    const run = await runK6('viewers.js', {
      ...loose,
      BARRAGE_URL: url,
      METRICS_URL: `${url}/metrics`,
      // The server's share on this shared machine: loose like the others, but it is the server's alone.
      SERVER_P99_MS: 3000,
      ROOM: 'kv-server',
      VIEWERS: 20,
      CONNS_PER_VU: 10,
      RAMP: '1s',
      HOLD: '3s',
      SEND_RATE: 10,
    });
    expect(run.code, explain(run)).toBe(0);
    const server = run.value('barrage_server_p99_ms', 'max');
    expect(server).toBeGreaterThan(0);
    expect(server).toBeLessThan(3000);
    expect(run.stdout).toMatch(/server p99 \(ts_ms to socket write\) [\d.]+ ms; k6 delivery p99 [\d.]+ ms/);
    // An impossible server threshold fails the run on the server's number alone.
    const strict = await runK6('viewers.js', {
      ...loose,
      BARRAGE_URL: url,
      METRICS_URL: `${url}/metrics`,
      SERVER_P99_MS: 0,
      ROOM: 'kv-server-strict',
      VIEWERS: 10,
      CONNS_PER_VU: 10,
      RAMP: '1s',
      HOLD: '2s',
      SEND_RATE: 5,
    });
    expect(strict.code, explain(strict)).toBe(thresholdsCrossed);
    expect(strict.failed).toContain('barrage_server_p99_ms max<0');
  });

  it('k6 - viewers.js exits non-zero and says FAIL when a threshold cannot be met', async () => {
    const run = await runK6('viewers.js', {
      BARRAGE_URL: url,
      ROOM: 'kv-fail',
      VIEWERS: 10,
      CONNS_PER_VU: 10,
      RAMP: '1s',
      HOLD: '2s',
      SEND_RATE: 5,
      P99_MS: 0,
    });
    expect(run.code, explain(run)).toBe(thresholdsCrossed);
    expect(run.pass).toBe(false);
    expect(run.failed).toContain('barrage_delivery_ms p(99)<0');
    expect(run.stdout).toContain('RESULT: FAIL');
  });

  it('k6 - chat-storm.js passes: the limiter holds each sender to its bucket, tells it once a second, spares polite senders', async () => {
    const before = await metric(url, 'barrage_rate_limited_total{limit="danmaku"}');
    const run = await runK6('chat-storm.js', {
      ...loose,
      BARRAGE_URL: url,
      ROOM: 'ks',
      SENDERS: 10,
      RATE: 6,
      POLITE_SENDERS: 3,
      POLITE_RATE: 1,
      DURATION: '4s',
      METRICS_URL: `${url}/metrics`,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    expect(run.value('barrage_rate_limit_answered')).toBe(1);
    expect(run.value('barrage_polite_all_accepted')).toBe(1);
    expect(run.value('barrage_accepted_over_limit')).toBe(0);
    const refused = run.value('barrage_danmaku_refused');
    expect(refused).toBeGreaterThan(0);
    // What k6 saw refused is exactly what the server counted.
    expect(run.value('barrage_server_rate_limited')).toBe(refused);
    expect((await metric(url, 'barrage_rate_limited_total{limit="danmaku"}')) - before).toBe(refused);
    expect(run.notes.join('\n')).toContain('(equal)');
  });

  it('k6 - chat-storm.js fails when "polite" senders go over the limit, and on an impossible threshold', async () => {
    const overLimit = await runK6('chat-storm.js', {
      ...loose,
      BARRAGE_URL: url,
      ROOM: 'ks-fail',
      SENDERS: 0,
      POLITE_SENDERS: 2,
      POLITE_RATE: 6,
      DURATION: '2s',
    });
    expect(overLimit.code, explain(overLimit)).toBe(thresholdsCrossed);
    expect(overLimit.failed).toEqual(
      expect.arrayContaining(['barrage_polite_all_accepted rate==1', 'barrage_polite_rate_limited count==0']),
    );
    const impossible = await runK6('chat-storm.js', {
      BARRAGE_URL: url,
      ROOM: 'ks-fail2',
      SENDERS: 2,
      POLITE_SENDERS: 0,
      DURATION: '2s',
      P99_MS: 0,
    });
    expect(impossible.code, explain(impossible)).toBe(thresholdsCrossed);
    expect(impossible.failed).toEqual(['barrage_e2e_ms p(99)<0']);
  });

  it('k6 - reconnect-storm.js passes: every viewer drops at once, resumes recovered, misses nothing', async () => {
    // Viewers stay away up to 0.5 s (jittered backoff), so each misses danmaku that the resume must replay.
    const run = await runK6('reconnect-storm.js', {
      ...loose,
      BARRAGE_URL: url,
      ROOM: 'kr',
      VIEWERS: 60,
      WARMUP: '2s',
      STORMS: 2,
      EVERY: '2s',
      SEND_RATE: 10,
      JITTER_MS: 500,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.pass).toBe(true);
    expect(run.value('barrage_reconnects')).toBe(120);
    expect(run.value('barrage_resume_recovered')).toBe(1);
    expect(run.value('barrage_seq_gaps')).toBe(0);
    // Danmaku sent while viewers were away came back in the resume history.
    expect(run.value('barrage_resume_replayed')).toBeGreaterThan(0);
  });

  it('k6 - reconnect-storm.js fails on an impossible threshold', async () => {
    const run = await runK6('reconnect-storm.js', {
      BARRAGE_URL: url,
      ROOM: 'kr-fail',
      VIEWERS: 10,
      WARMUP: '1s',
      STORMS: 1,
      EVERY: '1s',
      RECONNECT_P95_MS: 0,
    });
    expect(run.code, explain(run)).toBe(thresholdsCrossed);
    expect(run.failed).toEqual(['barrage_reconnect_ms p(95)<0']);
  });
  it('k6 - gifts.js passes: every gift posted with a key is shown once, retries answer with the first result', async () => {
    const run = await runK6('gifts.js', {
      ...loose,
      BARRAGE_URL: url,
      BARRAGE_API_KEY: apiKey,
      ROOM: 'kg',
      GIFTS: 150,
      RATE: 50,
      RETRY_RATIO: 0.3,
      WATCHERS: 2,
      SETTLE: '2s',
      P95_MS: 3000,
      DELIVERY_P99_MS: 3000,
    });
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toContain('RESULT: PASS');
    expect(run.value('barrage_gifts_posted')).toBe(150);
    expect(run.value('barrage_gifts_lost')).toBe(0);
    expect(run.value('barrage_gifts_doubled')).toBe(0);
    expect(run.value('barrage_gifts_seen')).toBe(300); // 150 gifts, 2 watchers, once each
    expect(run.value('barrage_gift_replay_same')).toBe(1);
  });

  it('k6 - gifts.js exits non-zero when gifts cannot be posted (wrong API key)', async () => {
    const run = await runK6('gifts.js', {
      BARRAGE_URL: url,
      BARRAGE_API_KEY: 'wrong',
      ROOM: 'kg-fail',
      GIFTS: 5,
      RATE: 5,
      WATCHERS: 1,
      SETTLE: '1s',
    });
    expect(run.code, explain(run)).toBe(thresholdsCrossed);
    expect(run.stdout).toContain('RESULT: FAIL');
    expect(run.failed.join(' ')).toContain('barrage_gift_post_ok');
  });
});

describe('k6 - reconnect-storm.js against a server that cannot recover resumes', () => {
  it('k6 - reconnect-storm.js fails when the server keeps too few events to recover a resume', async () => {
    // One retained event: by the time viewers resume, the events they missed are gone.
    const server = await startCli(['start'], {
      env: { BARRAGE_SECRET: k6Secret, BARRAGE_LOG_LEVEL: 'warn', BARRAGE_ANALYTICS: 'off', BARRAGE_RETAIN_EVENTS: '1' },
    });
    try {
      const run = await runK6('reconnect-storm.js', {
        ...loose,
        BARRAGE_URL: `http://127.0.0.1:${server.port}`,
        ROOM: 'kr-lossy',
        VIEWERS: 10,
        WARMUP: '1s',
        STORMS: 1,
        EVERY: '2s',
        JITTER_MS: 1000,
        SEND_RATE: 20,
      });
      expect(run.code, explain(run)).toBe(thresholdsCrossed);
      expect(run.failed).toContain('barrage_resume_recovered rate>=1');
      expect(run.value('barrage_resume_recovered')).toBeLessThan(1);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
