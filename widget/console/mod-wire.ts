/**
 * The moderator console's part of the wire: it reads the `held`,
 * `reported` and `play_answer` frames the connection hands over undecoded,
 * and encodes `Moderate` messages and a host's `start_poll` and
 * `start_lottery` frames. Field numbers from proto/gen/tables.ts and
 * play-fields.ts, bytes through
 * proto/wire.ts, as in widget/wire.ts; it lives in the console's lazy chunk
 * so viewers' bundles carry none of it. test/browser/wire.test.ts checks it
 * against the generated code.
 */
import {
  BanField,
  HeldField,
  HoldDecisionField,
  ModerateField,
  MuteField,
  PinField,
  ReportedField,
  ResolveReportField,
  RetractField,
  RoomModeField,
  RoomNoticeField,
  SlowModeField,
  UnbanField,
} from '../../proto/gen/tables.js';
// The play numbers come from the plays' own module: importing them from tables.ts would move those
// tables into the initial bundle (esbuild splits by module), which viewers download.
import {
  ClientFramePlayField,
  CreateLotteryField,
  CreatePollField,
  LotteryField,
  LotteryProgressField,
  LotteryResultField,
  PlayAnswerField,
  PollField,
  PollResultField,
  PollTallyField,
  RedPacketEndedField,
  RedPacketField,
  RedPacketProgressField,
} from '../../proto/gen/play-fields.js';
import { WireError, WireReader, WireWriter } from '../../proto/wire.js';
import { readDanmakuMessage, readUserMessage } from '../wire.js';
import type { Danmaku, User } from '../wire.js';

/** `barrage.v1.Held`: a danmaku waiting for a moderator, or its resolution. */
export interface HeldEntry {
  holdId: string;
  room: string;
  danmaku: Danmaku | undefined;
  matched: string;
  tsMs: number;
  resolved: boolean;
  approved: boolean;
}

/** `barrage.v1.Reported`: one reported danmaku as moderators see it. */
export interface ReportedEntry {
  reportId: string;
  room: string;
  danmakuId: string;
  danmaku: Danmaku | undefined;
  reporters: number;
  reasons: number[];
  detail: string;
  firstTsMs: number;
  lastTsMs: number;
  resolution: number;
  holdId: string;
  resolvedBy: User | undefined;
}

function read<T>(bytes: Uint8Array, target: T, field: (r: WireReader, n: number, wireType: number, t: T) => boolean): T {
  const r = new WireReader(bytes);
  try {
    while (r.pos < bytes.length) {
      const tag = r.tag();
      if (!field(r, tag >>> 3, tag & 7, target)) r.skip(tag & 7);
    }
  } catch (err) {
    throw err instanceof WireError ? err : new WireError('malformed frame', { cause: err });
  }
  return target;
}

/** Decodes a `Held` body. Throws `WireError` for malformed bytes. */
export function decodeHeld(bytes: Uint8Array): HeldEntry {
  const h: HeldEntry = { holdId: '', room: '', danmaku: undefined, matched: '', tsMs: 0, resolved: false, approved: false };
  return read(bytes, h, (r, n, _w, t) => {
    if (n === HeldField.holdId) t.holdId = r.string();
    else if (n === HeldField.room) t.room = r.string();
    else if (n === HeldField.danmaku) t.danmaku = readDanmakuMessage(r);
    else if (n === HeldField.matched) t.matched = r.string();
    else if (n === HeldField.tsMs) t.tsMs = r.varint();
    else if (n === HeldField.resolved) t.resolved = r.varint() !== 0;
    else if (n === HeldField.approved) t.approved = r.varint() !== 0;
    else return false;
    return true;
  });
}

