/**
 * Generators of what a visitor can put on a socket, for the frame fuzzer:
 * every `ClientFrame` kind with arbitrary fields, built with the real encoder
 * so the server's decoder sees well-formed frames as well as broken ones;
 * byte mutations of those (bit flips, truncation, insertion, deletion,
 * duplicated fields, length prefixes made huge); random bytes; text frames.
 *
 * Generated values are plain data (printable when fast-check reports a
 * counterexample); `materialize` turns one into bytes for a given socket,
 * filling in the placeholders (`@self`, `@viewer`, `@room`, ...) that name
 * the run's room and users.
 */
import fc from 'fast-check';
import { v1 } from '../../proto/index.js';
import { testSecret } from '../helpers/server.js';
import { signJwt } from './support.js';

/** What `materialize` fills placeholders with. */
export interface FrameContext {
  room: string;
  /** The user id of the socket sending the frame. */
  self: string;
  /** User ids of the run's viewer and moderator (targets of moderation frames). */
  viewer: string;
  moderator: string;
  /** The last receipt this socket sent (for replays). */
  lastReceipt?: string;
  /** The id of the last danmaku the word filter held that this socket was told of (moderators are). */
  lastHeldId?: string;
}

/** A word the fuzz servers' global filter holds for a moderator (see frames.test.ts). */
export const heldWord = 'fuzzhold';

// ---------------------------------------------------------------- text

/** Characters the danmaku validator has an opinion on, and some it should not. */
const oddText = [
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  '\u2800',
  '\u3164',
  '\u115f',
  '\u{1D159}',
  '\ufe0f',
  '\u202e',
  '\u202a',
  '\u2066',
  '\u2069',
  '\u2028',
  '\u2029',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\n',
  '\r',
  '\t',
  ' ',
  '\u00a0',
  '\u3000',
  '\u0301',
  '\u0301\u0301\u0301\u0301',
  '\u0e49\u0e49',
  '\u{E0041}',
  '\u{E007F}',
  '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
  '\u{1F3F4}\u{E0067}\u{E007F}',
  '😀',
  '👨\u200d👩\u200d👧',
  '🇺🇸',
  '🏳️\u200d🌈',
  '\u{10FFFF}',
  '\uE000',
  '\ud800',
  '\udfff',
  '\udbff\udbff',
  'é',
  'e\u0301',
  '漢字',
  'ש',
  'ا',
  '233',
  '[doge]',
  '<script>',
  '%00',
  '\\u0000',
];

/** Danmaku text: ordinary, odd, invisible, huge or empty. */
export const textArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 30 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 2 },
  {
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...oddText), fc.string({ maxLength: 3 })), { maxLength: 12 }).map((a) => a.join('')),
    weight: 4,
  },
  { arbitrary: fc.constantFrom('', ' ', '\u200b\u200b', '\u3000\u3164'), weight: 1 },
  { arbitrary: fc.stringMatching(/^[a-z ]{0,10}$/).map((t) => `${t} ${heldWord}`), weight: 3 },
  {
    arbitrary: fc.tuple(fc.constantFrom('x', '😀', '\u0301', '漢'), fc.integer({ min: 90, max: 2_000 })).map(([c, n]) => c.repeat(n)),
    weight: 1,
  },
);

// ---------------------------------------------------------------- frame specs

