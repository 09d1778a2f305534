import { describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { encodeHistoryReply, historyFrameOf, readHistoryReply } from '../../domain/history-wire.js';
import { WireError } from '../../proto/wire.js';
import { RoomLog, answerHistory } from '../../core/sequencing/sequencer.js';

const event = (seq: number, text: string) => v1.Event.encode({ seq, room: 'r', tsMs: 1_700_000_000_000 + seq, danmaku: { text } }).finish();

describe('history wire - answers built from stored bytes', () => {
  it('history wire - what core writes decodes with the generated code, and what protobufjs writes reads back', () => {
    const events = [event(1, 'a'), event(2, '弹幕'), event(300, 'x'.repeat(200))];
    const bytes = encodeHistoryReply({ events, recovered: true, seq: 2 ** 40, epoch: 'abc-123' });
    const decoded = v1.HistoryReply.decode(bytes);
    expect(decoded.recovered).toBe(true);
    expect(decoded.epoch).toBe('abc-123');
    expect(Number(decoded.seq)).toBe(2 ** 40);
    expect(decoded.events.map((e) => e.danmaku?.text)).toEqual(['a', '弹幕', 'x'.repeat(200)]);
    const generated = v1.HistoryReply.encode({ events: events.map((e) => v1.Event.decode(e)), recovered: false, seq: 7 }).finish();
    const read = readHistoryReply(generated);
    expect(read.recovered).toBe(false);
    expect(read.seq).toBe(7);
    expect(read.events.map((e) => Buffer.from(e))).toEqual(events.map((e) => Buffer.from(e)));
  });

  it('history wire - an empty answer is empty bytes, and truncated bytes throw WireError', () => {
    expect(encodeHistoryReply({ events: [], recovered: false, seq: 0, epoch: '' }).length).toBe(0);
    const bytes = encodeHistoryReply({ events: [event(1, 'hello')], recovered: true, seq: 1, epoch: '' });
    for (let cut = 1; cut < bytes.length - 4; cut++) {
      expect(() => readHistoryReply(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(WireError);
    }
  });

  it('history wire - answerHistory replays a resume and the join window as the stored bytes', () => {
    const log = new RoomLog(10);
    for (let seq = 1; seq <= 12; seq++) log.push({ seq, bytes: event(seq, `m${seq}`), chat: seq % 3 !== 0 });
    const resume = readHistoryReply(
      answerHistory(log, new v1.HistoryRequest({ resume: true, afterSeq: 9 }), { joinHistory: 20, epoch: 'e1' }),
    );
    expect(resume.recovered).toBe(true);
    expect(resume.events.map((e) => v1.Event.decode(e).seq)).toEqual([10, 11, 12]);
    const otherEpoch = readHistoryReply(
      answerHistory(log, new v1.HistoryRequest({ resume: true, afterSeq: 9, epoch: 'e0' }), { joinHistory: 2, epoch: 'e1' }),
    );
    expect(otherEpoch.recovered).toBe(false);
    expect(otherEpoch.epoch).toBe('e1');
    expect(otherEpoch.events.map((e) => v1.Event.decode(e).seq)).toEqual([10, 11]);
    const gone = readHistoryReply(
      answerHistory(log, new v1.HistoryRequest({ resume: true, afterSeq: 1 }), { joinHistory: 2, epoch: 'e1' }),
    );
    expect(gone.recovered).toBe(false);
    expect(gone.events.map((e) => v1.Event.decode(e).seq)).toEqual([10, 11]);
  });
});

describe('history wire - the history Batch frame built by copying event fields', () => {
  it('history wire - the frame decodes to the same events, the room and history: true; no events, no frame', () => {
    const events = [event(1, 'a'), event(2, '弹幕'), event(3, 'x'.repeat(300))];
    const room = Buffer.from('room-1');
    for (const recovered of [true, false]) {
      const built = historyFrameOf(encodeHistoryReply({ events, recovered, seq: 3, epoch: 'e1' }), room);
      expect(built).toMatchObject({ events: 3, recovered, seq: 3 });
      const frame = v1.ServerFrame.decode(built.frame as Uint8Array);
      expect(frame.batch?.room).toBe('room-1');
      expect(frame.batch?.history).toBe(true);
      expect(frame.batch?.events?.map((e) => e.danmaku?.text)).toEqual(['a', '弹幕', 'x'.repeat(300)]);
    }
    expect(historyFrameOf(encodeHistoryReply({ events: [], recovered: true, seq: 9, epoch: 'e1' }), room)).toEqual({
      frame: undefined,
      events: 0,
      recovered: true,
      seq: 9,
      epoch: 'e1',
    });
  });

  it('history wire - event fields in any order around the other fields are all copied, in order', () => {
    const generated = v1.HistoryReply.encode({
      seq: 5,
      recovered: true,
      events: [v1.Event.decode(event(4, 'p')), v1.Event.decode(event(5, 'q'))],
    }).finish();
    // protobufjs writes events first; put seq and recovered first instead, then the events.
    const reordered = Buffer.concat([Buffer.from([0x10, 0x01, 0x18, 0x05]), generated.subarray(0, generated.length - 4)]);
    const built = historyFrameOf(reordered, Buffer.from('r'));
    expect(built).toMatchObject({ events: 2, recovered: true, seq: 5 });
    expect(v1.ServerFrame.decode(built.frame as Uint8Array).batch?.events?.map((e) => e.danmaku?.text)).toEqual(['p', 'q']);
  });
});
