/**
 * Room events for analytics tests: one of every kind in the proto, and a
 * fast generator of many danmaku, encoded as the sequencer publishes them.
 */
import { v1 } from '../../proto/index.js';

/** Encodes an event the way the sequencer does. */
export function encode(e: v1.IEvent): Uint8Array {
  return v1.Event.encode(e).finish();
}

const alice = { id: 'u-alice', name: 'Alice', role: 1 };
const bob = { id: 'u-bob', name: 'Bob "B"\t\\', role: 1 };

/**
 * One event of every kind in `Event.kind`, in room `room`, seqs from 1,
 * times from `t0`. Online and likes are counters: they repeat the latest seq.
 */
export function everyKind(room: string, t0: number): v1.IEvent[] {
  let seq = 0;
  let t = t0;
  const next = (e: Partial<v1.IEvent>, counter = false): v1.IEvent => ({ room, seq: counter ? seq : ++seq, tsMs: (t += 1000), ...e });
  return [
    next({ danmaku: { id: 'd1', user: alice, text: 'hello world 233', mode: 0, color: 0xffffff } }),
    next({ danmaku: { id: 'd2', user: bob, text: 'line\nbreak and tab\t and back\\slash', merged: 3 } }),
    next({ gift: { id: 'g1', user: alice, giftId: 'rocket', name: 'Rocket', count: 2, priceCents: 500, combo: 2, tier: 1 } }),
    next({ superChat: { id: 's1', user: bob, text: 'great stream', priceCents: 3000 } }),
    next({ likes: { total: 40, delta: 40 } }, true),
    next({ online: { count: 120 } }, true),
    next({ notice: { text: 'welcome', level: 'info' } }),
    next({ retract: { danmakuId: 'd2' } }),
    next({ mute: { userId: 'u-bob', seconds: 60 } }),
    next({ unmute: { userId: 'u-bob' } }),
    next({ ban: { userId: 'u-troll' } }),
    next({ unban: { userId: 'u-troll' } }),
    next({ slowMode: { seconds: 5, automatic: true } }),
    next({ pin: { danmakuId: 'd1', text: 'hello world 233', seconds: 30 } }),
    next({ roomMode: { danmakuOff: false, membersOnly: true, emoteOnly: false } }),
    next({ leaderboard: { entries: [{ user: alice, totalCents: 1000 }] } }, true),
    next({ roomClose: { reason: 'stream ended' } }),
  ];
}

/** The columns a test expects for each event of `everyKind`, in order. */
export const everyKindExpected: Array<Record<string, string | number>> = [
  { kind: 'danmaku', seq: 1, user_id: 'u-alice', user_name: 'Alice', item_id: 'd1', text: 'hello world 233', count: 1 },
  {
    kind: 'danmaku',
    seq: 2,
    user_id: 'u-bob',
    user_name: 'Bob "B"\t\\',
    item_id: 'd2',
    text: 'line\nbreak and tab\t and back\\slash',
    count: 3,
  },
  { kind: 'gift', seq: 3, user_id: 'u-alice', item_id: 'g1', gift_id: 'rocket', gift_name: 'Rocket', count: 2, amount_cents: 1000 },
  { kind: 'super_chat', seq: 4, user_id: 'u-bob', item_id: 's1', text: 'great stream', count: 1, amount_cents: 3000 },
  { kind: 'likes', seq: 4, count: 40, extra: '{"total":40}' },
  { kind: 'online', seq: 4, count: 120 },
  { kind: 'notice', seq: 5, text: 'welcome', extra: '{"level":"info"}' },
  { kind: 'retract', seq: 6, target: 'd2' },
  { kind: 'mute', seq: 7, target: 'u-bob', count: 60 },
  { kind: 'unmute', seq: 8, target: 'u-bob' },
  { kind: 'ban', seq: 9, target: 'u-troll' },
  { kind: 'unban', seq: 10, target: 'u-troll' },
  { kind: 'slow_mode', seq: 11, count: 5, extra: '{"automatic":true}' },
  { kind: 'pin', seq: 12, target: 'd1', text: 'hello world 233', count: 30 },
  { kind: 'room_mode', seq: 13, extra: '{"danmaku_off":false,"members_only":true,"emote_only":false}' },
  { kind: 'leaderboard', seq: 13, count: 1, extra: '[{"user_id":"u-alice","total_cents":1000}]' },
  { kind: 'room_close', seq: 14, text: 'stream ended' },
];

/** `n` danmaku (every 50th a gift) in `rooms` rooms, one per millisecond from `t0`. */
export function* stream(n: number, t0: number, rooms = 10): Generator<Uint8Array> {
  const seqs = new Array<number>(rooms).fill(0);
  for (let i = 0; i < n; i++) {
    const r = i % rooms;
    const seq = ++(seqs[r] as number);
    const room = `load-${r}`;
    const user = { id: `u${i % 1000}`, name: `viewer ${i % 1000}`, role: 1 };
    yield i % 50 === 49
      ? encode({ room, seq, tsMs: t0 + i, gift: { id: `g${i}`, user, giftId: 'heart', name: 'Heart', count: 1, priceCents: 100 } })
      : encode({ room, seq, tsMs: t0 + i, danmaku: { id: seq.toString(36), user, text: `message ${i % 97} from viewer` } });
  }
}
