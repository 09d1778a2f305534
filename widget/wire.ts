/**
 * A minimal protobuf codec for the frames the widget speaks, written against
 * proto/barrage/v1/barrage.proto (field numbers there are fixed forever).
 *
 * Why not the generated module: protobufjs's runtime plus the generated code
 * for the whole contract is about 30 KB gzipped on its own, the widget's whole
 * budget. The widget decodes only ServerFrame (and the events it renders) and
 * encodes four small ClientFrames, which takes a few hundred lines.
 * test/browser/wire.test.ts checks this codec against the generated code both
 * ways, so a contract change that breaks it fails CI. Unknown fields and
 * unknown event kinds are skipped, as protobuf requires.
 */

/** Thrown for bytes that are not a well-formed frame. */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code = 'BARRAGE_WIRE';
}

/** Mirrors `barrage.v1.DanmakuMode`. */
export const DanmakuMode = { Scroll: 0, Top: 1, Bottom: 2 } as const;
/** A danmaku mode number. */
export type DanmakuMode = (typeof DanmakuMode)[keyof typeof DanmakuMode];

/** Mirrors `barrage.v1.Role`. */
export const Role = { Guest: 0, Viewer: 1, Moderator: 2, Host: 3, Admin: 4 } as const;
/** A role number. */
export type Role = (typeof Role)[keyof typeof Role];

/** `barrage.v1.User`. */
export interface User {
  id: string;
  name: string;
  role: number;
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

/** Event kinds the widget decodes; other kinds arrive with `kind` set and no body. */
export type EventKind =
  | 'danmaku'
  | 'gift'
  | 'likes'
  | 'online'
  | 'notice'
  | 'retract'
  | 'mute'
  | 'unmute'
  | 'ban'
  | 'unban'
  | 'slowMode'
  | 'pin'
  | 'roomMode'
  | 'roomClose'
  | 'superChat'
  | 'leaderboard'
  | 'superChatRemoved';

const eventKinds: Record<number, EventKind> = {
  10: 'danmaku',
  11: 'gift',
  12: 'likes',
  13: 'online',
  14: 'notice',
  15: 'retract',
  16: 'mute',
  17: 'unmute',
  18: 'ban',
  19: 'unban',
  20: 'slowMode',
  21: 'pin',
  22: 'roomMode',
  23: 'roomClose',
  24: 'superChat',
  25: 'leaderboard',
  30: 'superChatRemoved',
};

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
}

// ------------------------------------------------------------------ reader

const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint as a number (exact below 2^53, which seqs and times stay under). */
  uint(): number {
    const buf = this.buf;
    let b = buf[this.pos++] as number;
    if (b < 0x80) return b;
    let n = b & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= buf.length) throw new WireError('truncated varint');
      b = buf[this.pos++] as number;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
    throw new WireError('varint too long');
  }

  end(): number {
    const len = this.uint();
    const end = this.pos + len;
    if (end > this.buf.length) throw new WireError('truncated field');
    return end;
  }

  string(): string {
    const end = this.end();
    const s = utf8.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  skip(wire: number): void {
    if (wire === 0) this.uint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos = this.end();
    else if (wire === 5) this.pos += 4;
    else throw new WireError('unsupported wire type ' + wire);
  }
}

/** Reads fields of one message up to `end`; `field` returns false for fields it did not read. */
function fields<T>(r: Reader, end: number, target: T, field: (r: Reader, n: number, target: T) => boolean): T {
  while (r.pos < end) {
    const tag = r.uint();
    if (!field(r, tag >>> 3, target)) r.skip(tag & 7);
  }
  if (r.pos !== end) throw new WireError('field overruns its message');
  return target;
}

const readUser = (r: Reader, n: number, u: User): boolean => {
  if (n === 1) u.id = r.string();
  else if (n === 2) u.name = r.string();
  else if (n === 3) u.role = r.uint();
  else return false;
  return true;
};
const user = (r: Reader): User => fields(r, r.end(), { id: '', name: '', role: 0 }, readUser);

const readDanmaku = (r: Reader, n: number, d: Danmaku): boolean => {
  if (n === 1) d.id = r.string();
  else if (n === 2) d.user = user(r);
  else if (n === 3) d.text = r.string();
  else if (n === 4) d.mode = r.uint();
  else if (n === 5) d.color = r.uint();
  else if (n === 6) d.size = r.uint();
  else if (n === 7) d.clientMsgId = r.string();
  else if (n === 8) d.merged = r.uint();
  else return false;
  return true;
};

