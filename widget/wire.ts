/**
 * The widget's protobuf codec for the frames it speaks: field numbers from
 * the generated proto/gen/tables.ts, bytes through proto/wire.ts's reader and
 * writer (both dependency-free), so nothing here is typed twice.
 *
 * Why not the generated module: protobufjs's runtime plus the generated code
 * for the whole contract is about 30 KB gzipped on its own, the widget's whole
 * budget. The widget decodes only ServerFrame (and the events it renders) and
 * encodes four small ClientFrames. test/browser/wire.test.ts checks this
 * codec against the generated code both ways. Unknown fields and unknown
 * event kinds are skipped, as protobuf requires.
 */
import {
  AckField,
  BatchField,
  ClientFrameField,
  DanmakuField,
  ErrorField,
  EventField,
  EventKindByField,
  GiftField,
  LeaderboardEntryField,
  LeaderboardField,
  LikeField,
  LimitsField,
  NoticeField,
  PinField,
  PingField,
  PongField,
  ResumeField,
  RetractField,
  RoomCloseField,
  RoomModeField,
  SendDanmakuField,
  ServerFrameField,
  SlowModeField,
  SuperChatField,
  SuperChatRemovedField,
  UserField,
  WelcomeField,
  LikesField,
  OnlineField,
  MedalField,
  JoinNoticeField,
  ReportField,
} from '../proto/gen/tables.js';
import type { EventKind as KindName } from '../proto/gen/tables.js';
import { WireError, WireReader, WireWriter } from '../proto/wire.js';

export { DanmakuMode, Role } from '../proto/gen/tables.js';
export { WireError };

/** `barrage.v1.Medal`: a site's fan medal. */
export interface Medal {
  name: string;
  level: number;
}
/** `barrage.v1.User`. */
export interface User {
  id: string;
  name: string;
  role: number;
  /** Badge ids to draw beside the name (built-in `host`, `moderator`, `member` first); often empty. */
  badges: readonly string[];
  medal: Medal | undefined;
}
/** `barrage.v1.JoinNotice`: the joins of one window, as one line. */
export interface JoinNotice {
  users: User[];
  count: number;
}
/** `barrage.v1.Danmaku`. */
export interface Danmaku {
  id: string;
  user: User | undefined;
  text: string;
  mode: number;
  color: number;
  size: number;
  clientMsgId: string;
  merged: number;
  /** The video time (ms) of a danmaku posted on a recording (`video=` sockets). */
  offsetMs?: number;
}
/** `barrage.v1.Gift`. */
export interface Gift {
  id: string;
  user: User | undefined;
  giftId: string;
  name: string;
  count: number;
  priceCents: number;
  combo: number;
  comboId: string;
  imageUrl: string;
  tier: number;
}
/** `barrage.v1.SuperChat`. */
export interface SuperChat {
  id: string;
  user: User | undefined;
  text: string;
  priceCents: number;
  pinSeconds: number;
  color: number;
}
/** `barrage.v1.Pin`. */
export interface Pin {
  danmakuId: string;
  text: string;
  seconds: number;
}
/** `barrage.v1.LeaderboardEntry`: one gifter of this live session. */
export interface LeaderboardEntry {
  user: User | undefined;
  totalCents: number;
  gifts: number;
}
/** `barrage.v1.Leaderboard`: the top gifters, and totals over every gifter. */
export interface Leaderboard {
  entries: LeaderboardEntry[];
  totalCents: number;
  totalGifts: number;
}
/** `barrage.v1.Notice`. */
export interface Notice {
  text: string;
  level: string;
}

/** An `Event.kind` member (as the .proto lists them). Kinds the widget does not render arrive with `kind` set and no body. */
export type EventKind = KindName;

/** `barrage.v1.Event`: seq, room, time and one kind. */
export interface WireEvent {
  seq: number;
  room: string;
  tsMs: number;
  kind: EventKind | undefined;
  danmaku?: Danmaku;
  gift?: Gift;
  superChat?: SuperChat;
  pin?: Pin;
  notice?: Notice;
  /** Likes: room total and delta. */
  likes?: { total: number; delta: number };
  /** Online: connections in the room. */
  online?: { count: number };
  /** Retract: the danmaku id to take down. */
  retract?: { danmakuId: string };
  /** A super chat a moderator unpinned early. */
  superChatRemoved?: { id: string };
  roomClose?: { reason: string };
  roomMode?: { danmakuOff: boolean; membersOnly: boolean; emoteOnly: boolean };
  slowMode?: { seconds: number; automatic: boolean };
  leaderboard?: Leaderboard;
  joinNotice?: JoinNotice;
  /** A play's event (red packet, poll, lottery): its undecoded body; the plays chunk decodes it. */
  play?: Uint8Array;
}