/** Decodes a `Reported` body. Throws `WireError` for malformed bytes. */
export function decodeReported(bytes: Uint8Array): ReportedEntry {
  const e: ReportedEntry = {
    reportId: '',
    room: '',
    danmakuId: '',
    danmaku: undefined,
    reporters: 0,
    reasons: [],
    detail: '',
    firstTsMs: 0,
    lastTsMs: 0,
    resolution: 0,
    holdId: '',
    resolvedBy: undefined,
  };
  return read(bytes, e, (r, n, wireType, t) => {
    if (n === ReportedField.reportId) t.reportId = r.string();
    else if (n === ReportedField.room) t.room = r.string();
    else if (n === ReportedField.danmakuId) t.danmakuId = r.string();
    else if (n === ReportedField.danmaku) t.danmaku = readDanmakuMessage(r);
    else if (n === ReportedField.reporters) t.reporters = r.varint();
    else if (n === ReportedField.reasons) {
      // A repeated enum: packed (proto3's default) or one value per tag; both are valid input.
      if (wireType === 2) for (const end = r.lengthEnd(); r.pos < end;) t.reasons.push(r.varint());
      else t.reasons.push(r.varint());
    } else if (n === ReportedField.detail) t.detail = r.string();
    else if (n === ReportedField.firstTsMs) t.firstTsMs = r.varint();
    else if (n === ReportedField.lastTsMs) t.lastTsMs = r.varint();
    else if (n === ReportedField.resolution) t.resolution = r.varint();
    else if (n === ReportedField.holdId) t.holdId = r.string();
    else if (n === ReportedField.resolvedBy) t.resolvedBy = readUserMessage(r);
    else return false;
    return true;
  });
}

/** One moderator action, as the console sends it. */
export type ModAction =
  | { retract: { danmakuId: string } }
  | { mute: { userId: string; seconds: number } }
  | { ban: { userId: string; seconds: number } }
  | { unban: { userId: string } }
  | { slowMode: { seconds: number } }
  | { pin: { text: string; seconds: number; danmakuId?: string } }
  | { notice: { text: string } }
  | { roomMode: { danmakuOff: boolean; membersOnly: boolean; emoteOnly: boolean } }
  | { hold: { holdId: string; approve: boolean } }
  | { resolveReport: { reportId: string; resolution: number } };

/** Encodes a `Moderate` message (the ClientFrame's `moderate` member carries it). */
export function encodeModerate(action: ModAction, reason = ''): Uint8Array {
  const w = new WireWriter();
  const m = new WireWriter();
  if ('retract' in action) w.message(ModerateField.retract, m.string(RetractField.danmakuId, action.retract.danmakuId));
  else if ('mute' in action)
    w.message(ModerateField.mute, m.string(MuteField.userId, action.mute.userId).uint(MuteField.seconds, action.mute.seconds));
  else if ('ban' in action)
    w.message(ModerateField.ban, m.string(BanField.userId, action.ban.userId).uint(BanField.seconds, action.ban.seconds));
  else if ('unban' in action) w.message(ModerateField.unban, m.string(UnbanField.userId, action.unban.userId));
  else if ('slowMode' in action) w.message(ModerateField.slowMode, m.uint(SlowModeField.seconds, action.slowMode.seconds));
  else if ('pin' in action) {
    const p = action.pin;
    w.message(
      ModerateField.pin,
      m
        .string(PinField.danmakuId, p.danmakuId ?? '')
        .string(PinField.text, p.text)
        .uint(PinField.seconds, p.seconds),
    );
  } else if ('notice' in action) w.message(ModerateField.notice, m.string(RoomNoticeField.text, action.notice.text));
  else if ('roomMode' in action) {
    const o = action.roomMode;
    w.message(
      ModerateField.roomMode,
      m
        .uint(RoomModeField.danmakuOff, o.danmakuOff ? 1 : 0)
        .uint(RoomModeField.membersOnly, o.membersOnly ? 1 : 0)
        .uint(RoomModeField.emoteOnly, o.emoteOnly ? 1 : 0),
    );
  } else if ('hold' in action)
    w.message(
      ModerateField.hold,
      m.string(HoldDecisionField.holdId, action.hold.holdId).uint(HoldDecisionField.approve, action.hold.approve ? 1 : 0),
    );
  else if ('resolveReport' in action)
    w.message(
      ModerateField.resolveReport,
      m
        .string(ResolveReportField.reportId, action.resolveReport.reportId)
        .uint(ResolveReportField.resolution, action.resolveReport.resolution),
    );
  return w.string(ModerateField.reason, reason).finish();
}