const readGift = (r: Reader, n: number, g: Gift): boolean => {
  if (n === 1) g.id = r.string();
  else if (n === 2) g.user = user(r);
  else if (n === 3) g.giftId = r.string();
  else if (n === 4) g.name = r.string();
  else if (n === 5) g.count = r.uint();
  else if (n === 6) g.priceCents = r.uint();
  else if (n === 7) g.combo = r.uint();
  else if (n === 8) g.comboId = r.string();
  else if (n === 9) g.imageUrl = r.string();
  else if (n === 10) g.tier = r.uint();
  else return false;
  return true;
};

const readSuperChat = (r: Reader, n: number, s: SuperChat): boolean => {
  if (n === 1) s.id = r.string();
  else if (n === 2) s.user = user(r);
  else if (n === 3) s.text = r.string();
  else if (n === 4) s.priceCents = r.uint();
  else if (n === 5) s.pinSeconds = r.uint();
  else if (n === 6) s.color = r.uint();
  else return false;
  return true;
};

const readLeaderboardEntry = (r: Reader, n: number, e: LeaderboardEntry): boolean => {
  if (n === 1) e.user = user(r);
  else if (n === 2) e.totalCents = r.uint();
  else if (n === 30) e.gifts = r.uint();
  else return false;
  return true;
};

const readLeaderboard = (r: Reader, n: number, b: Leaderboard): boolean => {
  if (n === 1) b.entries.push(fields(r, r.end(), { user: undefined, totalCents: 0, gifts: 0 }, readLeaderboardEntry));
  else if (n === 30) b.totalCents = r.uint();
  else if (n === 31) b.totalGifts = r.uint();
  else return false;
  return true;
};

const readPin = (r: Reader, n: number, p: Pin): boolean => {
  if (n === 1) p.danmakuId = r.string();
  else if (n === 2) p.text = r.string();
  else if (n === 3) p.seconds = r.uint();
  else return false;
  return true;
};

/** Messages of one string field 1 (Retract, RoomClose) or of numbers only. */
const readString1 = (r: Reader, n: number, o: { s: string }): boolean => (n === 1 ? ((o.s = r.string()), true) : false);
const readUints = (r: Reader, n: number, o: number[]): boolean => ((o[n] = r.uint()), true);

function readEventBody(r: Reader, e: WireEvent, kind: EventKind): void {
  const end = r.end();
  switch (kind) {
    case 'danmaku':
      e.danmaku = fields(
        r,
        end,
        { id: '', user: undefined, text: '', mode: 0, color: 0, size: 0, clientMsgId: '', merged: 0 },
        readDanmaku,
      );
      return;
    case 'gift':
      e.gift = fields(
        r,
        end,
        { id: '', user: undefined, giftId: '', name: '', count: 0, priceCents: 0, combo: 0, comboId: '', imageUrl: '', tier: 0 },
        readGift,
      );
      return;
    case 'superChat':
      e.superChat = fields(r, end, { id: '', user: undefined, text: '', priceCents: 0, pinSeconds: 0, color: 0 }, readSuperChat);
      return;
    case 'pin':
      e.pin = fields(r, end, { danmakuId: '', text: '', seconds: 0 }, readPin);
      return;
    case 'notice': {
      const o = { text: '', level: '' };
      e.notice = fields(r, end, o, (r, n, o) =>
        n === 1 ? ((o.text = r.string()), true) : n === 2 ? ((o.level = r.string()), true) : false,
      );
      return;
    }
    case 'retract':
      e.retract = { danmakuId: fields(r, end, { s: '' }, readString1).s };
      return;
    case 'superChatRemoved':
      e.superChatRemoved = { id: fields(r, end, { s: '' }, readString1).s };
      return;
    case 'roomClose':
      e.roomClose = { reason: fields(r, end, { s: '' }, readString1).s };
      return;
    case 'likes': {
      const v = fields(r, end, [], readUints);
      e.likes = { total: v[1] ?? 0, delta: v[2] ?? 0 };
      return;
    }
    case 'online':
      e.online = { count: fields(r, end, [], readUints)[1] ?? 0 };
      return;
    case 'roomMode': {
      const v = fields(r, end, [], readUints);
      e.roomMode = { danmakuOff: v[1] === 1, membersOnly: v[2] === 1, emoteOnly: v[3] === 1 };
      return;
    }
    case 'slowMode': {
      const v = fields(r, end, [], readUints);
      e.slowMode = { seconds: v[1] ?? 0, automatic: v[2] === 1 };
      return;
    }
    case 'leaderboard':
      e.leaderboard = fields(r, end, { entries: [], totalCents: 0, totalGifts: 0 }, readLeaderboard);
      return;
    default:
      r.pos = end; // a kind the widget does not render
  }
}

const readEvent = (r: Reader, n: number, e: WireEvent): boolean => {
  if (n === 1) e.seq = r.uint();
  else if (n === 2) e.room = r.string();
  else if (n === 3) e.tsMs = r.uint();
  else {
    const kind = eventKinds[n];
    if (kind === undefined) return false;
    e.kind = kind;
    readEventBody(r, e, kind);
  }
  return true;
};