/** `barrage.v1.Limits`. */
export interface Limits {
  maxTextLength: number;
  danmakuPerSecond: number;
  danmakuBurst: number;
  maxFrameBytes: number;
}
/** `barrage.v1.Welcome`. */
export interface Welcome {
  room: string;
  userId: string;
  name: string;
  role: number;
  seq: number;
  recovered: boolean;
  serverTsMs: number;
  limits: Limits | undefined;
  sessionId: string;
  edgeId: string;
  /** The room's epoch: seqs compare only within one (send it back when resuming). */
  epoch: string;
}
/** `barrage.v1.Batch`. */
export interface Batch {
  events: WireEvent[];
  room: string;
  skipped: number;
  skipReason: number;
  history: boolean;
}
/** `barrage.v1.Error`. */
export interface WireErrorFrame {
  code: number;
  message: string;
  clientMsgId: string;
  retryAfterMs: number;
}
/** `barrage.v1.ServerFrame`: exactly one of its members is set. */
export interface ServerFrame {
  welcome?: Welcome;
  batch?: Batch;
  error?: WireErrorFrame;
  pong?: { clientTsMs: number; serverTsMs: number };
  ack?: { clientMsgId: string; seq: number };
  /**
   * Moderators only: the undecoded body of a `held` or `reported` frame. The
   * moderator console (a lazy chunk) decodes them, so viewers' bundles carry
   * no code for them.
   */
  held?: Uint8Array;
  reported?: Uint8Array;
  /** The undecoded answer to a play frame (grab, vote, join); the plays chunk decodes it. */
  playAnswer?: Uint8Array;
}

// ------------------------------------------------------------------ reader

/** Reads the fields of one message up to `end`; `field` returns false for fields it did not read (skipped). */
function fields<T>(r: WireReader, end: number, target: T, field: (r: WireReader, n: number, target: T) => boolean): T {
  while (r.pos < end) {
    const tag = r.tag();
    if (!field(r, tag >>> 3, target)) r.skip(tag & 7);
  }
  if (r.pos !== end) throw new WireError('field overruns its message');
  return target;
}

/** A nested message at `r`. */
const nested = <T>(r: WireReader, target: T, field: (r: WireReader, n: number, target: T) => boolean): T =>
  fields(r, r.lengthEnd(), target, field);

/** Shared by every user without badges (most): no array per danmaku. Frozen, so it is never pushed to. */
const noBadges: readonly string[] = Object.freeze([]);

const readMedal = (r: WireReader, n: number, m: Medal): boolean => {
  if (n === MedalField.name) m.name = r.string();
  else if (n === MedalField.level) m.level = r.varint();
  else return false;
  return true;
};

const readUser = (r: WireReader, n: number, u: User): boolean => {
  if (n === UserField.id) u.id = r.string();
  else if (n === UserField.name) u.name = r.string();
  else if (n === UserField.role) u.role = r.varint();
  else if (n === UserField.badges) u.badges = u.badges === noBadges ? [r.string()] : [...u.badges, r.string()];
  else if (n === UserField.medal) u.medal = nested(r, { name: '', level: 0 }, readMedal);
  else return false;
  return true;
};
const user = (r: WireReader): User => nested(r, { id: '', name: '', role: 0, badges: noBadges, medal: undefined }, readUser);

/** A nested `User` at `r` (the moderator console reads Held and Reported frames with it). */
export const readUserMessage = user;
/** A nested `Danmaku` at `r`. */
export const readDanmakuMessage = (r: WireReader): Danmaku =>
  nested(r, { id: '', user: undefined, text: '', mode: 0, color: 0, size: 0, clientMsgId: '', merged: 0 }, readDanmaku);

const readJoinNotice = (r: WireReader, n: number, j: JoinNotice): boolean => {
  if (n === JoinNoticeField.users) j.users.push(user(r));
  else if (n === JoinNoticeField.count) j.count = r.varint();
  else return false;
  return true;
};

const readDanmaku = (r: WireReader, n: number, d: Danmaku): boolean => {
  if (n === DanmakuField.id) d.id = r.string();
  else if (n === DanmakuField.user) d.user = user(r);
  else if (n === DanmakuField.text) d.text = r.string();
  else if (n === DanmakuField.mode) d.mode = r.varint();
  else if (n === DanmakuField.color) d.color = r.varint();
  else if (n === DanmakuField.size) d.size = r.varint();
  else if (n === DanmakuField.clientMsgId) d.clientMsgId = r.string();
  else if (n === DanmakuField.merged) d.merged = r.varint();
  else if (n === DanmakuField.offsetMs) d.offsetMs = r.varint();
  else return false;
  return true;
};

