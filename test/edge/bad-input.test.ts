import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('bad input - errors with stable codes, documented closes, process stays up', () => {
  let server: TestServer;
  let connect: (room?: string) => Promise<TestClient>;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_MAX_FRAME_BYTES: '1024', BARRAGE_FRAME_RATE: '20', BARRAGE_FRAME_BURST: '20' });
    connect = async (room = 'bad') => TestClient.connect(server.wsUrl(room, await server.token({ room, user: `u${Math.random()}` })));
  });
  afterAll(async () => {
    await server.stop();
  });

  const lastError = async (c: TestClient, n: number) => {
    await c.until(() => c.errors.length >= n, 3000, `error #${n}`);
    return c.errors[n - 1] as v1.Error;
  };

  it('bad input - garbage bytes, text frames and unknown frame kinds get error frames', async () => {
    const c = await connect();
    c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    expect((await lastError(c, 1)).code).toBe(ErrorCode.ERROR_CODE_BAD_FRAME);
    c.sendRaw('{"type":"danmaku"}');
    expect((await lastError(c, 2)).code).toBe(ErrorCode.ERROR_CODE_BAD_FRAME);
    c.sendRaw(new Uint8Array([0x50, 0x01])); // field 10: a kind from the future
    expect((await lastError(c, 3)).code).toBe(ErrorCode.ERROR_CODE_UNKNOWN_FRAME);
    c.sendRaw(new Uint8Array([]));
    expect((await lastError(c, 4)).code).toBe(ErrorCode.ERROR_CODE_UNKNOWN_FRAME);
    expect(c.closeCode).toBeUndefined();
    c.close();
  });

  it('bad input - invalid UTF-8 in text is refused as INVALID_UTF8', async () => {
    const c = await connect();
    // ClientFrame{send_danmaku{text: 0xff 0xfe}}
    c.sendRaw(new Uint8Array([0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe]));
    expect((await lastError(c, 1)).code).toBe(ErrorCode.ERROR_CODE_INVALID_UTF8);
    c.close();
  });

  it('bad input - each invalid danmaku field gets its own code and echoes client_msg_id', async () => {
    const c = await connect();
    const cases: Array<[v1.ISendDanmaku, v1.ErrorCode]> = [
      [{ text: '', clientMsgId: 'e1' }, ErrorCode.ERROR_CODE_TEXT_EMPTY],
      [{ text: 'x'.repeat(101), clientMsgId: 'e2' }, ErrorCode.ERROR_CODE_TEXT_TOO_LONG],
      [{ text: 'a\u0007b', clientMsgId: 'e3' }, ErrorCode.ERROR_CODE_TEXT_INVALID],
      [{ text: 'ok', mode: 5 as v1.DanmakuMode, clientMsgId: 'e4' }, ErrorCode.ERROR_CODE_INVALID_MODE],
      [{ text: 'ok', color: 0x7fffffff, clientMsgId: 'e5' }, ErrorCode.ERROR_CODE_INVALID_COLOR],
    ];
    for (const [msg] of cases) c.send({ sendDanmaku: msg });
    await c.until(() => c.errors.length === cases.length, 3000, 'all errors');
    expect(c.errors.map((e) => [e.clientMsgId, e.code])).toEqual(cases.map(([m, code]) => [m.clientMsgId, code]));
    c.close();
  });

  it('bad input - a frame over the size limit gets FRAME_TOO_LARGE; far over it closes with 1009', async () => {
    const c = await connect();
    c.sendRaw(new Uint8Array(2000));
    expect((await lastError(c, 1)).code).toBe(ErrorCode.ERROR_CODE_FRAME_TOO_LARGE);
    c.sendRaw(new Uint8Array(10_000));
    await c.closed();
    expect(c.closeCode).toBe(1009);
    expect(c.closeReason).toBe('frame far over the size limit');
  });

  it('bad input - a frame above the 64 KiB transport cap drops the connection', async () => {
    const c = await connect();
    c.sendRaw(new Uint8Array(70_000));
    await c.closed();
    expect(c.closeCode).toBe(1006);
  });

  it('bad input - a client that keeps sending garbage is closed with 4500 (do not reconnect)', async () => {
    const c = await connect();
    for (let i = 0; i < 12; i++) c.sendRaw(new Uint8Array([0xff, 0xff, 0xff]));
    await c.closed();
    expect(c.closeCode).toBe(4500);
    expect(c.closeReason).toBe('too many undecodable frames');
  });

  it('bad input - a frame flood is answered with one RATE_LIMITED error, then closed with 4501', async () => {
    const c = await connect();
    const ping = v1.ClientFrame.encode({ ping: { clientTsMs: 1 } }).finish();
    const started = performance.now();
    for (let i = 0; i < 200; i++) c.sendRaw(ping);
    await c.closed();
    const elapsedMs = performance.now() - started;
    expect(c.closeCode).toBe(4501);
    const rateErrors = c.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_RATE_LIMITED);
    expect(rateErrors.length).toBe(1);
    // The burst (20) was served, plus what the bucket refilled (20/s) while a busy machine read the
    // flood, and nothing more.
    const pongs = c.frames.filter((f) => f.pong).length;
    expect(pongs).toBeGreaterThanOrEqual(20);
    expect(pongs).toBeLessThanOrEqual(20 + Math.ceil((elapsedMs / 1000) * 20));
  });

  it('bad input - after all of it the server still serves others', async () => {
    const a = await connect('after');
    const b = await connect('after');
    a.danmaku('still here');
    await b.until(() => b.texts().includes('still here'));
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/barrage_errors_total\{code="ERROR_CODE_BAD_FRAME"\} [1-9]/);
    expect(metrics).toMatch(/barrage_closes_total\{code="4501"\} 1/);
    a.close();
    b.close();
  });
});
