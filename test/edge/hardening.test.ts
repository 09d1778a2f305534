/**
 * What an anonymous visitor could do to an edge before the hardening work,
 * each kept as a regression test: the process stays up and the visitor gets
 * a clear answer.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { mintToken } from '../../domain/auth.js';
import { TestClient } from '../helpers/client.js';
import { scrape } from '../helpers/metrics.js';
import { startTestServer } from '../helpers/server.js';
import { testConfig } from '../helpers/config.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import { createLogger } from '../../domain/logger.js';
import { subjects } from '../../domain/subjects.js';
import { EdgeServer } from '../../edge/server.js';
import type { EdgeExtension } from '../../edge/extensions.js';
import type { TestServer } from '../helpers/server.js';

/** Sends a request with headers and only the first bytes of a large body; resolves with the status once answered. */
function partialPost(url: string, headers: Record<string, string>, announced: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(announced) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    // A few bytes of the promised body, never the rest: the answer must not wait for it.
    req.write(Buffer.alloc(1024, 0x61));
  });
}

describe('hardening - HTTP entry points', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('hardening - malformed percent-encoding in a route parameter is a 400, not a dead process', async () => {
    for (const path of ['/api/v1/rooms/%/held', '/api/v1/rooms/%ZZ/held', '/api/v1/rooms/%E4%BD/moderation', '/api/v1/rooms/a%/audit']) {
      const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.config.auth.apiKey}` } });
      expect(res.status, path).toBe(400);
      expect(await res.text()).toMatch(/percent-encoding/);
    }
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
    expect(await scrape(server.url, 'barrage_http_refused_total{reason="bad_path"}')).toBeGreaterThanOrEqual(4);
  });

  it('hardening - an API request without the key is refused before its body is read', async () => {
    const res = await partialPost(`${server.url}/api/v1/rooms/r1/moderate`, { 'content-type': 'application/json' }, 2 << 20);
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/UNAUTHORIZED/);
    expect(await scrape(server.url, 'barrage_http_refused_total{reason="unauthorized"}')).toBeGreaterThanOrEqual(1);
  });

  it('hardening - a body announced over the route limit is a 413 before it is read', async () => {
    const res = await partialPost(
      `${server.url}/api/v1/rooms/r1/moderate`,
      { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' },
      5 << 20,
    );
    expect(res.status).toBe(413);
  });
});

describe('hardening - HTTP body budget shared by all requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_MAX_BUFFERED_BODY_BYTES: String(64 << 10) });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('hardening - past the shared body budget new bodies get 503 with Retry-After, and the budget comes back', async () => {
    const auth = { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' };
    // Two requests that each announce 40 KiB and send 1 KiB: the second does not fit beside the first.
    const first = request(`${server.url}/api/v1/rooms/r1/moderate`, {
      method: 'POST',
      headers: { ...auth, 'content-length': String(40 << 10) },
    });
    first.on('error', () => {});
    first.write(Buffer.alloc(1024, 0x20));
    await expect.poll(async () => (await partialPost(`${server.url}/api/v1/rooms/r1/moderate`, auth, 40 << 10)).status).toBe(503);
    first.destroy();
    // Once the first is gone its share is free again: a small request goes through to its handler.
    await expect
      .poll(async () => {
        const res = await fetch(`${server.url}/api/v1/rooms/r1/moderate`, { method: 'POST', headers: auth, body: '{}' });
        return res.status;
      })
      .toBe(400);
  });
});

describe('hardening - WebSocket budgets', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_FRAME_RATE: '20',
      BARRAGE_FRAME_BURST: '20',
      BARRAGE_RESUME_PER_MINUTE: '6',
      BARRAGE_RESUME_BURST: '2',
      BARRAGE_MODERATE_RATE: '1',
      BARRAGE_MODERATE_BURST: '3',
      BARRAGE_TRUST_PROXY: 'on',
      BARRAGE_IP_UPGRADE_RATE: '1',
      BARRAGE_IP_UPGRADE_BURST: '3',
      BARRAGE_IP_COSTLY_RATE: '1',
      BARRAGE_IP_COSTLY_BURST: '3',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** A socket whose client address (through the trusted proxy header) is `ip`. */
  const connectFrom = async (ip: string, room: string, token?: string): Promise<TestClient> =>
    TestClient.connect(server.wsUrl(room, token), { headers: { 'x-forwarded-for': `203.0.113.250, ${ip}` } });

  it('hardening - resumes past the per-connection budget are refused with RATE_LIMITED, cheaply', async () => {
    const c = await connectFrom('198.51.100.1', 'resume-room');
    for (let i = 0; i < 5; i++) c.send({ resume: { room: 'resume-room', lastSeq: 0 } });
    await c.until(() => c.errors.some((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED), 3000, 'rate limited');
    const limited = c.errors.find((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED) as v1.Error;
    expect(limited.message).toMatch(/resume/);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    // Two resumes were answered (two more welcomes), the rest refused.
    await c.until(() => c.frames.filter((f) => f.welcome).length === 3, 3000, 'two resumed welcomes');
    expect(c.closeCode).toBeUndefined();
    expect(await scrape(server.url, 'barrage_rate_limited_total{limit="resume"}')).toBeGreaterThanOrEqual(1);
    c.close();
  });

  it('hardening - sockets of one address share its upgrade budget (429), other addresses are not affected', async () => {
    const mine = [];
    let refused: unknown;
    for (let i = 0; i < 6; i++) {
      try {
        mine.push(await connectFrom('198.51.100.2', 'ip-room'));
      } catch (err) {
        refused = err;
        break;
      }
    }
    expect(mine.length).toBeLessThanOrEqual(3);
    expect((refused as { status?: number }).status).toBe(429);
    const other = await connectFrom('198.51.100.3', 'ip-room');
    expect(other.welcome).toBeDefined();
    for (const c of [...mine, other]) c.close();
  });

  it('hardening - a moderator whose token expired is closed with 4003 on the next moderate frame', async () => {
    // Expired two seconds ago: still inside the upgrade's clock tolerance, past it for actions.
    const token = await mintToken(server.config.auth.secret, {
      room: 'exp-room',
      user: 'mod1',
      name: 'Mod',
      role: 'moderator',
      ttlSeconds: -2,
    });
    const c = await connectFrom('198.51.100.4', 'exp-room', token);
    c.send({ moderate: { notice: { text: 'still here?' } } });
    await c.closed();
    expect(c.closeCode).toBe(4003);
  });

  it('hardening - moderation frames past the budget are refused with RATE_LIMITED', async () => {
    const token = await mintToken(server.config.auth.secret, { room: 'mod-room', user: 'mod2', name: 'Mod', role: 'moderator' });
    const c = await connectFrom('198.51.100.5', 'mod-room', token);
    for (let i = 0; i < 6; i++) c.send({ moderate: { notice: { text: `notice ${i}` } } });
    await c.until(() => c.errors.some((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED), 3000, 'rate limited');
    expect(c.errors.find((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED)?.message).toMatch(/moderating too fast/);
    c.close();
  });

  it('hardening - a WebSocket ping flood is closed like a frame flood (4501)', async () => {
    const ws = new WebSocket(server.wsUrl('ping-room'), { headers: { 'x-forwarded-for': '198.51.100.6' } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let pongs = 0;
    ws.on('pong', () => pongs++);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    for (let i = 0; i < 2000 && ws.readyState === WebSocket.OPEN; i++) ws.ping();
    expect(await closed).toBe(4501);
    expect(pongs).toBeLessThan(2000);
  });
});

describe('hardening - held danmaku cost their sender like sent ones', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_DANMAKU_RATE: '1', BARRAGE_DANMAKU_BURST: '3' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('hardening - past the danmaku burst, danmaku that would be held are RATE_LIMITED instead', async () => {
    const auth = { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' };
    const put = await fetch(`${server.url}/api/v1/rooms/held-room/filter`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ terms: ['spam'], action: 'hold' }),
    });
    expect(put.status).toBe(200);
    const c = await TestClient.connect(server.wsUrl('held-room', await server.token({ room: 'held-room', user: 'spammer' })));
    for (let i = 0; i < 10; i++) c.danmaku(`spam ${i}`);
    await c.until(() => c.errors.some((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED), 3000, 'rate limited');
    await c.until(() => c.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_HELD).length >= 3, 3000, 'held');
    expect(c.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_HELD).length).toBe(3);
    const held = await (await fetch(`${server.url}/api/v1/rooms/held-room/held`, { headers: auth })).json();
    expect(JSON.stringify(held).match(/spam \d/g)?.length).toBe(3);
    c.close();
  });
});

describe('hardening - nothing thrown by a handler reaches uWebSockets.js', () => {
  let edge: EdgeServer;
  let bus: MemoryBus;
  let base: string;
  const throwing: EdgeExtension = {
    name: 'throws',
    frames: {
      like: () => {
        throw new Error('a bug in a frame handler');
      },
    },
  };
  beforeAll(async () => {
    bus = new MemoryBus();
    // Something must answer history requests for the welcome; an empty room is enough.
    bus.serve(subjects.historyAll, () => new Uint8Array());
    edge = new EdgeServer({
      config: testConfig().edge,
      bus,
      logger: createLogger('silent'),
      extensions: [throwing],
      routes: [
        {
          method: 'get',
          pattern: '/boom',
          handler: () => {
            throw new Error('a bug in a route');
          },
        },
      ],
    });
    base = `http://127.0.0.1:${await edge.listen()}`;
  });
  afterAll(async () => {
    await edge.shutdown();
    await bus.close();
  });

  it('hardening - a throwing frame handler closes that socket with 4002 and is counted; others stay', async () => {
    const bystander = await TestClient.connect(`${base.replace('http', 'ws')}/ws?room=g`);
    const victim = await TestClient.connect(`${base.replace('http', 'ws')}/ws?room=g`);
    victim.send({ like: { count: 1 } });
    await victim.closed();
    expect(victim.closeCode).toBe(4002);
    expect(bystander.closeCode).toBeUndefined();
    expect(await scrape(base, 'barrage_internal_errors_total{entry="message"}')).toBe(1);
    bystander.close();
  });

  it('hardening - a throwing route answers 500 and is counted', async () => {
    expect((await fetch(`${base}/boom`)).status).toBe(500);
    expect(await scrape(base, 'barrage_internal_errors_total{entry="http"}')).toBe(1);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('hardening - the edge-wide replay budget', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_REPLAY_BYTES_PER_SECOND: String(64 << 10),
      BARRAGE_DANMAKU_RATE: '1000',
      BARRAGE_DANMAKU_BURST: '1000',
      BARRAGE_FRAME_RATE: '1000',
      BARRAGE_FRAME_BURST: '1000',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('hardening - once the replay budget is spent, a resume is answered as a join (not recovered), cheaply', async () => {
    const sender = await TestClient.connect(server.wsUrl('replay-room', await server.token({ room: 'replay-room', user: 'writer' })));
    // About 300 KB of history: more than the 128 KiB burst.
    for (let i = 0; i < 1000; i++) sender.danmaku(`${i} `.padEnd(90, 'x'));
    await sender.until(() => sender.chat().length >= 1000, 10_000, 'all sent');
    const first = await TestClient.connect(server.wsUrl('replay-room', undefined, { since: '0' }));
    expect(first.welcome?.recovered).toBe(true);
    const second = await TestClient.connect(server.wsUrl('replay-room', undefined, { since: '0' }));
    expect(second.welcome?.recovered).toBe(false);
    expect(await scrape(server.url, 'barrage_rate_limited_total{limit="replay"}')).toBeGreaterThanOrEqual(1);
    for (const c of [sender, first, second]) c.close();
  });
});

describe('hardening - refusals of a spent address budget wait', () => {
  let server: TestServer;
  const delayMs = 400;
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_TRUST_PROXY: 'on',
      BARRAGE_IP_UPGRADE_RATE: '1',
      BARRAGE_IP_UPGRADE_BURST: '1',
      BARRAGE_IP_REFUSAL_DELAY_MS: String(delayMs),
      BARRAGE_IP_REFUSAL_MAX_HELD: '3',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Tries an upgrade from `ip`; resolves with how it ended and when. */
  const attempt = (ip: string) => {
    const started = performance.now();
    return TestClient.connect(server.wsUrl('tarpit-room'), { headers: { 'x-forwarded-for': ip } }).then(
      (c) => ({ outcome: 'open' as const, client: c, ms: performance.now() - started }),
      (err: { status?: number; message?: string }) => ({
        outcome: err.status === 429 ? ('429' as const) : ('closed' as const),
        client: undefined,
        ms: performance.now() - started,
      }),
    );
  };

  it('hardening - a refused upgrade is answered 429 only after the delay; past the cap it is closed unanswered; the process stays up', async () => {
    const first = await attempt('198.51.100.20');
    expect(first.outcome).toBe('open');
    // The address's one upgrade is spent: the next one waits for its 429.
    const second = await attempt('198.51.100.20');
    expect(second.outcome).toBe('429');
    expect(second.ms).toBeGreaterThanOrEqual(delayMs / 2 - 50); // the delay, spread from half to one and a half times
    // Six at once: three wait (the cap), the others are closed without an answer.
    const burst = await Promise.all(Array.from({ length: 6 }, () => attempt('198.51.100.21')));
    const counts = { open: 0, '429': 0, closed: 0 };
    for (const r of burst) counts[r.outcome]++;
    expect(counts.open).toBe(1);
    expect(counts['429']).toBe(3);
    expect(counts.closed).toBe(2);
    expect(await scrape(server.url, 'barrage_upgrades_total{result="ip_closed"}')).toBe(2);
    // Another address is not held back, and the edge still answers.
    const other = await attempt('198.51.100.22');
    expect(other.outcome).toBe('open');
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
    for (const r of [first, ...burst, other]) r.client?.close();
  });

  it('hardening - a client that gives up while its refusal waits costs nothing and breaks nothing', async () => {
    await attempt('198.51.100.30'); // spends the budget
    const sockets = Array.from(
      { length: 3 },
      () => new WebSocket(server.wsUrl('tarpit-room'), { headers: { 'x-forwarded-for': '198.51.100.30' } }),
    );
    for (const ws of sockets) ws.on('error', () => {});
    // Give up before the answer comes: uWS reports the abort; the later answer must skip them.
    await expect.poll(() => scrape(server.url, 'barrage_upgrades_total{result="ip_rate"}')).toBeGreaterThanOrEqual(3);
    for (const ws of sockets) ws.terminate();
    // Once the address's budget refills (1/s), well after those refusals were due, it is admitted
    // again: the timer went past the abandoned ones without answering them, and nothing broke.
    let admitted: Awaited<ReturnType<typeof attempt>> | undefined;
    await expect.poll(async () => (admitted = await attempt('198.51.100.30')).outcome, { timeout: 10_000, interval: 200 }).toBe('open');
    admitted?.client?.close();
    const errors = (await (await fetch(server.url + '/metrics')).text())
      .split('\n')
      .filter((line) => line.startsWith('barrage_internal_errors_total{'))
      .map((line) => Number(line.split(' ').pop()));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((n) => n === 0)).toBe(true);
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
  });
});

describe('hardening - an address whose sockets keep being closed for abuse is refused for a while', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_TRUST_PROXY: 'on',
      BARRAGE_FRAME_RATE: '20',
      BARRAGE_FRAME_BURST: '20',
      BARRAGE_IP_REFUSAL_DELAY_MS: '0',
      BARRAGE_IP_ABUSE_STRIKES: '2',
      BARRAGE_IP_PENALTY_SECONDS: '4',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

  /** Opens a socket from `ip` and floods it with WebSocket pings until the edge closes it; resolves with the close code. */
  const floodOnce = async (ip: string): Promise<number> => {
    const ws = new WebSocket(server.wsUrl('penalty-room'), from(ip));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    for (let i = 0; i < 2000 && ws.readyState === WebSocket.OPEN; i++) ws.ping();
    return closed;
  };

  it('hardening - past the strike limit new upgrades get 429; open sockets and other addresses are untouched; it ends', async () => {
    const ip = '198.51.100.40';
    // A viewer behind the same address, connected before the abuse: it keeps its socket.
    const watching = await TestClient.connect(server.wsUrl('penalty-room'), from(ip));
    expect(await floodOnce(ip)).toBe(4501);
    expect(await floodOnce(ip)).toBe(4501);
    let refused: { status?: number; body?: string } | undefined;
    await TestClient.connect(server.wsUrl('penalty-room'), from(ip)).then(
      (c) => c.close(),
      (err: { status?: number; body?: string }) => (refused = err),
    );
    expect(refused?.status).toBe(429);
    expect(refused?.body).toMatch(/closed for abuse; refused for [1-4] s/);
    expect(await scrape(server.url, 'barrage_upgrades_total{result="ip_penalty"}')).toBe(1);
    expect(await scrape(server.url, 'barrage_ip_abuse_strikes_total')).toBe(2);
    expect(await scrape(server.url, 'barrage_ip_penalties_total')).toBe(1);
    expect(await scrape(server.url, 'barrage_ip_penalized_addresses')).toBe(1);
    // Another address is admitted, and the socket that was already open still gets the room's chat.
    const other = await TestClient.connect(server.wsUrl('penalty-room'), from('198.51.100.41'));
    const sender = await TestClient.connect(
      server.wsUrl(
        'penalty-room',
        await mintToken(server.config.auth.secret, { room: 'penalty-room', user: 'u1', name: 'U', role: 'viewer' }),
      ),
      from('198.51.100.42'),
    );
    sender.danmaku('still watching');
    await watching.until(() => watching.texts().includes('still watching'), 5000, 'chat after the penalty began');
    expect(watching.closeCode).toBeUndefined();
    // The window ends (4 s; long enough that a loaded machine still sees it running above): the address is admitted again.
    let back: TestClient | undefined;
    await expect
      .poll(
        async () => {
          back = await TestClient.connect(server.wsUrl('penalty-room'), from(ip)).catch(() => undefined);
          return back !== undefined;
        },
        { timeout: 15_000, interval: 250 },
      )
      .toBe(true);
    expect(await scrape(server.url, 'barrage_ip_penalized_addresses')).toBe(0);
    for (const c of [watching, other, sender, back]) c?.close();
  });
});
