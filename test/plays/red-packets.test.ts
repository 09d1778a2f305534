/**
 * Red packets end to end in one process: the API opens a packet (once per
 * Idempotency-Key), viewers grab over the socket (one share each, the
 * reasons of those who get none), everyone in the room sees it open, its
 * progress and its end, and an expired packet reports its refundable rest.
 * Bad input: numbers out of range, unknown packets, guests, floods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';

const apiKey = 'k'.repeat(32);

/** A packet as the API shows it (the fields these tests read). */
interface PacketJson {
  id: string;
  status?: string;
  grabs: Array<{ user: { id: string }; slot: number; amount_cents: number }>;
  [field: string]: unknown;
}

describe('red packets - single process', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  let keys = 0;

  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_API_KEY: apiKey, BARRAGE_DANMAKU_RATE: '2', BARRAGE_DANMAKU_BURST: '5' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  const connect = async (room: string, user: string, extra: { member?: boolean; guest?: boolean } = {}) => {
    const url = extra.guest
      ? server.wsUrl(room)
      : server.wsUrl(room, await server.token({ room, user, name: `名 ${user}`, role: 'viewer', member: extra.member ?? false }));
    const c = await TestClient.connect(url);
    clients.push(c);
    return c;
  };
  const create = (room: string, body: Record<string, unknown>, key = `rp-${++keys}`, auth = apiKey) =>
    fetch(`${server.url}/api/v1/rooms/${room}/red-packets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ sender: { id: 'host', name: 'Host' }, ...body }),
    });
  const read = async (room: string, id: string) => {
    const res = await fetch(`${server.url}/api/v1/rooms/${room}/red-packets/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const json = res.headers.get('content-type')?.startsWith('application/json');
    return { status: res.status, body: (json ? await res.json() : { text: await res.text() }) as PacketJson };
  };
  const answers = (c: TestClient) => c.frames.filter((f) => f.playAnswer).map((f) => f.playAnswer as v1.PlayAnswer);
  const grab = async (c: TestClient, id: string): Promise<v1.PlayAnswer> => {
    const before = answers(c).length;
    c.send({ grabRedPacket: { id } });
    await c.until(() => answers(c).length > before, 5_000, 'play answer');
    return answers(c)[before] as v1.PlayAnswer;
  };

  it('red packets - opened once per key; every viewer gets one share, the rest are told EMPTY, the shares sum to the total', async () => {
    const watcher = await connect('rp1', 'watcher');
    const res = await create('rp1', { total_cents: 1_000, count: 5, mode: 'random', greeting: '恭喜发财' }, 'open-1');
    expect(res.status).toBe(201);
    const opened = (await res.json()) as PacketJson;
    expect(opened).toMatchObject({ total_cents: 1_000, count: 5, status: 'open', grabbed: 0, greeting: '恭喜发财' });
    // The same key again: the same packet, nothing opened twice.
    const again = await create('rp1', { total_cents: 1_000, count: 5, mode: 'random', greeting: '恭喜发财' }, 'open-1');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as PacketJson)['id']).toBe(opened.id);
    // The same key for another packet: refused.
    expect((await create('rp1', { total_cents: 2_000, count: 5 }, 'open-1')).status).toBe(409);
    await watcher.until(() => watcher.events.some((e) => e.redPacket), 5_000, 'red_packet event');
    expect(watcher.events.filter((e) => e.redPacket)).toHaveLength(1);
    expect(watcher.events.find((e) => e.redPacket)?.redPacket).toMatchObject({ id: opened.id, count: 5, greeting: '恭喜发财' });

    const viewers = await Promise.all(Array.from({ length: 8 }, (_, i) => connect('rp1', `v${i}`)));
    const got = await Promise.all(viewers.map((v) => grab(v, opened.id)));
    const granted = got.filter((a) => a.error === ErrorCode.ERROR_CODE_UNSPECIFIED);
    expect(granted).toHaveLength(5);
    expect(granted.reduce((s, a) => s + Number(a.amountCents), 0)).toBe(1_000);
    expect(got.filter((a) => a.error === ErrorCode.ERROR_CODE_RED_PACKET_EMPTY)).toHaveLength(3);
    // A second grab: the same share, told so.
    const winner = viewers[got.findIndex((a) => a.error === ErrorCode.ERROR_CODE_UNSPECIFIED)] as TestClient;
    const first = answers(winner)[0] as v1.PlayAnswer;
    const second = await grab(winner, opened.id);
    expect(second).toMatchObject({ error: ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED });
    expect(Number(second.amountCents)).toBe(Number(first.amountCents));

    // The room sees the end (with the luckiest) and the progress.
    await watcher.until(() => watcher.events.some((e) => e.redPacketEnded), 5_000, 'red_packet_ended');
    const ended = watcher.events.find((e) => e.redPacketEnded)?.redPacketEnded as v1.RedPacketEnded;
    expect(ended).toMatchObject({ grabbed: 5, count: 5, expired: false });
    expect(Number(ended.grabbedCents)).toBe(1_000);
    expect(Number(ended.refundableCents)).toBe(0);
    expect(Number(ended.luckiest?.amountCents)).toBe(Math.max(...granted.map((a) => Number(a.amountCents))));
    await watcher.until(() => watcher.events.some((e) => e.redPacketProgress?.grabbed === 5), 5_000, 'progress');

    const state = await read('rp1', opened.id);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ status: 'emptied', grabbed: 5, grabbed_cents: 1_000, refundable_cents: 0, ended: true });
    expect(new Set(state.body['grabs'].map((g) => g.user.id)).size).toBe(5);
    expect(state.body['grabs'].map((g) => g.slot)).toEqual([0, 1, 2, 3, 4]);
    // Grabs are listed in pages (a reply must fit the bus): offset and limit, bad ones refused.
    const page = await read('rp1', `${opened.id}?offset=1&limit=2`);
    expect(page.body.grabs.map((g) => g.slot)).toEqual([1, 2]);
    expect(page.body['grabbed']).toBe(5);
    for (const bad of ['limit=0', 'limit=2001', 'offset=-1', 'limit=x'])
      expect((await read('rp1', `${opened.id}?${bad}`)).status, bad).toBe(400);
  });

  it('red packets - an expired packet refuses grabs with PLAY_EXPIRED and reports the rest as refundable', async () => {
    const watcher = await connect('rp2', 'watcher');
    const opened = (await (await create('rp2', { total_cents: 500, count: 10, mode: 'equal', expires_s: 5 })).json()) as PacketJson;
    const a = await connect('rp2', 'a');
    expect(await grab(a, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED, amountCents: 50 });
    await watcher.until(() => watcher.events.some((e) => e.redPacketEnded), 10_000, 'expiry');
    const ended = watcher.events.find((e) => e.redPacketEnded)?.redPacketEnded as v1.RedPacketEnded;
    expect(ended).toMatchObject({ grabbed: 1, count: 10, expired: true });
    expect(Number(ended.refundableCents)).toBe(450);
    const b = await connect('rp2', 'b');
    expect(await grab(b, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_EXPIRED });
    expect(await grab(a, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED, amountCents: 50 });
    expect((await read('rp2', opened.id)).body).toMatchObject({
      status: 'expired',
      grabbed: 1,
      grabbed_cents: 50,
      refundable_cents: 450,
    });
  }, 15_000);

  it('red packets - members only and keyword packets refuse the ineligible with PLAY_NOT_ELIGIBLE', async () => {
    const members = (await (await create('rp3', { total_cents: 100, count: 10, members_only: true })).json()) as PacketJson;
    const plain = await connect('rp3', 'plain');
    const member = await connect('rp3', 'member', { member: true });
    expect(await grab(plain, members.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE });
    expect(await grab(member, members.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED });

    // A danmaku sent before the packet opened does not count; one sent after, in any case or width, does.
    plain.danmaku('666 early');
    await plain.until(() => plain.texts().includes('666 early'), 5_000, 'early danmaku');
    const keyword = (await (await create('rp3', { total_cents: 100, count: 10, keyword: 'ＧＧ' })).json()) as PacketJson;
    expect(await grab(plain, keyword.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE });
    plain.danmaku('gg everyone');
    await plain.until(() => plain.texts().includes('gg everyone'), 5_000, 'keyword danmaku');
    await expect.poll(async () => (await grab(plain, keyword.id)).error, { timeout: 5_000 }).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
    expect(await grab(member, keyword.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE });
  });

  it('red packets - bad input: out-of-range numbers, a missing key, a wrong API key, unknown packets, guests, floods', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ total_cents: 100, count: 0 }, /count/],
      [{ total_cents: 100, count: -3 }, /count/],
      [{ total_cents: 100_000, count: 10_001 }, /count/],
      [{ total_cents: 10, count: 11 }, /less than count/],
      [{ total_cents: 0, count: 1 }, /total_cents/],
      [{ total_cents: -100, count: 1 }, /total_cents/],
      [{ total_cents: 1e12, count: 1 }, /total_cents/],
      [{ total_cents: 1.5, count: 1 }, /whole/],
      [{ total_cents: '100', count: 1 }, /whole/],
      [{ total_cents: 100, count: 10, min_cents: 11 }, /less than count/],
      [{ total_cents: 100, count: 10, min_cents: 0 }, /min_cents/],
      [{ total_cents: 100, count: 10, mode: 'lucky' }, /mode/],
      [{ total_cents: 100, count: 10, expires_s: 1 }, /expires_s/],
      [{ total_cents: 100, count: 10, expires_s: 86_401 }, /expires_s/],
      [{ total_cents: 100, count: 10, keyword: 'k'.repeat(33) }, /keyword/],
      [{ total_cents: 100, count: 10, members_only: 'yes' }, /members_only/],
      [{ total_cents: 100, count: 10, sender: {} }, /sender/],
    ];
    for (const [body, message] of bad) {
      const res = await create('rp4', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, JSON.stringify(body)).toMatch(message);
    }
    const noKey = await fetch(`${server.url}/api/v1/rooms/rp4/red-packets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ total_cents: 100, count: 1, sender: { id: 'h' } }),
    });
    expect(noKey.status).toBe(400);
    expect((await create('rp4', { total_cents: 100, count: 1 }, 'k', 'wrong'.repeat(8))).status).toBe(401);
    expect((await create('bad room', { total_cents: 100, count: 1 })).status).toBe(400);
    expect((await read('rp4', 'feedbeef')).status).toBe(404);
    expect((await read('rp4', 'NOT-HEX')).status).toBe(404);
    expect((await read('rp4', '..%2F..%2Fetc')).status).toBe(404);

    const viewer = await connect('rp4', 'viewer');
    expect(await grab(viewer, 'feedbeef')).toMatchObject({ error: ErrorCode.ERROR_CODE_NOT_FOUND });
    expect(await grab(viewer, 'not a packet id')).toMatchObject({ error: ErrorCode.ERROR_CODE_NOT_FOUND });
    expect(await grab(viewer, '')).toMatchObject({ error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT });
    expect(await grab(viewer, 'x'.repeat(65))).toMatchObject({ error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT });
    const opened = (await (await create('rp4', { total_cents: 100, count: 1 })).json()) as PacketJson;
    // A packet of another room is not found here.
    const elsewhere = await connect('rp4b', 'viewer');
    expect(await grab(elsewhere, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_NOT_FOUND });
    const guest = await connect('rp4', '', { guest: true });
    expect(await grab(guest, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_READ_ONLY });

    // A flood: past the danmaku budget (burst 5) grabs are refused RATE_LIMITED, and the process answers on.
    const flooder = await connect('rp4', 'flooder');
    for (let i = 0; i < 20; i++) flooder.send({ grabRedPacket: { id: 'feedbeef' } });
    await flooder.until(() => answers(flooder).length === 20, 5_000, 'twenty answers');
    const limited = answers(flooder).filter((a) => a.error === ErrorCode.ERROR_CODE_RATE_LIMITED);
    expect(limited.length).toBeGreaterThanOrEqual(14);
    expect(limited[0]?.retryAfterMs).toBeGreaterThan(0);
    expect(await grab(viewer, opened.id)).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED, amountCents: 100 });
  });
});