const readGift = (r: WireReader, n: number, g: Gift): boolean => {
  if (n === GiftField.id) g.id = r.string();
  else if (n === GiftField.user) g.user = user(r);
  else if (n === GiftField.giftId) g.giftId = r.string();
  else if (n === GiftField.name) g.name = r.string();
  else if (n === GiftField.count) g.count = r.varint();
  else if (n === GiftField.priceCents) g.priceCents = r.varint();
  else if (n === GiftField.combo) g.combo = r.varint();
  else if (n === GiftField.comboId) g.comboId = r.string();
  else if (n === GiftField.imageUrl) g.imageUrl = r.string();
  else if (n === GiftField.tier) g.tier = r.varint();
  else return false;
  return true;
};

const readSuperChat = (r: WireReader, n: number, s: SuperChat): boolean => {
  if (n === SuperChatField.id) s.id = r.string();
  else if (n === SuperChatField.user) s.user = user(r);
  else if (n === SuperChatField.text) s.text = r.string();
  else if (n === SuperChatField.priceCents) s.priceCents = r.varint();
  else if (n === SuperChatField.pinSeconds) s.pinSeconds = r.varint();
  else if (n === SuperChatField.color) s.color = r.varint();
  else return false;
  return true;
};

const readLeaderboardEntry = (r: WireReader, n: number, e: LeaderboardEntry): boolean => {
  if (n === LeaderboardEntryField.user) e.user = user(r);
  else if (n === LeaderboardEntryField.totalCents) e.totalCents = r.varint();
  else if (n === LeaderboardEntryField.gifts) e.gifts = r.varint();
  else return false;
  return true;
};

const readLeaderboard = (r: WireReader, n: number, b: Leaderboard): boolean => {
  if (n === LeaderboardField.entries) b.entries.push(nested(r, { user: undefined, totalCents: 0, gifts: 0 }, readLeaderboardEntry));
  else if (n === LeaderboardField.totalCents) b.totalCents = r.varint();
  else if (n === LeaderboardField.totalGifts) b.totalGifts = r.varint();
  else return false;
  return true;
};

const readPin = (r: WireReader, n: number, p: Pin): boolean => {
  if (n === PinField.danmakuId) p.danmakuId = r.string();
  else if (n === PinField.text) p.text = r.string();
  else if (n === PinField.seconds) p.seconds = r.varint();
  else return false;
  return true;
};

const readNotice = (r: WireReader, n: number, o: Notice): boolean => {
  if (n === NoticeField.text) o.text = r.string();
  else if (n === NoticeField.level) o.level = r.string();
  else return false;
  return true;
};

const readRetract = (r: WireReader, n: number, o: { danmakuId: string }): boolean =>
  n === RetractField.danmakuId ? ((o.danmakuId = r.string()), true) : false;
const readSuperChatRemoved = (r: WireReader, n: number, o: { id: string }): boolean =>
  n === SuperChatRemovedField.id ? ((o.id = r.string()), true) : false;
const readRoomClose = (r: WireReader, n: number, o: { reason: string }): boolean =>
  n === RoomCloseField.reason ? ((o.reason = r.string()), true) : false;

/** Messages of numbers only (varints), read into an array by field number. */
const readUints = (r: WireReader, n: number, o: number[]): boolean => ((o[n] = r.varint()), true);