/** A uint32 field: small, boundary, or anything (negative and larger values wrap in the encoder). */
const u32 = fc.oneof(fc.nat(10), fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff, 0xffffff, 0x1000000), fc.integer());
/** A uint64 field (numbers: Long is off in this codebase); past 2^53 they lose precision as the client would send them. */
const u64 = fc.oneof(
  fc.nat(100),
  fc.constantFrom(2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64 - 1, 1e30, -1, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
const idArb = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.constantFrom('', 'x'.repeat(129), 'x'.repeat(33), '\u0000'),
  fc.string({ unit: 'grapheme', maxLength: 5 }),
);
/** A moderation target: one of the run's users, or anyone. */
const targetArb = fc.oneof(fc.constantFrom('@viewer', '@moderator', '@self'), idArb);

/** The fields of a `Moderate` frame's action, one of each kind. */
const actionArb = fc.oneof(
  fc.record({ retract: fc.record({ danmakuId: idArb }) }),
  fc.record({ mute: fc.record({ userId: targetArb, seconds: u32 }) }),
  fc.record({ unmute: fc.record({ userId: targetArb }) }),
  fc.record({ ban: fc.record({ userId: targetArb }) }),
  fc.record({ unban: fc.record({ userId: targetArb }) }),
  fc.record({ slowMode: fc.record({ seconds: u32 }) }),
  fc.record({ pin: fc.record({ danmakuId: idArb, text: textArb, seconds: u32 }, { requiredKeys: [] }) }),
  fc.record({ notice: fc.record({ text: textArb }) }),
  fc.record({
    roomMode: fc.record({ danmakuOff: fc.boolean(), membersOnly: fc.boolean(), emoteOnly: fc.boolean() }, { requiredKeys: [] }),
  }),
  fc.record({ roomClose: fc.record({ reason: fc.string({ maxLength: 20 }), reopen: fc.boolean() }, { requiredKeys: [] }) }),
  // A decision on the last held danmaku, three times over: it must be held and decided in the same run.
  ...Array.from({ length: 3 }, () => fc.record({ hold: fc.record({ holdId: fc.constant('@held'), approve: fc.boolean() }) })),
  fc.record({ hold: fc.record({ holdId: idArb, approve: fc.boolean() }, { requiredKeys: [] }) }),
  fc.record({ removeSuperChat: fc.record({ id: idArb }, { requiredKeys: [] }) }),
  fc.constant({}),
);

/**
 * A gift receipt: garbage, the socket's previous receipt again (a replay), or
 * a receipt for a gift or a super chat signed with the right or a wrong
 * secret, for this or another room and user, with a few claims changed.
 */
export type ReceiptSpec =
  | { garbage: string }
  | { replay: true }
  | {
      secret: 'right' | 'wrong';
      alg: string;
      room: string;
      sub: string;
      base: 'gift' | 'superChat';
      jti: string;
      tweaks: Array<[string, unknown]>;
      expIn: number;
    };

const claimTweak = fc.oneof(
  fc.tuple(fc.constant('aud'), fc.constantFrom<unknown>('barrage', ['barrage:receipt', 'x'], 5, undefined)),
  fc.tuple(fc.constant('jti'), fc.constantFrom<unknown>('', 'x'.repeat(200), 7, undefined)),
  fc.tuple(fc.constant('gift'), fc.constantFrom<unknown>('heart', 'castle', 'no-such-gift', 5, null)),
  fc.tuple(fc.constant('count'), fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constantFrom<unknown>(1e9, 1.5, '3', 2 ** 53))),
  fc.tuple(fc.constant('text'), fc.oneof(textArb, fc.constant<unknown>(5))),
  fc.tuple(fc.constant('price_cents'), fc.oneof(fc.nat(100_000), fc.constantFrom<unknown>(-1, 1.5, 1e18, '100'))),
  fc.tuple(fc.constant('name'), fc.oneof(fc.string({ maxLength: 10 }), fc.constant<unknown>('n'.repeat(500)))),
  fc.tuple(fc.constant('exp'), fc.constantFrom<unknown>('soon', null, 1e300)),
);

/** Most receipts keep their claims; some have one or two changed. */
const tweaksArb: fc.Arbitrary<Array<[string, unknown]>> = fc.oneof(
  { arbitrary: fc.constant<Array<[string, unknown]>>([]), weight: 2 },
  { arbitrary: fc.array<[string, unknown]>(claimTweak, { minLength: 1, maxLength: 2 }), weight: 1 },
);

/** `usual` five times in six, else one of `others`: most receipts should pass so the paths after the checks run too. */
const mostly = <T>(usual: T, ...others: T[]): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: fc.constant(usual), weight: 5 }, { arbitrary: fc.constantFrom(...others), weight: 1 });

