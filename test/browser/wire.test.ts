import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { decodeServerFrame, encodeClientFrame } from '../../widget/wire.js';

// The widget's hand-written codec against the generated code, both ways: a
// contract change that the widget misreads fails here.
/** `theirs` (a generated message, defaults on its prototype) read with the keys of `ours`, recursively. */
function like(ours: unknown, theirs: unknown): unknown {
  if (ours === undefined && theirs === null) return undefined; // an unset message field: protobufjs says null
  if (typeof ours !== 'object' || ours === null || typeof theirs !== 'object' || theirs === null) return theirs;
  if (Array.isArray(ours)) return ours.map((o, i) => like(o, (theirs as unknown[])[i]));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ours)) out[key] = like((ours as Record<string, unknown>)[key], (theirs as Record<string, unknown>)[key]);
  return out;
}

describe('wire', () => {
  it('wire - the widget decodes every ServerFrame the generated code encodes', () => {
    const user = { id: 'u1', name: 'Ålice 🎉', role: v1.Role.ROLE_MODERATOR };
    const events: v1.IEvent[] = [
      {
        seq: 2 ** 40,
        room: 'r',
        tsMs: 1_700_000_000_123,
        danmaku: { id: 'a', user, text: '弹幕 <b>', mode: 1, color: 0xffd302, size: 2, clientMsgId: 'c', merged: 3 },
      },
      {
        seq: 3,
        room: 'r',
        tsMs: 1,
        gift: {
          id: 'g',
          user,
          giftId: 'rocket',
          name: 'Rocket',
          count: 2,
          priceCents: 500,
          combo: 7,
          comboId: 'k',
          imageUrl: 'https://x/y.png',
          tier: 1,
        },
      },
      { seq: 4, room: 'r', tsMs: 1, superChat: { id: 's', user, text: 'hi', priceCents: 5000, pinSeconds: 60, color: 0xe62117 } },
      { seq: 5, room: 'r', tsMs: 1, likes: { total: 123456, delta: 10 } },
      { seq: 5, room: 'r', tsMs: 1, online: { count: 99 } },
      { seq: 6, room: 'r', tsMs: 1, notice: { text: 'n', level: 'warn' } },
      { seq: 7, room: 'r', tsMs: 1, retract: { danmakuId: 'a' } },
      { seq: 8, room: 'r', tsMs: 1, pin: { danmakuId: 'a', text: 'pinned', seconds: 30 } },
      { seq: 9, room: 'r', tsMs: 1, roomMode: { danmakuOff: true, emoteOnly: true } },
      { seq: 10, room: 'r', tsMs: 1, roomClose: { reason: 'bye' } },
      { seq: 11, room: 'r', tsMs: 1, slowMode: { seconds: 5, automatic: true } },
      { seq: 12, room: 'r', tsMs: 1, mute: { userId: 'u2', seconds: 60 } },
      {
        seq: 13,
        room: 'r',
        tsMs: 1,
        leaderboard: {
          entries: [
            { user, totalCents: 100, gifts: 2 },
            { user: { id: 'u3', name: '第二', role: 1 }, totalCents: 50, gifts: 1 },
          ],
          totalCents: 150,
          totalGifts: 3,
        },
      },
      { seq: 14, room: 'r', tsMs: 1, superChatRemoved: { id: 's' } },
      {
        seq: 15,
        room: 'r',
        tsMs: 1,
        danmaku: {
          id: 'b',
          user: { id: 'u4', name: '粉丝', role: 1, badges: ['member', 'vip-2026'], medal: { name: '大航海', level: 21 } },
          text: '[doge] hi',
        },
      },
      {
        seq: 0,
        room: 'r',
        tsMs: 1,
        joinNotice: { users: [user, { id: 'u5', name: 'Bob', role: 1, badges: ['member'] }], count: 24 },
      },
    ];
    const batch = decodeServerFrame(
      v1.ServerFrame.encode({ batch: { room: 'r', events, skipped: 4, skipReason: 1, history: true } }).finish(),
    ).batch!;
    expect(batch).toMatchObject({ room: 'r', skipped: 4, skipReason: 1, history: true });
    const generated = v1.ServerFrame.decode(v1.ServerFrame.encode({ batch: { events } }).finish()).batch!.events!;
    expect(batch.events.map((e) => e.kind)).toEqual(generated.map((e) => e.kind));
    for (let i = 0; i < events.length; i++) {
      const ours = batch.events[i]!;
      const theirs = like(ours, generated[i]) as Record<string, unknown>;
      const kind = ours.kind!;
      expect({ seq: ours.seq, room: ours.room, tsMs: ours.tsMs }).toEqual({ seq: theirs.seq, room: theirs.room, tsMs: theirs.tsMs });
      const body = (ours as unknown as Record<string, unknown>)[kind];
      if (kind === 'mute')
        expect(body).toBeUndefined(); // skipped, not rendered
      else if (kind === 'superChatRemoved')
        expect(body).toEqual({ id: 's' }); // by_user_id is not shown
      else expect(body).toEqual(theirs[kind]);
    }
    const welcome = {
      room: 'r',
      userId: 'u',
      name: 'n',
      role: 1,
      seq: 42,
      recovered: true,
      serverTsMs: 5,
      limits: { maxTextLength: 100, danmakuPerSecond: 2, danmakuBurst: 5, maxFrameBytes: 4096 },
      sessionId: 's',
      edgeId: 'e',
      epoch: 'ep0ch',
    };
    expect(decodeServerFrame(v1.ServerFrame.encode({ welcome }).finish()).welcome).toEqual(welcome);
    const error = { code: 10, message: 'slow down', clientMsgId: 'c1', retryAfterMs: 500 };
    expect(decodeServerFrame(v1.ServerFrame.encode({ error }).finish()).error).toEqual(error);
    // Moderators' frames stay encoded for the console chunk: the exact bytes of the inner message.
    const held = { holdId: 'h1', room: 'r', danmaku: { id: 'd', text: 'held' }, matched: 'bad', tsMs: 9 };
    expect(decodeServerFrame(v1.ServerFrame.encode({ held }).finish()).held).toEqual(v1.Held.encode(held).finish());
    const reported = { reportId: 'p1', room: 'r', danmakuId: 'd', reporters: 3, reasons: [1, 2] };
    expect(decodeServerFrame(v1.ServerFrame.encode({ reported }).finish()).reported).toEqual(v1.Reported.encode(reported).finish());
  });

  it('wire - the generated code decodes every ClientFrame the widget encodes', () => {
    const d = v1.ClientFrame.decode(
      encodeClientFrame({ sendDanmaku: { text: 'héllo 🎉', mode: 2, color: 0xffffff, clientMsgId: 'x1', size: 1 } }),
    );
    expect(like({ text: '', mode: 0, color: 0, clientMsgId: '', size: 0 }, d.sendDanmaku)).toEqual({
      text: 'héllo 🎉',
      mode: 2,
      color: 0xffffff,
      clientMsgId: 'x1',
      size: 1,
    });
    expect(v1.ClientFrame.decode(encodeClientFrame({ like: { count: 300 } })).like?.count).toBe(300);
    expect(v1.ClientFrame.decode(encodeClientFrame({ resume: { room: 'r', lastSeq: 2 ** 40, epoch: 'ep0ch' } })).resume).toMatchObject({
      room: 'r',
      lastSeq: 2 ** 40,
      epoch: 'ep0ch',
    });
    expect(v1.ClientFrame.decode(encodeClientFrame({ ping: { clientTsMs: 1_700_000_000_000 } })).ping?.clientTsMs).toBe(1_700_000_000_000);
    const report = v1.ClientFrame.decode(encodeClientFrame({ report: { danmakuId: 'd1', reason: 4, detail: '剧透', clientMsgId: 'r1' } }));
    expect(like({ danmakuId: '', reason: 0, detail: '', clientMsgId: '' }, report.report)).toEqual({
      danmakuId: 'd1',
      reason: 4,
      detail: '剧透',
      clientMsgId: 'r1',
    });
    const moderate = v1.Moderate.encode({ ban: { userId: 'u9', seconds: 600 }, reason: 'spam' }).finish();
    const m = v1.ClientFrame.decode(encodeClientFrame({ moderate })).moderate!;
    expect({ userId: m.ban?.userId, seconds: m.ban?.seconds, reason: m.reason }).toEqual({ userId: 'u9', seconds: 600, reason: 'spam' });
  });

  it('wire - malformed bytes throw a WireError, never anything else', () => {
    for (const bytes of [
      [0x12, 0xff],
      [0x12, 0x05, 0x0a],
      [0x0f],
      [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    ]) {
      expect(() => decodeServerFrame(new Uint8Array(bytes))).toThrow(expect.objectContaining({ name: 'WireError' }));
    }
  });
});
