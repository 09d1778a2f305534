/**
 * A room's moderation state stays bounded: bans end, a room holds at most
 * the configured number of bans and time-outs, and the encoded state of a
 * full room stays well under NATS's 1 MiB payload limit.
 */
import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import {
  applyControl,
  decodeModeration,
  defaultBanSeconds,
  emptyModeration,
  encodeModeration,
  isDefaultModeration,
  maxBansPerRoomLimit,
  moderationJson,
  prune,
  storedSeq,
} from '../../domain/moderation-state.js';
import { actionEvent, isActionRefusal, limitRefusal } from '../../domain/moderation.js';
import { testConfig } from '../helpers/config.js';

const day = 86_400_000;
const ev = (seq: number, ts: number, e: v1.IEvent) => v1.Event.create({ seq, tsMs: ts, room: 'r', ...e });
/** A user id of the longest length a token or an action may carry. */
const longId = (i: number) => `u${i}`.padEnd(128, 'x');

describe('moderation state - bans end', () => {
  it('moderation state - a ban without a length lasts the default, one with a length that long, and both are pruned when over', () => {
    const s = emptyModeration('r');
    expect(applyControl(s, ev(1, 1000, { ban: { userId: 'forever?' } }))).toBe('applied');
    expect(applyControl(s, ev(2, 1000, { ban: { userId: 'short', seconds: 60 } }))).toBe('applied');
    expect(s.bans.get('forever?')).toBe(1000 + defaultBanSeconds * 1000);
    expect(s.bans.get('short')).toBe(61_000);
    prune(s, 61_000);
    expect([...s.bans.keys()]).toEqual(['forever?']);
    prune(s, 1000 + 30 * day);
    expect(s.bans.size).toBe(0);
    expect(isDefaultModeration(s, 1000 + 30 * day)).toBe(true);
  });

  it('moderation state - an action fixes the ban length (default from BARRAGE_BAN_DEFAULT_SECONDS) and refuses one over a year', () => {
    const options = testConfig({ BARRAGE_BAN_DEFAULT_SECONDS: '3600' }).moderation;
    const actor = { id: 'm' };
    const plain = actionEvent('r', { ban: { userId: 'a' } }, actor, options);
    expect(isActionRefusal(plain) ? plain : plain.ban).toEqual({ userId: 'a', seconds: 3600 });
    const long = actionEvent('r', { ban: { userId: 'a', seconds: 366 * 86_400 } }, actor, options);
    expect(isActionRefusal(long) && long.message).toMatch(/a ban lasts 0 \(the default, 3600\) to 31536000 seconds/);
    expect(() => testConfig({ BARRAGE_MAX_BANS_PER_ROOM: '10000' })).toThrow(/BARRAGE_MAX_BANS_PER_ROOM must be an integer from 1 to 5000/);
  });

  it('moderation state - a state written before bans ended still reads: its bans last the default from now', () => {
    const legacy = v1.ModerationState.encode({ room: 'r', seq: 9, bans: ['old'], mutes: { m: 5000 } }).finish();
    const before = Date.now();
    const s = decodeModeration(legacy);
    expect(s.seq).toBe(9);
    expect(s.mutes.get('m')).toBe(5000);
    expect(s.bans.get('old')).toBeGreaterThanOrEqual(before + defaultBanSeconds * 1000);
    expect(s.bans.get('old')).toBeLessThanOrEqual(Date.now() + defaultBanSeconds * 1000);
  });
});

