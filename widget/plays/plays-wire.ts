/**
 * The plays chunk's codec: the play events' bodies and PlayAnswer frames
 * (which the main codec hands over undecoded) and the grab, vote and join
 * frames. Field numbers generated from the .proto, bytes through
 * proto/wire.ts: one reader of every field into a small map, read out per
 * message below (repeated numbers packed or not, as protobuf allows).
 */
import { kit } from './kit.js';
// Field numbers from proto/gen/play-fields.ts (scripts/gen-proto.mjs): a module only this lazy chunk
// imports, so the numbers come from the .proto without moving the shared tables.ts into the chunk.
import {
  ClientFramePlayField as ClientFrameField,
  GrabRedPacketField,
  JoinLotteryField,
  LotteryField,
  LotteryProgressField,
  LotteryResultField,
  PlayAnswerField,
  PollField,
  PollResultField,
  PollTallyField,
  RedPacketEndedField,
  RedPacketField,
  RedPacketGrabField,
  RedPacketProgressField,
  UserField,
  VoteField,
} from '../../proto/gen/play-fields.js';

const LEN = 2;
const decoder = new TextDecoder();

/** A message's fields by number, each value a varint or the bytes of a length-delimited field. */
class Fields {
  private readonly map = new Map<number, Array<number | Uint8Array>>();

  constructor(bytes: Uint8Array) {
    const r = new kit.WireReader(bytes);
    while (r.pos < bytes.length) {
      const tag = r.tag();
      const wire = tag & 7;
      const value = wire === 0 ? r.varint() : wire === LEN ? r.bytes() : (r.skip(wire), undefined);
      if (value === undefined) continue;
      const n = tag >>> 3;
      const list = this.map.get(n);
      if (list) list.push(value);
      else this.map.set(n, [value]);
    }
  }

  private last(n: number): number | Uint8Array | undefined {
    const list = this.map.get(n);
    return list?.[list.length - 1];
  }

  str(n: number): string {
    const v = this.last(n);
    return v instanceof Uint8Array ? decoder.decode(v) : '';
  }

  num(n: number): number {
    const v = this.last(n);
    return typeof v === 'number' ? v : 0;
  }