const readBatch = (r: Reader, n: number, b: Batch): boolean => {
  if (n === 1) b.events.push(fields(r, r.end(), { seq: 0, room: '', tsMs: 0, kind: undefined } as WireEvent, readEvent));
  else if (n === 2) b.room = r.string();
  else if (n === 3) b.skipped = r.uint();
  else if (n === 4) b.skipReason = r.uint();
  else if (n === 5) b.history = r.uint() !== 0;
  else return false;
  return true;
};

const readWelcome = (r: Reader, n: number, w: Welcome): boolean => {
  if (n === 1) w.room = r.string();
  else if (n === 2) w.userId = r.string();
  else if (n === 3) w.name = r.string();
  else if (n === 4) w.role = r.uint();
  else if (n === 5) w.seq = r.uint();
  else if (n === 6) w.recovered = r.uint() !== 0;
  else if (n === 7) w.serverTsMs = r.uint();
  else if (n === 8) {
    const v = fields(r, r.end(), [], readUints);
    w.limits = { maxTextLength: v[1] ?? 0, danmakuPerSecond: v[2] ?? 0, danmakuBurst: v[3] ?? 0, maxFrameBytes: v[4] ?? 0 };
  } else if (n === 9) w.sessionId = r.string();
  else if (n === 10) w.edgeId = r.string();
  else return false;
  return true;
};

const readError = (r: Reader, n: number, e: WireErrorFrame): boolean => {
  if (n === 1) e.code = r.uint();
  else if (n === 2) e.message = r.string();
  else if (n === 3) e.clientMsgId = r.string();
  else if (n === 4) e.retryAfterMs = r.uint();
  else return false;
  return true;
};

const readServerFrame = (r: Reader, n: number, f: ServerFrame): boolean => {
  if (n === 1) {
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
    };
    f.welcome = fields(r, r.end(), w, readWelcome);
  } else if (n === 2) f.batch = fields(r, r.end(), { events: [], room: '', skipped: 0, skipReason: 0, history: false }, readBatch);
  else if (n === 3) f.error = fields(r, r.end(), { code: 0, message: '', clientMsgId: '', retryAfterMs: 0 }, readError);
  else if (n === 4) {
    const v = fields(r, r.end(), [], readUints);
    f.pong = { clientTsMs: v[1] ?? 0, serverTsMs: v[2] ?? 0 };
  } else if (n === 5) {
    const a = { clientMsgId: '', seq: 0 };
    f.ack = fields(r, r.end(), a, (r, n, a) =>
      n === 1 ? ((a.clientMsgId = r.string()), true) : n === 2 ? ((a.seq = r.uint()), true) : false,
    );
  } else return false;
  return true;
};

/** Decodes one binary ServerFrame. Throws `WireError` for malformed bytes. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const r = new Reader(bytes);
  try {
    return fields(r, bytes.length, {}, readServerFrame);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('malformed frame', { cause: err });
  }
}

// ------------------------------------------------------------------ writer

const utf8Out = new TextEncoder();

class Writer {
  readonly bytes: number[] = [];
  uint(field: number, n: number): this {
    if (n === 0) return this;
    this.varint(field << 3);
    return this.varint(n);
  }
  varint(n: number): this {
    while (n >= 0x80) {
      this.bytes.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
    return this;
  }
  lenDelim(field: number, data: ArrayLike<number>): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i] as number);
    return this;
  }
  string(field: number, s: string): this {
    return s === '' ? this : this.lenDelim(field, utf8Out.encode(s));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** What `encodeClientFrame` can send: exactly one member. */
export interface ClientFrame {
  sendDanmaku?: { text: string; mode?: number; color?: number; clientMsgId?: string; size?: number };
  like?: { count: number };
  resume?: { room: string; lastSeq: number };
  ping?: { clientTsMs: number };
}

/** Encodes a ClientFrame (send_danmaku, like, resume or ping). */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  const w = new Writer();
  if (frame.sendDanmaku) {
    const d = frame.sendDanmaku;
    const inner = new Writer()
      .string(1, d.text)
      .uint(2, d.mode ?? 0)
      .uint(3, d.color ?? 0)
      .string(4, d.clientMsgId ?? '')
      .uint(5, d.size ?? 0);
    w.lenDelim(1, inner.bytes);
  } else if (frame.like) {
    w.lenDelim(2, new Writer().uint(1, frame.like.count).bytes);
  } else if (frame.resume) {
    w.lenDelim(4, new Writer().string(1, frame.resume.room).uint(2, frame.resume.lastSeq).bytes);
  } else if (frame.ping) {
    w.lenDelim(5, new Writer().uint(1, frame.ping.clientTsMs).bytes);
  }
  return w.finish();
}
