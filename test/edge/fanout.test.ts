import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const viewers = 300;
const senders = 3;
const perSender = 40;

describe('fan-out - every viewer gets every danmaku, in one order, batched', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_DANMAKU_RATE: '1000', BARRAGE_DANMAKU_BURST: '1000', BARRAGE_BATCH_MS: '20' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`fan-out - ${viewers} viewers and ${senders} senders: complete, same order, seq 1..n without gaps`, async () => {
    const token = await server.token({ room: 'big', user: 'viewer' });
    const clients = await Promise.all(Array.from({ length: viewers }, () => TestClient.connect(server.wsUrl('big', token))));
    const sending = await Promise.all(
      Array.from({ length: senders }, async (_, s) =>
        TestClient.connect(server.wsUrl('big', await server.token({ room: 'big', user: `s${s}` }))),
      ),
    );
    for (let i = 0; i < perSender; i++) for (const [s, c] of sending.entries()) c.danmaku(`s${s}-${i}`);
    const total = senders * perSender;
    await Promise.all(clients.map((c) => c.until(() => c.texts().length === total, 20_000, 'all danmaku')));

    // Online counts may arrive in between; order and completeness are about danmaku.
    const chat = (c: TestClient) => c.events.filter((e) => e.danmaku).map((e) => `${e.seq}:${e.danmaku?.text}`);
    const reference = chat(clients[0]!);
    for (const c of clients) expect(chat(c)).toEqual(reference);
    expect(clients[0]!.events.filter((e) => e.danmaku).map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Each sender's own messages keep their order.
    for (let s = 0; s < senders; s++) {
      const mine = clients[0]!.texts().filter((t) => t.startsWith(`s${s}-`));
      expect(mine).toEqual(Array.from({ length: perSender }, (_, i) => `s${s}-${i}`));
    }
    // Batched: far fewer frames than events reached each viewer.
    const batches = clients[0]!.frames.filter((f) => f.batch && !f.batch.history).length;
    expect(batches).toBeLessThan(total / 2);
    for (const c of clients.concat(sending)) c.close();
  });

  it('fan-out - rooms are isolated from each other', async () => {
    const a = await TestClient.connect(server.wsUrl('room-a', await server.token({ room: 'room-a' })));
    const b = await TestClient.connect(server.wsUrl('room-b', await server.token({ room: 'room-b' })));
    a.danmaku('only in a');
    b.danmaku('only in b');
    await a.until(() => a.texts().length === 1);
    await b.until(() => b.texts().length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.texts()).toEqual(['only in a']);
    expect(b.texts()).toEqual(['only in b']);
    expect(a.chat()[0]?.seq).toBe(1);
    expect(b.chat()[0]?.seq).toBe(1);
    a.close();
    b.close();
  });

  it('fan-out - an edge holds bus interest only for rooms with viewers', async () => {
    const c = await TestClient.connect(server.wsUrl('transient', await server.token({ room: 'transient' })));
    expect(server.edge.hostedRooms()).toContain('transient');
    c.close();
    await c.closed();
    await expect.poll(() => server.edge.hostedRooms()).not.toContain('transient');
  });
});

describe('history - join and resume', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_JOIN_HISTORY: '5',
      BARRAGE_RETAIN_EVENTS: '50',
      BARRAGE_DANMAKU_RATE: '1000',
      BARRAGE_DANMAKU_BURST: '1000',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('history - a viewer who joins gets the last N danmaku as a history batch, then live ones', async () => {
    const token = await server.token({ room: 'h', user: 'sender' });
    const sender = await TestClient.connect(server.wsUrl('h', token));
    for (let i = 1; i <= 8; i++) sender.danmaku(`m${i}`);
    await sender.until(() => sender.texts().length === 8);
    const late = await TestClient.connect(server.wsUrl('h', await server.token({ room: 'h', user: 'late' })));
    await late.until(() => late.frames.some((f) => f.batch?.history));
    const history = late.frames.find((f) => f.batch?.history)?.batch;
    expect(history?.events?.map((e) => e.danmaku?.text)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8']);
    expect(late.welcome?.seq).toBe(8);
    expect(late.welcome?.recovered).toBe(false);
    sender.danmaku('m9');
    await late.until(() => late.texts().includes('m9'));
    expect(late.chat().at(-1)?.seq).toBe(9);
    sender.close();
    late.close();
  });

  it('history - a reconnect with since=<seq> gets exactly what it missed and recovered=true', async () => {
    const sender = await TestClient.connect(server.wsUrl('res', await server.token({ room: 'res', user: 's' })));
    const viewerToken = await server.token({ room: 'res', user: 'v' });
    const viewer = await TestClient.connect(server.wsUrl('res', viewerToken));
    sender.danmaku('before');
    await viewer.until(() => viewer.texts().length === 1);
    const lastSeq = viewer.chat().at(-1)!.seq;
    viewer.close();
    await viewer.closed();
    for (let i = 0; i < 3; i++) sender.danmaku(`missed${i}`);
    await sender.until(() => sender.texts().length === 4);
    const back = await TestClient.connect(server.wsUrl('res', viewerToken, { since: String(lastSeq) }));
    await back.until(() => back.frames.some((f) => f.batch?.history));
    expect(back.welcome?.recovered).toBe(true);
    const replay = back.frames.find((f) => f.batch?.history)?.batch;
    expect(replay?.events?.map((e) => [e.seq, e.danmaku?.text])).toEqual([
      [lastSeq + 1, 'missed0'],
      [lastSeq + 2, 'missed1'],
      [lastSeq + 3, 'missed2'],
    ]);
    // The resume frame does the same on an open connection.
    back.send({ resume: { room: 'res', lastSeq: lastSeq + 2 } });
    await back.until(() => back.frames.filter((f) => f.batch?.history).length === 2);
    expect(back.frames.filter((f) => f.welcome).at(-1)?.welcome?.recovered).toBe(true);
    expect(
      back.frames
        .filter((f) => f.batch?.history)
        .at(-1)
        ?.batch?.events?.map((e) => e.seq),
    ).toEqual([lastSeq + 3]);
    sender.close();
    back.close();
  });

  it('history - a resume beyond the retention window says recovered=false', async () => {
    const sender = await TestClient.connect(server.wsUrl('old', await server.token({ room: 'old', user: 's' })));
    for (let i = 0; i < 60; i++) sender.danmaku(`x${i}`);
    await sender.until(() => sender.texts().length === 60);
    const back = await TestClient.connect(server.wsUrl('old', await server.token({ room: 'old', user: 'v' }), { since: '1' }));
    expect(back.welcome?.recovered).toBe(false);
    sender.close();
    back.close();
  });
});