/** `barrage.v1.PlayAnswer`, as the console reads the answer to a start. */
export interface StartAnswer {
  playId: string;
  error: number;
  message: string;
}

/** Decodes a `PlayAnswer` body. Throws `WireError` for malformed bytes. */
export function decodeStartAnswer(bytes: Uint8Array): StartAnswer {
  return read(bytes, { playId: '', error: 0, message: '' } as StartAnswer, (r, n, _w, t) => {
    if (n === PlayAnswerField.playId) t.playId = r.string();
    else if (n === PlayAnswerField.error) t.error = r.varint();
    else if (n === PlayAnswerField.message) t.message = r.string();
    else return false;
    return true;
  });
}

/** The `id` field of each play event kind (the `Event.kind` names). */
const playIdFields: Readonly<Record<string, number>> = {
  redPacket: RedPacketField.id,
  redPacketProgress: RedPacketProgressField.id,
  redPacketEnded: RedPacketEndedField.id,
  poll: PollField.id,
  pollTally: PollTallyField.id,
  pollResult: PollResultField.id,
  lottery: LotteryField.id,
  lotteryProgress: LotteryProgressField.id,
  lotteryResult: LotteryResultField.id,
};

/** The play id of a play event's body ('' for another kind). Throws `WireError` for malformed bytes. */
export function playEventId(kind: string, body: Uint8Array): string {
  const field = playIdFields[kind];
  if (field === undefined) return '';
  return read(body, { id: '' }, (r, n, _w, t) => {
    if (n !== field) return false;
    t.id = r.string();
    return true;
  }).id;
}

/** What a host asks for to open a poll (`barrage.v1.CreatePoll`); `correct` (0-based) makes it a quiz. */
export interface StartPoll {
  question: string;
  options: string[];
  durationS: number;
  correct?: number | undefined;
  answerWindowS: number;
  allowChange: boolean;
  membersOnly: boolean;
}

/** A `start_poll` ClientFrame. */
export function encodeStartPoll(p: StartPoll): Uint8Array {
  const m = new WireWriter().string(CreatePollField.question, p.question);
  for (const o of p.options) m.string(CreatePollField.options, o);
  m.uint(CreatePollField.durationS, p.durationS)
    .uint(CreatePollField.hasCorrect, p.correct === undefined ? 0 : 1)
    .uint(CreatePollField.correct, p.correct ?? 0)
    .uint(CreatePollField.answerWindowS, p.answerWindowS)
    .uint(CreatePollField.membersOnly, p.membersOnly ? 1 : 0)
    .uint(CreatePollField.allowChange, p.allowChange ? 1 : 0);
  return new WireWriter().message(ClientFramePlayField.startPoll, m).finish();
}

/** What a host asks for to open a lottery (`barrage.v1.CreateLottery`); `entry` is a `LotteryEntry`. */
export interface StartLottery {
  prize: string;
  winners: number;
  durationS: number;
  entry: number;
  keyword: string;
  giftId: string;
  membersOnly: boolean;
}

/** A `start_lottery` ClientFrame. */
export function encodeStartLottery(l: StartLottery): Uint8Array {
  const m = new WireWriter()
    .string(CreateLotteryField.prize, l.prize)
    .uint(CreateLotteryField.winners, l.winners)
    .uint(CreateLotteryField.durationS, l.durationS)
    .uint(CreateLotteryField.entry, l.entry)
    .string(CreateLotteryField.keyword, l.keyword)
    .string(CreateLotteryField.giftId, l.giftId)
    .uint(CreateLotteryField.membersOnly, l.membersOnly ? 1 : 0);
  return new WireWriter().message(ClientFramePlayField.startLottery, m).finish();
}
