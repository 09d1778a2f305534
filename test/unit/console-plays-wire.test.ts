import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { WireError } from '../../proto/wire.js';
import { decodeStartAnswer, encodeStartLottery, encodeStartPoll, playEventId } from '../../widget/console/mod-wire.js';

// The console's start frames and answers against the generated code: a contract change the console
// misreads or miswrites fails here (the browser test reads the same plays back through the HTTP API).
describe('console plays wire', () => {
  it('console plays wire - start_poll carries every CreatePoll field the form sets; a quiz on option 0 is still a quiz', () => {
    const plain = v1.ClientFrame.decode(
      encodeStartPoll({
        question: '下一首？',
        options: ['A', 'B 🎵', 'C'],
        durationS: 90,
        answerWindowS: 0,
        allowChange: true,
        membersOnly: true,
      }),
    );
    expect(plain.kind).toBe('startPoll');
    const p = plain.startPoll!;
    expect([p.question, p.options, p.durationS, p.hasCorrect, p.allowChange, p.membersOnly, p.idempotencyKey]).toEqual([
      '下一首？',
      ['A', 'B 🎵', 'C'],
      90,
      false,
      true,
      true,
      '',
    ]);
    const quiz = v1.ClientFrame.decode(
      encodeStartPoll({
        question: 'Q',
        options: ['x', 'y'],
        durationS: 30,
        correct: 0,
        answerWindowS: 10,
        allowChange: false,
        membersOnly: false,
      }),
    ).startPoll!;
    expect({
      hasCorrect: quiz.hasCorrect,
      correct: quiz.correct,
      answerWindowS: quiz.answerWindowS,
      allowChange: quiz.allowChange,
    }).toEqual({
      hasCorrect: true,
      correct: 0,
      answerWindowS: 10,
      allowChange: false,
    });
    // One option goes out as one: refusing it is core's job, with its reason.
    expect(
      v1.ClientFrame.decode(
        encodeStartPoll({ question: 'Q', options: ['only'], durationS: 30, answerWindowS: 0, allowChange: false, membersOnly: false }),
      ).startPoll!.options,
    ).toEqual(['only']);
  });

  it('console plays wire - start_lottery carries prize, winners, duration, entry and its keyword or gift', () => {
    const f = v1.ClientFrame.decode(
      encodeStartLottery({
        prize: 'Poster',
        winners: 3,
        durationS: 120,
        entry: v1.LotteryEntry.LOTTERY_ENTRY_GIFT,
        keyword: '',
        giftId: 'rocket',
        membersOnly: true,
      }),
    );
    expect(f.kind).toBe('startLottery');
    const l = f.startLottery!;
    expect([l.prize, l.winners, l.durationS, l.entry, l.giftId, l.keyword, l.membersOnly]).toEqual([
      'Poster',
      3,
      120,
      v1.LotteryEntry.LOTTERY_ENTRY_GIFT,
      'rocket',
      '',
      true,
    ]);
  });

  it('console plays wire - PlayAnswer read both ways; malformed bytes throw WireError', () => {
    const ok = v1.PlayAnswer.encode({ playId: 'p1', amountCents: 0 }).finish();
    expect(decodeStartAnswer(ok)).toEqual({ playId: 'p1', error: 0, message: '' });
    const refused = v1.PlayAnswer.encode({
      error: v1.ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
      message: 'options must be 2 to 10',
      retryAfterMs: 5,
    }).finish();
    expect(decodeStartAnswer(refused)).toEqual({
      playId: '',
      error: v1.ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
      message: 'options must be 2 to 10',
    });
    expect(() => decodeStartAnswer(Uint8Array.from([0x0a, 0x05, 0x61]))).toThrow(WireError);
  });

  it('console plays wire - the play id of every play event kind; other kinds have none', () => {
    const bodies: Array<[string, Uint8Array]> = [
      ['redPacket', v1.RedPacket.encode({ id: 'r1', totalCents: 100, count: 2 }).finish()],
      ['redPacketProgress', v1.RedPacketProgress.encode({ id: 'r1', grabbed: 1 }).finish()],
      ['redPacketEnded', v1.RedPacketEnded.encode({ id: 'r1', grabbed: 2 }).finish()],
      ['poll', v1.Poll.encode({ id: 'p1', question: 'q', options: ['a', 'b'] }).finish()],
      ['pollTally', v1.PollTally.encode({ id: 'p1', votes: [1, 2], voters: 3 }).finish()],
      ['pollResult', v1.PollResult.encode({ id: 'p1', votes: [1, 2], voters: 3 }).finish()],
      ['lottery', v1.Lottery.encode({ id: 'l1', prize: 'x', winners: 1 }).finish()],
      ['lotteryProgress', v1.LotteryProgress.encode({ id: 'l1', entrants: 4 }).finish()],
      ['lotteryResult', v1.LotteryResult.encode({ id: 'l1', entrants: 4 }).finish()],
    ];
    expect(bodies.map(([kind, body]) => playEventId(kind, body))).toEqual(['r1', 'r1', 'r1', 'p1', 'p1', 'p1', 'l1', 'l1', 'l1']);
    expect(playEventId('danmaku', v1.Danmaku.encode({ id: 'd1', text: 'hi' }).finish())).toBe('');
    expect(() => playEventId('poll', Uint8Array.from([0x0a, 0x09]))).toThrow(WireError);
  });
});
