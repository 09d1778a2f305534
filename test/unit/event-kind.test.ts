/**
 * Reading an encoded event's kind from its bytes (the edge's chat sorting,
 * core's counter filter) agrees with decoding it, and refuses what it cannot read.
 */
import { describe, expect, it } from 'vitest';
import { isCounter } from '../../core/analytics/analytics-source-jetstream.js';
import { EventClass, classOf, classOfField, eventKindField, isCounterKind } from '../../domain/event-kind.js';
import { isChat } from '../../edge/overload.js';
import { v1 } from '../../proto/index.js';
import { EventKind } from '../../proto/gen/tables.js';
import { encode, everyKind } from '../analytics/events.js';

const t0 = 1_795_248_192_915;

describe('event kind', () => {
  it('event kind - read from the bytes, it agrees with the decoded kind and class for every kind', () => {
    const events: v1.IEvent[] = [
      ...everyKind('room', t0),
      // Every kind of the .proto, as generated, so a new kind is covered without touching this test.
      ...Object.keys(EventKind).map((kind) => ({ room: 'r', seq: 1, [kind]: {} })),
      // With an actor and a reason, numbered below the newer kinds (220+): the reader steps over them.
      ...Object.keys(EventKind).map((kind) => ({ room: 'r', seq: 1, actor: { id: 'm' }, reason: 'why', [kind]: {} })),
      { room: 'r', seq: 1, actor: { id: 'm' } },
      // A kind numbered past actor and reason, encoded after them: they are stepped over, not taken for the kind.
      { room: 'r', seq: 1, actor: { id: 'm' }, reason: 'why', session: { id: 's1', startedMs: t0 } },
      { room: 'r', seq: 1, actor: { id: 'm', name: 'Mod' }, reason: 'spam', reportOutcome: { reportId: 'x', reporters: 3 } },
      { room: 'r', seq: 1, reason: 'r', joinNotice: { users: [{ id: 'a', name: 'Alice' }], count: 24 } },
    ];
    for (const e of events) {
      const bytes = encode(e);
      const decoded = v1.Event.decode(bytes);
      const field = eventKindField(bytes);
      expect(field, decoded.kind ?? 'none').toBe(decoded.kind ? EventKind[decoded.kind] : 0);
      expect(classOfField(field) ?? EventClass.Control).toBe(classOf(decoded));
      expect(isCounter(bytes)).toBe(classOf(decoded) === EventClass.Counter);
    }
    expect(eventKindField(new Uint8Array([0x00]))).toBe(-1);
    expect(eventKindField(new Uint8Array([0x52, 0x05, 0x01]))).toBe(-1); // truncated
    expect(isCounter(new Uint8Array([0xff, 0xff]))).toBe(false);
  });

  it('event kind - the classes are the ones the design gives each kind', () => {
    const byClass = (cls: EventClass) => Object.keys(EventKind).filter((k) => classOf({ kind: k }) === cls);
    expect(byClass(EventClass.Chat)).toEqual(['danmaku']);
    expect(byClass(EventClass.Paid).sort()).toEqual(['gift', 'superChat']);
    expect(byClass(EventClass.Counter).sort()).toEqual([
      'joinNotice',
      'leaderboard',
      'likes',
      'lotteryProgress',
      'online',
      'pollTally',
      'redPacketProgress',
    ]);
    expect(isCounterKind('online')).toBe(true);
    // No kind, a kind newer than this build, or a name off the prototype: control (kept, never aggregated).
    expect([undefined, null, '', 'fromTheFuture', 'constructor'].map((kind) => classOf({ kind }))).toEqual(
      Array(5).fill(EventClass.Control),
    );
    expect(classOfField(26)).toBeUndefined();
    expect(classOfField(-1)).toBeUndefined();
  });

  it('event kind - a danmaku is chat to the edge whatever its body holds; unreadable bytes are not', () => {
    const long = encode({ room: 'r', seq: 9, tsMs: t0, danmaku: { text: 'x'.repeat(10_000), user: { id: 'u' } } });
    expect(eventKindField(long)).toBe(EventKind.danmaku);
    expect(isChat(long)).toBe(true);
    expect(isChat(long.subarray(0, 20))).toBe(false); // truncated inside the danmaku
    expect(isChat(encode({ room: 'r', seq: 1, gift: { id: 'g' } }))).toBe(false);
  });
});