  strs(n: number): string[] {
    return (this.map.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map((v) => decoder.decode(v));
  }

  /** Repeated numbers, packed or one per field. */
  nums(n: number): number[] {
    const out: number[] = [];
    for (const v of this.map.get(n) ?? []) {
      if (typeof v === 'number') out.push(v);
      else for (const r = new kit.WireReader(v); r.pos < v.length;) out.push(r.varint());
    }
    return out;
  }

  msgs(n: number): Fields[] {
    return (this.map.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map((v) => new Fields(v));
  }

  msg(n: number): Fields | undefined {
    const v = this.last(n);
    return v instanceof Uint8Array ? new Fields(v) : undefined;
  }
}

/** Who, as a play shows them. */
export interface PlayUser {
  id: string;
  name: string;
}
const user = (f: Fields | undefined): PlayUser => ({
  id: f?.str(UserField.id) ?? '',
  name: f?.str(UserField.name) || (f?.str(UserField.id) ?? ''),
});

/** A share taken. */
export interface Grab {
  user: PlayUser;
  amountCents: number;
}
const grab = (f: Fields | undefined): Grab | undefined =>
  f ? { user: user(f.msg(RedPacketGrabField.user)), amountCents: f.num(RedPacketGrabField.amountCents) } : undefined;

/** Every play event, decoded (the kind names are the `Event.kind` members). */
export type PlayEvent =
  | {
      kind: 'redPacket';
      id: string;
      sender: PlayUser;
      totalCents: number;
      count: number;
      expiresAtMs: number;
      keyword: string;
      greeting: string;
    }
  | { kind: 'redPacketProgress'; id: string; grabbed: number; count: number; recent: Grab[]; more: number }
  | { kind: 'redPacketEnded'; id: string; grabbed: number; count: number; expired: boolean; luckiest: Grab | undefined }
  | { kind: 'poll'; id: string; question: string; options: string[]; endsAtMs: number; quiz: boolean }
  | { kind: 'pollTally'; id: string; votes: number[]; voters: number }
  | { kind: 'pollResult'; id: string; votes: number[]; voters: number; quiz: boolean; correct: number; winners: number }
  | { kind: 'lottery'; id: string; prize: string; winners: number; endsAtMs: number; entry: number; keyword: string; giftId: string }
  | { kind: 'lotteryProgress'; id: string; entrants: number }
  | { kind: 'lotteryResult'; id: string; entrants: number; winners: PlayUser[] };

/** Decodes the body of a play event of `kind`; undefined for another kind. */
export function decodePlayEvent(kind: string, body: Uint8Array): PlayEvent | undefined {
  const f = new Fields(body);
  switch (kind) {
    case 'redPacket':
      return {
        kind,
        id: f.str(RedPacketField.id),
        sender: user(f.msg(RedPacketField.sender)),
        totalCents: f.num(RedPacketField.totalCents),
        count: f.num(RedPacketField.count),
        expiresAtMs: f.num(RedPacketField.expiresAtMs),
        keyword: f.str(RedPacketField.keyword),
        greeting: f.str(RedPacketField.greeting),
      };
    case 'redPacketProgress':
      return {
        kind,
        id: f.str(RedPacketProgressField.id),
        grabbed: f.num(RedPacketProgressField.grabbed),
        count: f.num(RedPacketProgressField.count),
        recent: f.msgs(RedPacketProgressField.recent).map((g) => grab(g) as Grab),
        more: f.num(RedPacketProgressField.more),
      };
    case 'redPacketEnded':
      return {
        kind,
        id: f.str(RedPacketEndedField.id),
        grabbed: f.num(RedPacketEndedField.grabbed),
        count: f.num(RedPacketEndedField.count),
        expired: f.num(RedPacketEndedField.expired) === 1,
        luckiest: grab(f.msg(RedPacketEndedField.luckiest)),
      };
    case 'poll':
      return {
        kind,
        id: f.str(PollField.id),
        question: f.str(PollField.question),
        options: f.strs(PollField.options),
        endsAtMs: f.num(PollField.endsAtMs),
        quiz: f.num(PollField.quiz) === 1,
      };
    case 'pollTally':
      return { kind, id: f.str(PollTallyField.id), votes: f.nums(PollTallyField.votes), voters: f.num(PollTallyField.voters) };
    case 'pollResult':
      return {
        kind,
        id: f.str(PollResultField.id),
        votes: f.nums(PollResultField.votes),
        voters: f.num(PollResultField.voters),
        quiz: f.num(PollResultField.quiz) === 1,
        correct: f.num(PollResultField.correct),
        winners: f.num(PollResultField.winners),
      };
    case 'lottery':
      return {
        kind,
        id: f.str(LotteryField.id),
        prize: f.str(LotteryField.prize),
        winners: f.num(LotteryField.winners),
        endsAtMs: f.num(LotteryField.endsAtMs),
        entry: f.num(LotteryField.entry),
        keyword: f.str(LotteryField.keyword),
        giftId: f.str(LotteryField.giftId),
      };
    case 'lotteryProgress':
      return { kind, id: f.str(LotteryProgressField.id), entrants: f.num(LotteryProgressField.entrants) };
    case 'lotteryResult':
      return {
        kind,
        id: f.str(LotteryResultField.id),
        entrants: f.num(LotteryResultField.entrants),
        winners: f.msgs(LotteryResultField.winners).map(user),
      };
    default:
      return undefined;
  }
}

/** `barrage.v1.PlayAnswer`. */
export interface PlayAnswer {
  playId: string;
  error: number;
  message: string;
  amountCents: number;
}

/** Decodes a PlayAnswer frame body. */
export function decodePlayAnswer(body: Uint8Array): PlayAnswer {
  const f = new Fields(body);
  return {
    playId: f.str(PlayAnswerField.playId),
    error: f.num(PlayAnswerField.error),
    message: f.str(PlayAnswerField.message),
    amountCents: f.num(PlayAnswerField.amountCents),
  };
}

/** A grab_red_packet ClientFrame. */
export const grabFrame = (id: string): Uint8Array =>
  new kit.WireWriter().message(ClientFrameField.grabRedPacket, new kit.WireWriter().string(GrabRedPacketField.id, id)).finish();
/** A vote ClientFrame. */
export const voteFrame = (pollId: string, option: number): Uint8Array =>
  new kit.WireWriter()
    .message(ClientFrameField.vote, new kit.WireWriter().string(VoteField.pollId, pollId).uint(VoteField.option, option))
    .finish();
/** A join_lottery ClientFrame. */
export const joinFrame = (id: string): Uint8Array =>
  new kit.WireWriter().message(ClientFrameField.joinLottery, new kit.WireWriter().string(JoinLotteryField.id, id)).finish();
