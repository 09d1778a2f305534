/**
 * The widget's plays codec (a lazy chunk reading its field numbers from
 * proto/gen/play-fields.ts, see widget/plays/plays-wire.ts) against the
 * generated code: the play field module agrees with tables.ts, every play event
 * and PlayAnswer encoded by protobufjs decodes to the same values, and the
 * grab, vote and join frames it writes decode as the server reads them.
 */
import { describe, expect, it } from 'vitest';
import { css, html, nothing } from 'lit';
import { v1 } from '../../proto/index.js';
import { WireReader, WireWriter } from '../../proto/wire.js';
import { useKit } from '../../widget/plays/kit.js';
import { decodePlayAnswer, decodePlayEvent, grabFrame, joinFrame, voteFrame } from '../../widget/plays/plays-wire.js';
import * as playFields from '../../proto/gen/play-fields.js';
import * as tables from '../../proto/gen/tables.js';

const body = (event: v1.IEvent, kind: keyof v1.IEvent): Uint8Array => {
  const message = (v1 as unknown as Record<string, { encode(m: unknown): { finish(): Uint8Array } }>)[
    String(kind).charAt(0).toUpperCase() + String(kind).slice(1)
  ];
  return (message as { encode(m: unknown): { finish(): Uint8Array } }).encode(event[kind]).finish();
};

useKit({ html, css, nothing, WireReader, WireWriter });

describe('plays widget codec', () => {
  it('plays widget codec - the play field module holds the same numbers as tables.ts, and every play frame member', () => {
    const all = tables as unknown as Record<string, Record<string, number>>;
    for (const [name, fields] of Object.entries(playFields)) {
      if (name === 'ClientFramePlayField') continue;
      expect(fields, name).toEqual(all[name]);
    }
    const frame = Object.entries(tables.ClientFrameField).filter(([, n]) => n >= 220 && n <= 239);
    expect(playFields.ClientFramePlayField).toEqual(Object.fromEntries(frame));
    expect(Object.keys(playFields.ClientFramePlayField)).toEqual(['grabRedPacket', 'vote', 'joinLottery', 'startPoll', 'startLottery']);
  });

  it('plays widget codec - every play event decodes as the generated code wrote it', () => {
    const user = { id: 'u1', name: '名字' };
    const cases: Array<[keyof v1.IEvent, v1.IEvent, Record<string, unknown>]> = [
      [
        'redPacket',
        {
          redPacket: { id: 'p', sender: user, totalCents: 12345, count: 7, expiresAtMs: 1_700_000_000_000, keyword: 'gg', greeting: 'hi' },
        },
        { id: 'p', sender: user, totalCents: 12345, count: 7, expiresAtMs: 1_700_000_000_000, keyword: 'gg', greeting: 'hi' },
      ],
      [
        'redPacketProgress',
        { redPacketProgress: { id: 'p', grabbed: 3, count: 7, recent: [{ user, amountCents: 99 }], more: 2 } },
        { id: 'p', grabbed: 3, count: 7, recent: [{ user, amountCents: 99 }], more: 2 },
      ],
      [
        'redPacketEnded',
        { redPacketEnded: { id: 'p', grabbed: 7, count: 7, expired: true, luckiest: { user, amountCents: 5000 } } },
        { id: 'p', grabbed: 7, count: 7, expired: true, luckiest: { user, amountCents: 5000 } },
      ],
      [
        'poll',
        { poll: { id: 'q', question: 'Q?', options: ['a', 'b', 'c'], endsAtMs: 99, quiz: true } },
        { id: 'q', question: 'Q?', options: ['a', 'b', 'c'], endsAtMs: 99, quiz: true },
      ],
      ['pollTally', { pollTally: { id: 'q', votes: [0, 300, 2], voters: 302 } }, { id: 'q', votes: [0, 300, 2], voters: 302 }],
      [
        'pollResult',
        { pollResult: { id: 'q', votes: [1, 2, 3], voters: 6, quiz: true, correct: 2, winners: 3 } },
        { id: 'q', votes: [1, 2, 3], voters: 6, quiz: true, correct: 2, winners: 3 },
      ],
      [
        'lottery',
        {
          lottery: {
            id: 'l',
            prize: 'P',
            winners: 3,
            endsAtMs: 5,
            entry: v1.LotteryEntry.LOTTERY_ENTRY_GIFT,
            keyword: '',
            giftId: 'rocket',
          },
        },
        { id: 'l', prize: 'P', winners: 3, endsAtMs: 5, entry: 2, keyword: '', giftId: 'rocket' },
      ],
      ['lotteryProgress', { lotteryProgress: { id: 'l', entrants: 40 } }, { id: 'l', entrants: 40 }],
      ['lotteryResult', { lotteryResult: { id: 'l', entrants: 40, winners: [user] } }, { id: 'l', entrants: 40, winners: [user] }],
    ];
    for (const [kind, event, expected] of cases) expect(decodePlayEvent(kind, body(event, kind)), kind).toEqual({ kind, ...expected });
    const answer = v1.PlayAnswer.encode({
      playId: 'p',
      error: v1.ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
      message: 'm',
      amountCents: 7,
    }).finish();
    expect(decodePlayAnswer(answer)).toEqual({
      playId: 'p',
      error: v1.ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
      message: 'm',
      amountCents: 7,
    });
  });

  it('plays widget codec - grab, vote and join frames decode as the server reads them', () => {
    expect(v1.ClientFrame.decode(grabFrame('abc')).grabRedPacket).toMatchObject({ id: 'abc' });
    expect(v1.ClientFrame.decode(voteFrame('q1', 3)).vote).toMatchObject({ pollId: 'q1', option: 3 });
    expect(v1.ClientFrame.decode(voteFrame('q1', 0)).vote).toMatchObject({ pollId: 'q1', option: 0 });
    expect(v1.ClientFrame.decode(joinFrame('l1')).joinLottery).toMatchObject({ id: 'l1' });
  });
});