describe('moderation state - the per-room limit', () => {
  it('moderation state - a ban or time-out of a new user past the limit changes nothing; known users, lifts and expired entries make room', () => {
    const limits = { maxEntries: 3, banDefaultSeconds: 60 };
    const s = emptyModeration('r');
    applyControl(s, ev(1, 0, { ban: { userId: 'a', seconds: 10 } }), limits);
    applyControl(s, ev(2, 0, { ban: { userId: 'b' } }), limits);
    applyControl(s, ev(3, 0, { mute: { userId: 'c', seconds: 100 } }), limits);
    expect(applyControl(s, ev(4, 0, { ban: { userId: 'd' } }), limits)).toBe('limit');
    expect(applyControl(s, ev(5, 0, { mute: { userId: 'd', seconds: 5 } }), limits)).toBe('limit');
    expect([...s.bans.keys(), ...s.mutes.keys()]).toEqual(['a', 'b', 'c']);
    expect(s.seq).toBe(5); // refused events are not applied twice
    expect(applyControl(s, ev(6, 0, { ban: { userId: 'b', seconds: 90 } }), limits)).toBe('applied'); // already banned: a new length
    expect(s.bans.get('b')).toBe(90_000);
    expect(applyControl(s, ev(7, 0, { unmute: { userId: 'c' } }), limits)).toBe('applied');
    expect(applyControl(s, ev(8, 0, { ban: { userId: 'd' } }), limits)).toBe('applied');
    // Full again; 'a' ran out at 10 s, so at 11 s there is room for 'e'.
    expect(applyControl(s, ev(9, 11_000, { ban: { userId: 'e' } }), limits)).toBe('applied');
    expect([...s.bans.keys()].sort()).toEqual(['b', 'd', 'e']);
  });

  it('moderation state - edges and the API refuse a new entry in a full room with LIMIT_REACHED, before it is published', () => {
    const options = { ...testConfig().moderation, maxBansPerRoom: 2 };
    const s = emptyModeration('r');
    applyControl(s, ev(1, 0, { ban: { userId: 'a' } }));
    applyControl(s, ev(2, 0, { mute: { userId: 'b', seconds: 60 } }));
    const refusal = limitRefusal(s, { ban: { userId: 'c' } }, options, 1000);
    expect(refusal?.code).toBe(v1.ErrorCode.ERROR_CODE_LIMIT_REACHED);
    expect(refusal?.message).toMatch(/holds 2 bans and time-outs, the most it may \(2\)/);
    expect(limitRefusal(s, { mute: { userId: 'a', seconds: 5 } }, options, 1000)).toBeDefined();
    expect(limitRefusal(s, { ban: { userId: 'a' } }, options, 1000)).toBeUndefined();
    expect(limitRefusal(s, { mute: { userId: 'b', seconds: 5 } }, options, 1000)).toBeUndefined();
    expect(limitRefusal(s, { unban: { userId: 'a' } }, options, 1000)).toBeUndefined();
    expect(limitRefusal(s, { ban: { userId: 'c' } }, options, 61_000)).toBeUndefined(); // b's time-out ran out
  });

  it('moderation state - a room full of 128-character user ids, with the longest pin and close reason, encodes well under 1 MiB', () => {
    const s = emptyModeration('r'.repeat(64));
    const until = Date.now() + 365 * day;
    for (let i = 0; i < maxBansPerRoomLimit; i++) {
      const e =
        i % 2 === 0
          ? ev(i + 1, until, { ban: { userId: longId(i), seconds: 31_536_000 } })
          : ev(i + 1, until, { mute: { userId: longId(i), seconds: 1_209_600 } });
      expect(applyControl(s, e)).toBe('applied');
    }
    expect(applyControl(s, ev(maxBansPerRoomLimit + 1, until, { ban: { userId: longId(-1) } }))).toBe('limit');
    applyControl(s, ev(maxBansPerRoomLimit + 2, until, { pin: { text: '置'.repeat(200), danmakuId: 'd'.repeat(32), seconds: 86_400 } }));
    applyControl(s, ev(maxBansPerRoomLimit + 3, until, { roomClose: { reason: '闭'.repeat(200) } }));
    const bytes = encodeModeration(s);
    expect(bytes.length).toBeLessThan(0.75 * 1024 * 1024);
    const back = decodeModeration(bytes);
    expect(back.bans.size + back.mutes.size).toBe(maxBansPerRoomLimit);
    expect(moderationJson(back, 0)).toEqual(moderationJson(s, 0));
    expect(storedSeq(bytes)).toBe(maxBansPerRoomLimit + 3);
  });
});

describe('moderation state - defaults', () => {
  it('moderation state - a state restricting nobody is at its defaults; any active restriction is not', () => {
    const s = emptyModeration('r');
    expect(isDefaultModeration(s, 0)).toBe(true);
    applyControl(s, ev(1, 0, { mute: { userId: 'a', seconds: 1 } }));
    expect(isDefaultModeration(s, 999)).toBe(false);
    expect(isDefaultModeration(s, 1000)).toBe(true); // ran out, even before it is pruned
    for (const e of [
      { slowMode: { seconds: 3 } },
      { roomMode: { emoteOnly: true } },
      { roomClose: {} },
      { pin: { text: 'x', seconds: 5 } },
    ]) {
      const t = emptyModeration('r');
      applyControl(t, ev(1, 0, e));
      expect(isDefaultModeration(t, 0)).toBe(false);
    }
  });
});
