/**
 * Reading an encoded event's kind from its bytes (the edge's chat sorting,
 * core's counter filter) agrees with decoding it, and refuses what it cannot read.
 */
import { describe, expect, it } from 'vitest';
import { isCounter } from '../../core/analytics/analytics-source-jetstream.js';
import { eventKindField, KindField } from '../../domain/event-kind.js';
import { classOf, EventClass } from '../../core/sequencing/sequencer.js';
import { isChat } from '../../edge/overload.js';
import { v1 } from '../../proto/index.js';
import { encode, everyKind } from '../analytics/events.js';

const t0 = 1_795_248_192_915;

describe('event kind', () => {
  it('event kind - read from the bytes, it agrees with the decoded kind for every kind', () => {
    // Field numbers of the kind oneof in proto/barrage/v1/barrage.proto.
    const numbers: Record<string, number> = {
      danmaku: 10,
      gift: 11,
      likes: 12,
      online: 13,
      notice: 14,
      retract: 15,
      mute: 16,
      unmute: 17,
      ban: 18,
      unban: 19,
      slowMode: 20,
      pin: 21,
      roomMode: 22,
      roomClose: 23,
      superChat: 24,
      leaderboard: 25,
      superChatRemoved: 30,
      holdDecision: 50,
    };
    const events = [
      ...everyKind('room', t0),
      { room: 'r', seq: 1, superChatRemoved: { id: 's1' } },
      { room: 'r', seq: 1, actor: { id: 'm' } },
    ];
    for (const e of events) {
      const bytes = encode(e);
      const decoded = v1.Event.decode(bytes);
      expect(eventKindField(bytes), decoded.kind ?? 'none').toBe(decoded.kind ? numbers[decoded.kind] : 0);
      expect(isCounter(bytes)).toBe(classOf(decoded) === EventClass.Counter);
    }
    expect(eventKindField(new Uint8Array([0x00]))).toBe(-1);
    expect(eventKindField(new Uint8Array([0x52, 0x05, 0x01]))).toBe(-1); // truncated
    expect(isCounter(new Uint8Array([0xff, 0xff]))).toBe(false);
  });

  it('event kind - a danmaku is chat to the edge whatever its body holds; unreadable bytes are not', () => {
    const long = encode({ room: 'r', seq: 9, tsMs: t0, danmaku: { text: 'x'.repeat(10_000), user: { id: 'u' } } });
    expect(eventKindField(long)).toBe(KindField.Danmaku);
    expect(isChat(long)).toBe(true);
    expect(isChat(long.subarray(0, 20))).toBe(false); // truncated inside the danmaku
    expect(isChat(encode({ room: 'r', seq: 1, gift: { id: 'g' } }))).toBe(false);
  });
});
