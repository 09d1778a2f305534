import { describe, expect, it } from 'vitest';
import { v1, ErrorCode, SkipReason } from '../../proto/index.js';
import { countBatchEvents, encodeBatchFrame, errorFrame, skippedFrame } from '../../edge/frames.js';

const event = (seq: number, text: string) => v1.Event.encode({ seq, room: 'r', tsMs: 1_700_000_000_000 + seq, danmaku: { text } }).finish();

describe('frames - hand-built batch frames', () => {
  it('frames - a batch of pre-encoded events decodes as a ServerFrame with the same events in order', () => {
    const texts = ['a', 'bb', 'x'.repeat(300), '弹幕'];
    const frame = encodeBatchFrame(
      texts.map((t, i) => event(i + 1, t)),
      new TextEncoder().encode('room-1'),
    );
    const decoded = v1.ServerFrame.decode(frame);
    expect(decoded.kind).toBe('batch');
    expect(decoded.batch?.room).toBe('room-1');
    expect(decoded.batch?.events?.map((e) => [e.seq, e.danmaku?.text])).toEqual(texts.map((t, i) => [i + 1, t]));
    expect(countBatchEvents(frame)).toBe(4);
  });

  it('frames - large batches (multi-byte lengths) round-trip', () => {
    const events = Array.from({ length: 500 }, (_, i) => event(i + 1, 'm'.repeat(100)));
    const frame = encodeBatchFrame(events, new TextEncoder().encode('r'));
    expect(v1.ServerFrame.decode(frame).batch?.events).toHaveLength(500);
    expect(countBatchEvents(frame)).toBe(500);
  });

  it('frames - error and skipped frames carry their fields', () => {
    const err = v1.ServerFrame.decode(errorFrame(ErrorCode.ERROR_CODE_RATE_LIMITED, 'slow down', 'c1', 250));
    expect(err.error).toMatchObject({
      code: ErrorCode.ERROR_CODE_RATE_LIMITED,
      message: 'slow down',
      clientMsgId: 'c1',
      retryAfterMs: 250,
    });
    const skipped = v1.ServerFrame.decode(skippedFrame('r', 42, SkipReason.SKIP_REASON_BACKPRESSURE));
    expect(skipped.batch).toMatchObject({ room: 'r', skipped: 42, skipReason: SkipReason.SKIP_REASON_BACKPRESSURE });
    expect(countBatchEvents(skippedFrame('r', 42, SkipReason.SKIP_REASON_BACKPRESSURE))).toBe(0);
  });
});

describe('proto - round trips', () => {
  it.each<[string, v1.IClientFrame]>([
    ['send_danmaku', { sendDanmaku: { text: 'hi', mode: 2, color: 0xabcdef, clientMsgId: 'm1', size: 1 } }],
    ['like', { like: { count: 7 } }],
    ['send_gift', { sendGift: { receipt: 'r.e.c' } }],
    ['resume', { resume: { room: 'r', lastSeq: 2 ** 40 } }],
    ['ping', { ping: { clientTsMs: 1_700_000_000_123 } }],
  ])('proto - ClientFrame %s', (kind, frame) => {
    const decoded = v1.ClientFrame.decode(v1.ClientFrame.encode(frame).finish());
    expect(decoded.kind).toBe(kind.replace(/_(\w)/, (_, c: string) => c.toUpperCase()));
    expect(decoded).toMatchObject(frame);
  });

  it('proto - absent 64-bit fields default to the number 0, not a Long', () => {
    const e = v1.Event.decode(v1.Event.encode({ room: 'r', online: { count: 1 } }).finish());
    expect(e.seq).toBe(0);
    expect(e.tsMs).toBe(0);
    expect(v1.Welcome.decode(new Uint8Array()).seq).toBe(0);
  });

  it('proto - 64-bit seq and ts decode as plain numbers', () => {
    const e = v1.Event.decode(v1.Event.encode({ seq: 2 ** 50, tsMs: 1_800_000_000_000, room: 'r', online: { count: 3 } }).finish());
    expect(typeof e.seq).toBe('number');
    expect(e.seq).toBe(2 ** 50);
    expect(e.tsMs).toBe(1_800_000_000_000);
    expect(e.online?.count).toBe(3);
  });

  it('proto - every ServerFrame kind and event kind round-trips', () => {
    const frames: v1.IServerFrame[] = [
      { welcome: { room: 'r', userId: 'u', name: 'n', role: 1, seq: 5, recovered: true, limits: { maxTextLength: 100 } } },
      {
        batch: {
          room: 'r',
          events: [
            { seq: 1, room: 'r', tsMs: 1, danmaku: { id: '1', text: 't', user: { id: 'u', name: 'n' } } },
            { seq: 2, room: 'r', tsMs: 2, gift: { id: 'g', giftId: 'rocket', count: 3, priceCents: 100 } },
            { seq: 2, room: 'r', tsMs: 3, likes: { total: 10, delta: 2 } },
            { seq: 3, room: 'r', tsMs: 4, notice: { text: 'hello', level: 'info' } },
            { seq: 4, room: 'r', tsMs: 5, retract: { danmakuId: '1' } },
          ],
        },
      },
      { error: { code: ErrorCode.ERROR_CODE_BAD_FRAME, message: 'm' } },
      { pong: { clientTsMs: 1, serverTsMs: 2 } },
    ];
    for (const f of frames) expect(v1.ServerFrame.decode(v1.ServerFrame.encode(f).finish())).toMatchObject(f);
  });
});