function readEventBody(r: WireReader, e: WireEvent, kind: EventKind): void {
  switch (kind) {
    case 'danmaku':
      e.danmaku = readDanmakuMessage(r);
      return;
    case 'gift':
      e.gift = nested(
        r,
        { id: '', user: undefined, giftId: '', name: '', count: 0, priceCents: 0, combo: 0, comboId: '', imageUrl: '', tier: 0 },
        readGift,
      );
      return;
    case 'superChat':
      e.superChat = nested(r, { id: '', user: undefined, text: '', priceCents: 0, pinSeconds: 0, color: 0 }, readSuperChat);
      return;
    case 'pin':
      e.pin = nested(r, { danmakuId: '', text: '', seconds: 0 }, readPin);
      return;
    case 'notice':
      e.notice = nested(r, { text: '', level: '' }, readNotice);
      return;
    case 'retract':
      e.retract = nested(r, { danmakuId: '' }, readRetract);
      return;
    case 'superChatRemoved':
      e.superChatRemoved = nested(r, { id: '' }, readSuperChatRemoved);
      return;
    case 'roomClose':
      e.roomClose = nested(r, { reason: '' }, readRoomClose);
      return;
    case 'likes': {
      const v = nested(r, [], readUints);
      e.likes = { total: v[LikesField.total] ?? 0, delta: v[LikesField.delta] ?? 0 };
      return;
    }
    case 'online':
      e.online = { count: nested(r, [], readUints)[OnlineField.count] ?? 0 };
      return;
    case 'roomMode': {
      const v = nested(r, [], readUints);
      e.roomMode = {
        danmakuOff: v[RoomModeField.danmakuOff] === 1,
        membersOnly: v[RoomModeField.membersOnly] === 1,
        emoteOnly: v[RoomModeField.emoteOnly] === 1,
      };
      return;
    }
    case 'slowMode': {
      const v = nested(r, [], readUints);
      e.slowMode = { seconds: v[SlowModeField.seconds] ?? 0, automatic: v[SlowModeField.automatic] === 1 };
      return;
    }
    case 'leaderboard':
      e.leaderboard = nested(r, { entries: [], totalCents: 0, totalGifts: 0 }, readLeaderboard);
      return;
    case 'joinNotice':
      e.joinNotice = nested(r, { users: [], count: 0 }, readJoinNotice);
      return;
    case 'redPacket':
    case 'redPacketProgress':
    case 'redPacketEnded':
    case 'poll':
    case 'pollTally':
    case 'pollResult':
    case 'lottery':
    case 'lotteryProgress':
    case 'lotteryResult':
      e.play = r.bytes(); // decoded by the plays chunk, loaded when the first one arrives
      return;
    default:
      r.pos = r.lengthEnd(); // a kind the widget does not render
  }
}

const readEvent = (r: WireReader, n: number, e: WireEvent): boolean => {
  if (n === EventField.seq) e.seq = r.varint();
  else if (n === EventField.room) e.room = r.string();
  else if (n === EventField.tsMs) e.tsMs = r.varint();
  else {
    const kind = EventKindByField[n];
    if (kind === undefined) return false;
    e.kind = kind;
    readEventBody(r, e, kind);
  }
  return true;
};

const readBatch = (r: WireReader, n: number, b: Batch): boolean => {
  if (n === BatchField.events) b.events.push(nested(r, { seq: 0, room: '', tsMs: 0, kind: undefined } as WireEvent, readEvent));
  else if (n === BatchField.room) b.room = r.string();
  else if (n === BatchField.skipped) b.skipped = r.varint();
  else if (n === BatchField.skipReason) b.skipReason = r.varint();
  else if (n === BatchField.history) b.history = r.varint() !== 0;
  else return false;
  return true;
};

const readWelcome = (r: WireReader, n: number, w: Welcome): boolean => {
  if (n === WelcomeField.room) w.room = r.string();
  else if (n === WelcomeField.userId) w.userId = r.string();
  else if (n === WelcomeField.name) w.name = r.string();
  else if (n === WelcomeField.role) w.role = r.varint();
  else if (n === WelcomeField.seq) w.seq = r.varint();
  else if (n === WelcomeField.recovered) w.recovered = r.varint() !== 0;
  else if (n === WelcomeField.serverTsMs) w.serverTsMs = r.varint();
  else if (n === WelcomeField.epoch) w.epoch = r.string();
  else if (n === WelcomeField.limits) {
    const v = nested(r, [], readUints);
    w.limits = {
      maxTextLength: v[LimitsField.maxTextLength] ?? 0,
      danmakuPerSecond: v[LimitsField.danmakuPerSecond] ?? 0,
      danmakuBurst: v[LimitsField.danmakuBurst] ?? 0,
      maxFrameBytes: v[LimitsField.maxFrameBytes] ?? 0,
    };
  } else if (n === WelcomeField.sessionId) w.sessionId = r.string();
  else if (n === WelcomeField.edgeId) w.edgeId = r.string();
  else return false;
  return true;
};

const readError = (r: WireReader, n: number, e: WireErrorFrame): boolean => {
  if (n === ErrorField.code) e.code = r.varint();
  else if (n === ErrorField.message) e.message = r.string();
  else if (n === ErrorField.clientMsgId) e.clientMsgId = r.string();
  else if (n === ErrorField.retryAfterMs) e.retryAfterMs = r.varint();
  else return false;
  return true;
};