const receiptArb: fc.Arbitrary<ReceiptSpec> = fc.oneof(
  {
    arbitrary: fc.record({ garbage: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'a.b.c', 'x'.repeat(5_000), '..')) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ replay: true as const }), weight: 1 },
  {
    arbitrary: fc.record({
      secret: mostly<'right' | 'wrong'>('right', 'wrong'),
      alg: mostly('HS256', 'none', 'HS512'),
      room: mostly('@room', 'other-room', ''),
      sub: mostly('@self', '@viewer', 'someone'),
      base: fc.constantFrom<'gift' | 'superChat'>('gift', 'superChat'),
      jti: fc.uuid(),
      tweaks: tweaksArb,
      expIn: fc.oneof(
        { arbitrary: fc.integer({ min: 10, max: 300 }), weight: 4 },
        { arbitrary: fc.integer({ min: -100, max: 700 }), weight: 1 },
        { arbitrary: fc.constantFrom(-1e10, 1e10, 86_400 * 2), weight: 1 },
      ),
    }),
    weight: 4,
  },
);

/** One `ClientFrame`, as plain data with placeholders. */
export type FrameSpec =
  | { sendDanmaku: { text: string; mode: number; color: number; size: number; clientMsgId: string } }
  | { like: { count: number } }
  | { sendGift: { receipt: ReceiptSpec; clientMsgId: string } }
  | { resume: { room: string; lastSeq: number } }
  | { ping: { clientTsMs: number } }
  | { moderate: { action: Record<string, unknown>; reason: string } }
  | { grabRedPacket: { id: string } }
  | { vote: { pollId: string; option: number } }
  | { joinLottery: { id: string } }
  | { startPoll: { question: string; options: string[]; durationS: number; hasCorrect: boolean; correct: number } }
  | { startLottery: { prize: string; winners: number; durationS: number; entry: number; keyword: string; giftId: string } }
  | { report: { danmakuId: string; reason: number; detail: string; clientMsgId: string } };

