import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { mintReceipt } from '../../domain/receipts.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';

const receiptSecret = 'receipt-secret-receipt-secret-0123456789';
const enc = (s: string) => new TextEncoder().encode(s);

describe('gifts - single process', () => {
  let server: TestServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_RECEIPT_SECRET: receiptSecret, BARRAGE_API_KEY: 'k'.repeat(32) });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  const connect = async (room: string, user: string, role: 'viewer' | 'moderator' = 'viewer') => {
    const c = await TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role })));
    clients.push(c);
    return c;
  };
  const api = (room: string, body: unknown, key: string | undefined, auth = 'k'.repeat(32)) =>
    fetch(`${server.url}/api/v1/rooms/${room}/gifts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
  const gifts = (c: TestClient) => c.events.filter((e) => e.gift);

  it('receipts - a gift is acknowledged once recorded, shown once, and a replay is refused', async () => {
    const sender = await connect('g1', 'alice');
    const watcher = await connect('g1', 'bob');
    const receipt = await mintReceipt(enc(receiptSecret), { user: 'alice', room: 'g1', jti: 'pay-1', gift: 'rocket', count: 2 });
    sender.send({ sendGift: { receipt, clientMsgId: 'c1' } });
    await sender.until(() => sender.frames.some((f) => f.ack), 5_000, 'ack');
    const ack = sender.frames.find((f) => f.ack)?.ack as v1.Ack;
    expect(ack.clientMsgId).toBe('c1');
    await watcher.until(() => gifts(watcher).length === 1, 5_000, 'gift event');
    const gift = gifts(watcher)[0] as v1.Event;
    expect(gift.seq).toBe(ack.seq);
    expect(gift.gift).toMatchObject({ giftId: 'rocket', name: 'Rocket', count: 2, priceCents: 5000, combo: 1, tier: 3 });
    expect(gift.gift?.user?.id).toBe('alice');

    // The same receipt again, on another connection of the same user: refused, nothing shown twice.
    const again = await connect('g1', 'alice');
    again.send({ sendGift: { receipt, clientMsgId: 'c2' } });
    await again.until(() => again.errors.length > 0, 5_000, 'replay refusal');
    expect(again.errors[0]).toMatchObject({ code: ErrorCode.ERROR_CODE_RECEIPT_REPLAYED, clientMsgId: 'c2' });
    expect(again.errors[0]?.message).toContain(`seq ${ack.seq}`);
    await sleep(200);
    expect(gifts(watcher)).toHaveLength(1);
  });

  it('receipts - forged, expired, other-room, other-user and unknown-gift receipts are refused with clear errors', async () => {
    const sender = await connect('g2', 'carol');
    const cases: Array<[string, string, number, string]> = [
      [
        await mintReceipt(enc('x'.repeat(40)), { user: 'carol', room: 'g2', jti: 'f1', gift: 'heart' }),
        'f',
        ErrorCode.ERROR_CODE_RECEIPT_INVALID,
        'signature',
      ],
      [
        await mintReceipt(enc(receiptSecret), { user: 'carol', room: 'g2', jti: 'f2', gift: 'heart', ttlSeconds: -60 }),
        'e',
        ErrorCode.ERROR_CODE_RECEIPT_INVALID,
        'expired',
      ],
      [
        await mintReceipt(enc(receiptSecret), { user: 'carol', room: 'other', jti: 'f3', gift: 'heart' }),
        'r',
        ErrorCode.ERROR_CODE_RECEIPT_INVALID,
        'another room',
      ],
      [
        await mintReceipt(enc(receiptSecret), { user: 'mallory', room: 'g2', jti: 'f4', gift: 'heart' }),
        'u',
        ErrorCode.ERROR_CODE_RECEIPT_INVALID,
        'another user',
      ],
      [
        await mintReceipt(enc(receiptSecret), { user: 'carol', room: 'g2', jti: 'f5', gift: 'nope' }),
        'g',
        ErrorCode.ERROR_CODE_GIFT_UNKNOWN,
        'catalogue',
      ],
      [
        await mintReceipt(enc(receiptSecret), { user: 'carol', room: 'g2', jti: 'f6', gift: 'heart', ttlSeconds: 86_400 }),
        'l',
        ErrorCode.ERROR_CODE_RECEIPT_INVALID,
        'longer than',
      ],
      ['not.a.jwt', 'j', ErrorCode.ERROR_CODE_RECEIPT_INVALID, 'not a JWT'],
    ];
    for (const [receipt, id] of cases) sender.send({ sendGift: { receipt, clientMsgId: id } });
    await sender.until(() => sender.errors.length === cases.length, 5_000, 'refusals');
    for (const [, id, code, words] of cases) {
      const err = sender.errors.find((e) => e.clientMsgId === id);
      expect(err?.code, id).toBe(code);
      expect(err?.message, id).toContain(words);
    }
    expect(sender.frames.some((f) => f.ack)).toBe(false);
  });

  it('api - a retry with the same Idempotency-Key returns the first result and shows nothing twice', async () => {
    const watcher = await connect('g3', 'dave');
    const body = { user: { id: 'erin', name: 'Erin' }, gift: 'cake', count: 3 };
    const first = await api('g3', body, 'order-77');
    expect(first.status).toBe(201);
    const one = (await first.json()) as { seq: number; gift: { count: number; price_cents: number } };
    expect(one.gift).toMatchObject({ count: 3, price_cents: 500 });
    const second = await api('g3', body, 'order-77');
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(((await second.json()) as { seq: number }).seq).toBe(one.seq);
    // Concurrent retries join the first.
    const burst = await Promise.all([1, 2, 3].map(() => api('g3', { ...body, count: 1 }, 'order-78')));
    expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 201]);

    const reused = await api('g3', { ...body, count: 9 }, 'order-77');
    expect(reused.status).toBe(409);
    expect(((await reused.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await api('g3', body, undefined)).status).toBe(400);
    expect((await api('g3', body, 'k1', 'wrong')).status).toBe(401);
    const unknown = await api('g3', { ...body, gift: 'unicorn' }, 'order-79');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('GIFT_UNKNOWN');

    await sleep(300);
    expect(gifts(watcher).map((e) => e.gift?.id)).toEqual(['k:order-77', 'k:order-78']);
  });

  it('api - Idempotency-Keys of 1 to 200 visible ASCII characters all work; 201 is refused', async () => {
    const body = { user: { id: 'ivy' }, gift: 'heart' };
    // Every visible ASCII character, wildcards and separators of NATS subjects included.
    const visibleAscii = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    const keyOf = (length: number) => visibleAscii.repeat(3).slice(0, length);
    for (const length of [1, 94, 199, 200]) {
      const key = keyOf(length);
      const first = await api('g7', body, key);
      expect(first.status, `${length} characters`).toBe(201);
      expect(((await first.json()) as { gift: { id: string } }).gift.id).toBe(`k:${key}`);
      const retry = await api('g7', body, key);
      expect(retry.status, `${length} characters, retried`).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    }
    const tooLong = await api('g7', body, keyOf(201));
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
  });

  it('combos and leaderboard - the same user and gift grow one combo; the leaderboard is pushed at most every second', async () => {
    const watcher = await connect('g4', 'fay');
    for (let i = 1; i <= 5; i++) expect((await api('g4', { user: { id: 'gus' }, gift: 'heart' }, `c-${i}`)).status).toBe(201);
    expect((await api('g4', { user: { id: 'hal' }, gift: 'flower', count: 2 }, 'c-h')).status).toBe(201);
    await watcher.until(() => gifts(watcher).length === 6, 5_000, 'gifts');
    const gus = gifts(watcher).filter((e) => e.gift?.user?.id === 'gus');
    expect(gus.map((e) => e.gift?.combo)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(gus.map((e) => e.gift?.comboId)).size).toBe(1);
    await watcher.until(() => watcher.events.some((e) => e.leaderboard?.totalGifts === 7), 3_000, 'leaderboard');
    const boards = watcher.events.filter((e) => e.leaderboard);
    const last = boards[boards.length - 1]?.leaderboard as v1.Leaderboard;
    expect(last.entries.map((e) => [e.user?.id, Number(e.totalCents)])).toEqual([
      ['hal', 200],
      ['gus', 50],
    ]);
    expect(Number(last.totalCents)).toBe(250);
    for (let i = 1; i < boards.length; i++) expect(Number(boards[i]!.tsMs) - Number(boards[i - 1]!.tsMs)).toBeGreaterThanOrEqual(900);
  });

  it('leaderboard - a viewer who arrives after the last gift gets the leaderboard within the counter heartbeat', async () => {
    expect((await api('g5', { user: { id: 'ivy' }, gift: 'heart' }, 'late-1')).status).toBe(201);
    await sleep(1_500); // the change has been pushed; no gift follows
    const late = await connect('g5', 'late');
    await late.until(() => late.events.some((e) => e.leaderboard), 4_000, 'a leaderboard heartbeat');
    const board = late.events.find((e) => e.leaderboard)?.leaderboard as v1.Leaderboard;
    expect(board.entries.map((e) => e.user?.id)).toEqual(['ivy']);
    expect(Number(board.totalGifts)).toBe(1);
  });

  it('super chat - pinned for its tier, and a moderator can remove it', async () => {
    const watcher = await connect('g5', 'ivy');
    const res = await api('g5', { user: { id: 'jo' }, super_chat: { text: 'hello streamer', price_cents: 2_500 } }, 'sc-1');
    expect(res.status).toBe(201);
    const body = (await res.json()) as { super_chat: { id: string; pin_seconds: number } };
    expect(body.super_chat.pin_seconds).toBe(120);
    expect((await api('g5', { user: { id: 'jo' }, super_chat: { text: 'cheap', price_cents: 10 } }, 'sc-2')).status).toBe(400);
    const removed = await server.gifts.removeSuperChat('g5', body.super_chat.id, 'mod-1');
    expect(removed.error).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
    await watcher.until(() => watcher.events.some((e) => e.superChatRemoved), 3_000, 'removal');
    expect(watcher.events.find((e) => e.superChatRemoved)?.superChatRemoved).toMatchObject({ id: 'k:sc-1', byUserId: 'mod-1' });
    expect((await server.gifts.removeSuperChat('g5', body.super_chat.id, 'mod-1')).error).toBe(ErrorCode.ERROR_CODE_NOT_FOUND);
    const del = await fetch(`${server.url}/api/v1/rooms/g5/super-chats/nope`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${'k'.repeat(32)}` },
    });
    expect(del.status).toBe(404);
  });

  it('super chat - a moderator removes it over the socket; a viewer may not', async () => {
    const watcher = await connect('g6', 'kim');
    const res = await api('g6', { user: { id: 'lu' }, super_chat: { text: 'pin me', price_cents: 2_500 } }, 'sc-ws');
    const { super_chat: sc } = (await res.json()) as { super_chat: { id: string } };
    const viewer = await connect('g6', 'nat');
    viewer.send({ moderate: { removeSuperChat: { id: sc.id } } });
    await viewer.until(() => viewer.errors.length === 1, 3_000, 'refusal');
    expect(viewer.errors[0]?.code).toBe(ErrorCode.ERROR_CODE_FORBIDDEN);
    const mod = await TestClient.connect(server.wsUrl('g6', await server.token({ room: 'g6', user: 'mod-2', role: 'moderator' })));
    mod.send({ moderate: { removeSuperChat: { id: sc.id } } });
    await watcher.until(() => watcher.events.some((e) => e.superChatRemoved), 3_000, 'removal');
    expect(watcher.events.find((e) => e.superChatRemoved)?.superChatRemoved).toMatchObject({ id: sc.id, byUserId: 'mod-2' });
    mod.send({ moderate: { removeSuperChat: { id: sc.id } } });
    await mod.until(() => mod.errors.length === 1, 3_000, 'not found');
    expect(mod.errors[0]?.code).toBe(ErrorCode.ERROR_CODE_NOT_FOUND);
  });
});