const readAck = (r: WireReader, n: number, a: { clientMsgId: string; seq: number }): boolean => {
  if (n === AckField.clientMsgId) a.clientMsgId = r.string();
  else if (n === AckField.seq) a.seq = r.varint();
  else return false;
  return true;
};

const readServerFrame = (r: WireReader, n: number, f: ServerFrame): boolean => {
  if (n === ServerFrameField.welcome) {
    const w: Welcome = {
      room: '',
      userId: '',
      name: '',
      role: 0,
      seq: 0,
      recovered: false,
      serverTsMs: 0,
      limits: undefined,
      sessionId: '',
      edgeId: '',
      epoch: '',
    };
    f.welcome = nested(r, w, readWelcome);
  } else if (n === ServerFrameField.batch)
    f.batch = nested(r, { events: [], room: '', skipped: 0, skipReason: 0, history: false }, readBatch);
  else if (n === ServerFrameField.error) f.error = nested(r, { code: 0, message: '', clientMsgId: '', retryAfterMs: 0 }, readError);
  else if (n === ServerFrameField.pong) {
    const v = nested(r, [], readUints);
    f.pong = { clientTsMs: v[PongField.clientTsMs] ?? 0, serverTsMs: v[PongField.serverTsMs] ?? 0 };
  } else if (n === ServerFrameField.ack) f.ack = nested(r, { clientMsgId: '', seq: 0 }, readAck);
  else if (n === ServerFrameField.held) f.held = r.bytes();
  else if (n === ServerFrameField.reported) f.reported = r.bytes();
  else if (n === ServerFrameField.playAnswer) f.playAnswer = r.bytes();
  else return false;
  return true;
};

/** Decodes one binary ServerFrame. Throws `WireError` for malformed bytes. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const r = new WireReader(bytes);
  try {
    return fields(r, bytes.length, {}, readServerFrame);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('malformed frame', { cause: err });
  }
}

// ------------------------------------------------------------------ writer

/** What `encodeClientFrame` can send: exactly one member. */
export interface ClientFrame {
  sendDanmaku?: { text: string; mode?: number; color?: number; clientMsgId?: string; size?: number; videoMs?: number | undefined };
  like?: { count: number };
  resume?: { room: string; lastSeq: number; epoch?: string };
  ping?: { clientTsMs: number };
  /** A viewer's report of a danmaku (`reason` is a `ReportReason`). */
  report?: { danmakuId: string; reason: number; detail?: string; clientMsgId?: string };
  /** An encoded `Moderate` message (the moderator console encodes it). */
  moderate?: Uint8Array;
  /** A whole ClientFrame encoded elsewhere (the plays chunk's grab, vote and join). */
  raw?: Uint8Array;
}

/** Encodes a ClientFrame (send_danmaku, like, resume or ping). */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  if (frame.raw) return frame.raw;
  const w = new WireWriter();
  if (frame.sendDanmaku) {
    const d = frame.sendDanmaku;
    const inner = new WireWriter()
      .string(SendDanmakuField.text, d.text)
      .uint(SendDanmakuField.mode, d.mode ?? 0)
      .uint(SendDanmakuField.color, d.color ?? 0)
      .string(SendDanmakuField.clientMsgId, d.clientMsgId ?? '')
      .uint(SendDanmakuField.size, d.size ?? 0)
      .uint(SendDanmakuField.videoMs, Math.max(0, Math.round(d.videoMs ?? 0)));
    w.message(ClientFrameField.sendDanmaku, inner);
  } else if (frame.like) {
    w.message(ClientFrameField.like, new WireWriter().uint(LikeField.count, frame.like.count));
  } else if (frame.resume) {
    w.message(
      ClientFrameField.resume,
      new WireWriter()
        .string(ResumeField.room, frame.resume.room)
        .uint(ResumeField.lastSeq, frame.resume.lastSeq)
        .string(ResumeField.epoch, frame.resume.epoch ?? ''),
    );
  } else if (frame.ping) {
    w.message(ClientFrameField.ping, new WireWriter().uint(PingField.clientTsMs, frame.ping.clientTsMs));
  } else if (frame.report) {
    const p = frame.report;
    w.message(
      ClientFrameField.report,
      new WireWriter()
        .string(ReportField.danmakuId, p.danmakuId)
        .uint(ReportField.reason, p.reason)
        .string(ReportField.detail, p.detail ?? '')
        .string(ReportField.clientMsgId, p.clientMsgId ?? ''),
    );
  } else if (frame.moderate) {
    w.bytes(ClientFrameField.moderate, frame.moderate);
  }
  return w.finish();
}