/** Any `ClientFrame` kind, weighted towards danmaku and moderation (the kinds with the most checks). */
export const frameSpecArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  {
    arbitrary: fc.record({
      sendDanmaku: fc.record({
        text: textArb,
        // Mostly valid, so the text reaches the policies and the word filter; else anything.
        mode: fc.oneof({ arbitrary: fc.constantFrom(0, 1, 2), weight: 5 }, { arbitrary: u32, weight: 1 }),
        color: fc.oneof({ arbitrary: fc.nat(0xffffff), weight: 5 }, { arbitrary: u32, weight: 1 }),
        size: fc.oneof({ arbitrary: fc.nat(2), weight: 5 }, { arbitrary: u32, weight: 1 }),
        clientMsgId: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('c'.repeat(65))),
      }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ like: fc.record({ count: u32 }) }), weight: 1 },
  { arbitrary: fc.record({ sendGift: fc.record({ receipt: receiptArb, clientMsgId: fc.string({ maxLength: 70 }) }) }), weight: 2 },
  {
    arbitrary: fc.record({
      resume: fc.record({ room: fc.oneof(fc.constantFrom('@room', '', 'elsewhere'), fc.string({ maxLength: 70 })), lastSeq: u64 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ ping: fc.record({ clientTsMs: u64 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      moderate: fc.record({ action: actionArb, reason: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('r'.repeat(201))) }),
    }),
    weight: 4,
  },
  // The frames added with plays (issue 15) and reports (issue 17): unknown ids, out-of-range options, junk polls.
  { arbitrary: fc.record({ grabRedPacket: fc.record({ id: idArb }) }), weight: 1 },
  { arbitrary: fc.record({ vote: fc.record({ pollId: idArb, option: u32 }) }), weight: 1 },
  { arbitrary: fc.record({ joinLottery: fc.record({ id: idArb }) }), weight: 1 },
  {
    arbitrary: fc.record({
      startPoll: fc.record({
        question: textArb,
        options: fc.array(fc.string({ maxLength: 30 }), { maxLength: 14 }),
        durationS: u32,
        hasCorrect: fc.boolean(),
        correct: u32,
      }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      startLottery: fc.record({
        prize: textArb,
        winners: u32,
        durationS: u32,
        entry: u32,
        keyword: fc.string({ maxLength: 40 }),
        giftId: fc.oneof(fc.constant('rocket'), fc.string({ maxLength: 10 })),
      }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      report: fc.record({
        danmakuId: idArb,
        reason: u32,
        detail: fc.oneof(textArb, fc.constant('d'.repeat(400))),
        clientMsgId: fc.string({ maxLength: 70 }),
      }),
    }),
    weight: 1,
  },
);

// ---------------------------------------------------------------- mutations

/** A byte-level change to an encoded frame. */
export type Mutation =
  | { flip: number; bit: number }
  | { truncate: number }
  | { insert: number; bytes: number[] }
  | { delete: number; length: number }
  | { set: number; value: number }
  | { duplicate: true }
  | { hugeLength: number; varint: number[] };

/** Varints a length prefix can be made into: 2^31-1, 2^32-1, 2^35, 2^64-1 (ten bytes), and an overlong unterminated one. */
const hugeVarints: number[][] = [
  [0xff, 0xff, 0xff, 0xff, 0x07],
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
];

/** One byte-level change of any kind. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ flip: fc.nat(), bit: fc.nat(7) }),
  fc.record({ truncate: fc.nat() }),
  fc.record({ insert: fc.nat(), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }),
  fc.record({ delete: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ set: fc.nat(), value: fc.nat(255) }),
  fc.record({ duplicate: fc.constant(true as const) }),
  fc.record({ hugeLength: fc.nat(), varint: fc.constantFrom(...hugeVarints) }),
);

/** Positions of every length prefix (of length-delimited fields) in a protobuf message, nested ones included. */
export function lengthPrefixes(
  bytes: Uint8Array,
  from = 0,
  to = bytes.length,
  depth = 0,
  out: Array<[number, number]> = [],
): Array<[number, number]> {
  let pos = from;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= to) return undefined;
      const b = bytes[pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (pos < to) {
    const tag = varint();
    if (tag === undefined) return out;
    switch (tag & 7) {
      case 0:
        if (varint() === undefined) return out;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const at = pos;
        const len = varint();
        if (len === undefined || pos + len > to) return out;
        out.push([at, pos - at]);
        if (depth < 4) lengthPrefixes(bytes, pos, pos + len, depth + 1, out);
        pos += len;
        break;
      }
      default:
        return out;
    }
  }
  return out;
}

/** Applies one mutation; positions wrap around the frame's length. */
export function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const a = [...bytes];
  const at = (n: number, extra = 0): number => n % (a.length + extra || 1);
  if ('flip' in m) {
    if (a.length > 0) a[at(m.flip)] = (a[at(m.flip)] as number) ^ (1 << m.bit);
  } else if ('truncate' in m) a.length = at(m.truncate);
  else if ('insert' in m) a.splice(at(m.insert, 1), 0, ...m.bytes);
  else if ('delete' in m) a.splice(at(m.delete), m.length);
  else if ('set' in m) {
    if (a.length > 0) a[at(m.set)] = m.value;
  } else if ('duplicate' in m) a.push(...bytes);
  else {
    const prefixes = lengthPrefixes(bytes);
    const chosen = prefixes[m.hugeLength % (prefixes.length || 1)];
    if (chosen) a.splice(chosen[0], chosen[1], ...m.varint);
    else a.splice(at(m.hugeLength, 1), 0, 0x0a, ...m.varint);
  }
  return Uint8Array.from(a);
}

// ---------------------------------------------------------------- what goes on the socket

/** One WebSocket message: a frame (mutated or not), several frames' bytes concatenated, random bytes, or text. */
export type WireSpec = { frame: FrameSpec; mutations: Mutation[] } | { concat: FrameSpec[] } | { bytes: Uint8Array } | { text: string };

/** Mostly encoder-made frames (whole or mutated), some concatenations, random bytes and text. */
export const wireSpecArb: fc.Arbitrary<WireSpec> = fc.oneof(
  { arbitrary: fc.record({ frame: frameSpecArb, mutations: fc.constant<Mutation[]>([]) }), weight: 6 },
  { arbitrary: fc.record({ frame: frameSpecArb, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }), weight: 4 },
  { arbitrary: fc.record({ concat: fc.array(frameSpecArb, { minLength: 2, maxLength: 3 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      bytes: fc.oneof(
        { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 4 },
        // Over the frame limit (4 KiB: an error), and over four times it (a 1009 close).
        { arbitrary: fc.integer({ min: 4_000, max: 20_000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), weight: 1 },
      ),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ text: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('{"send_danmaku":{"text":"hi"}}')) }), weight: 1 },
);

const wrongSecret = 'wrong-secret-wrong-secret-wrong-secret-42';

function fill(value: string, ctx: FrameContext): string {
  switch (value) {
    case '@room':
      return ctx.room;
    case '@self':
      return ctx.self;
    case '@viewer':
      return ctx.viewer;
    case '@held':
      return ctx.lastHeldId ?? '';
    case '@moderator':
      return ctx.moderator;
    default:
      return value;
  }
}

function receipt(spec: ReceiptSpec, ctx: FrameContext): string {
  if ('garbage' in spec) return spec.garbage;
  if ('replay' in spec) return ctx.lastReceipt ?? '';
  const claims: Record<string, unknown> = {
    aud: 'barrage:receipt',
    jti: spec.jti,
    room: fill(spec.room, ctx),
    sub: fill(spec.sub, ctx),
    exp: Math.floor(Date.now() / 1000) + spec.expIn,
    ...(spec.base === 'gift' ? { gift: 'rocket', count: 2 } : { text: 'thanks!', price_cents: 2_000 }),
  };
  for (const [name, value] of spec.tweaks) claims[name] = value;
  const token = signJwt(spec.secret === 'right' ? testSecret : wrongSecret, { alg: spec.alg, typ: 'JWT' }, claims);
  ctx.lastReceipt = spec.alg === 'none' ? token.slice(0, token.lastIndexOf('.') + 1) : token;
  return ctx.lastReceipt;
}

/** The `IClientFrame` of a spec, placeholders filled. */
export function clientFrame(spec: FrameSpec, ctx: FrameContext): v1.IClientFrame {
  if ('sendGift' in spec) return { sendGift: { receipt: receipt(spec.sendGift.receipt, ctx), clientMsgId: spec.sendGift.clientMsgId } };
  if ('resume' in spec) return { resume: { room: fill(spec.resume.room, ctx), lastSeq: spec.resume.lastSeq } };
  if ('moderate' in spec) {
    const action: Record<string, unknown> = {};
    for (const [name, fields] of Object.entries(spec.moderate.action)) {
      const filled: Record<string, unknown> = { ...(fields as Record<string, unknown>) };
      if (typeof filled['userId'] === 'string') filled['userId'] = fill(filled['userId'], ctx);
      if (typeof filled['holdId'] === 'string') filled['holdId'] = fill(filled['holdId'], ctx);
      action[name] = filled;
    }
    return { moderate: { ...action, reason: spec.moderate.reason } };
  }
  return spec;
}

/** The WebSocket message of a spec: bytes (binary) or a string (text). */
export function materialize(spec: WireSpec, ctx: FrameContext): Uint8Array | string {
  if ('text' in spec) return spec.text;
  if ('bytes' in spec) return spec.bytes;
  if ('concat' in spec) {
    const parts = spec.concat.map((f) => v1.ClientFrame.encode(clientFrame(f, ctx)).finish());
    return Uint8Array.from(parts.flatMap((p) => [...p]));
  }
  let bytes: Uint8Array = v1.ClientFrame.encode(clientFrame(spec.frame, ctx)).finish();
  for (const m of spec.mutations) bytes = mutate(bytes, m);
  return bytes;
}
