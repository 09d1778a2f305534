/**
 * A room's moderation state as its control events make it: who is timed out
 * until when, who is banned until when, slow mode, room modes, the pin,
 * closed or open. `applyControl` is the one function that changes it, used by
 * core (which stores the state) and by tests; edges read the stored state.
 *
 * The state is bounded: bans and time-outs both end (a ban lasts
 * `BARRAGE_BAN_DEFAULT_SECONDS` unless it says otherwise, at most
 * `maxBanSeconds`), and a room holds at most `maxEntries` active ones
 * together, so its encoded form stays well under NATS's 1 MiB payload limit
 * (5,000 entries of 128-character user ids encode to about 0.7 MiB).
 */
import $protobuf from 'protobufjs/minimal.js';
import { v1 } from '../proto/index.js';

/** Longest ban: one year (a ban ends, so the state it sits in stays bounded). */
export const maxBanSeconds = 365 * 86_400;
/** Default ban length when an action gives none: 30 days. */
export const defaultBanSeconds = 30 * 86_400;
/**
 * Most active bans plus time-outs a room may hold, by default and at most:
 * 5,000 entries of the longest user ids (128 characters) encode to about
 * 700 KB, well under NATS's 1 MiB payload limit; 10,000 would not fit.
 */
export const maxBansPerRoomLimit = 5_000;

/** What bounds a room's state; the same on every core, so every core makes the same state. */
export interface StateLimits {
  /** Active bans plus time-outs a room may hold. */
  maxEntries: number;
  /** Length of a ban whose event says 0 (events from before bans had a length). */
  banDefaultSeconds: number;
}

/** The limits when nothing is configured. */
export const defaultStateLimits: StateLimits = { maxEntries: maxBansPerRoomLimit, banDefaultSeconds: defaultBanSeconds };

/** The moderation state of one room, in the shape the edge checks on every danmaku. */
export interface RoomModeration {
  room: string;
  /** The last control event applied. */
  seq: number;
  /** User id -> timed out until (ms since the epoch). */
  mutes: Map<string, number>;
  /** User id -> banned until (ms since the epoch). */
  bans: Map<string, number>;
  slowSeconds: number;
  slowAutomatic: boolean;
  danmakuOff: boolean;
  membersOnly: boolean;
  emoteOnly: boolean;
  pin: v1.IPin | undefined;
  pinUntilMs: number;
  closed: boolean;
  closeReason: string;
}

/** A room nobody has moderated. */
export function emptyModeration(room: string): RoomModeration {
  return {
    room,
    seq: 0,
    mutes: new Map(),
    bans: new Map(),
    slowSeconds: 0,
    slowAutomatic: false,
    danmakuOff: false,
    membersOnly: false,
    emoteOnly: false,
    pin: undefined,
    pinUntilMs: 0,
    closed: false,
    closeReason: '',
  };
}

/** A copy sharing nothing that either side changes (what a store hands a watcher). */
export function cloneModeration(state: RoomModeration): RoomModeration {
  return { ...state, mutes: new Map(state.mutes), bans: new Map(state.bans), pin: state.pin ? { ...state.pin } : undefined };
}

/** Event kinds that change the stored state. */
const stateKinds = new Set(['mute', 'unmute', 'ban', 'unban', 'slowMode', 'roomMode', 'pin', 'roomClose']);

/** True when `event` changes a room's moderation state. */
export function changesState(event: v1.Event): boolean {
  return event.kind !== undefined && stateKinds.has(event.kind);
}

/** Active bans plus time-outs (entries that ran out but are not pruned yet count too). */
export function entryCount(state: RoomModeration): number {
  return state.bans.size + state.mutes.size;
}

/** The user a ban or time-out adds, when it adds one. */
function addedUser(event: v1.Event): string | undefined {
  if (event.kind === 'ban') return (event.ban as v1.Ban).userId;
  if (event.kind === 'mute') return (event.mute as v1.Mute).userId;
  return undefined;
}

/**
 * True when `userId` would be a new entry (a ban or a time-out) past the
 * room's limit. Expired entries are pruned first (at `now`), only when the
 * room is full, so the usual case costs nothing.
 */
export function isOverLimit(state: RoomModeration, kind: 'ban' | 'mute', userId: string, maxEntries: number, now: number): boolean {
  const map = kind === 'ban' ? state.bans : state.mutes;
  if (map.has(userId) || entryCount(state) < maxEntries) return false;
  prune(state, now);
  return !map.has(userId) && entryCount(state) >= maxEntries;
}

/** What `applyControl` did. */
export type ApplyOutcome = 'applied' | 'ignored' | 'limit';

/**
 * Applies one sequenced control event. `ignored` (nothing changed) for events
 * already applied (seq not newer) or kinds without state; `limit` (nothing
 * changed but seq) for a ban or time-out of a new user past
 * `limits.maxEntries`. The event's own time is the clock, so every core
 * applying the same events makes the same state.
 */
export function applyControl(state: RoomModeration, event: v1.Event, limits: StateLimits = defaultStateLimits): ApplyOutcome {
  const seq = Number(event.seq);
  if (seq !== 0 && seq <= state.seq) return 'ignored';
  if (!changesState(event)) return 'ignored';
  const ts = Number(event.tsMs);
  const user = addedUser(event);
  if (user !== undefined && isOverLimit(state, event.kind as 'ban' | 'mute', user, limits.maxEntries, ts)) {
    state.seq = seq;
    return 'limit';
  }
  state.seq = seq;
  switch (event.kind) {
    case 'mute': {
      const m = event.mute as v1.Mute;
      state.mutes.set(m.userId, ts + m.seconds * 1000);
      break;
    }
    case 'unmute':
      state.mutes.delete((event.unmute as v1.Unmute).userId);
      break;
    case 'ban': {
      const b = event.ban as v1.Ban;
      const seconds = Math.min(b.seconds || limits.banDefaultSeconds, maxBanSeconds);
      state.bans.set(b.userId, ts + seconds * 1000);
      break;
    }
    case 'unban':
      state.bans.delete((event.unban as v1.Unban).userId);
      break;
    case 'slowMode': {
      const s = event.slowMode as v1.SlowMode;
      state.slowSeconds = s.seconds ?? 0;
      state.slowAutomatic = state.slowSeconds > 0 && !!s.automatic;
      break;
    }
    case 'roomMode': {
      const m = event.roomMode as v1.RoomMode;
      state.danmakuOff = !!m.danmakuOff;
      state.membersOnly = !!m.membersOnly;
      state.emoteOnly = !!m.emoteOnly;
      break;
    }
    case 'pin': {
      const p = event.pin as v1.Pin;
      state.pin = p.seconds > 0 ? { danmakuId: p.danmakuId, text: p.text, seconds: p.seconds } : undefined;
      state.pinUntilMs = p.seconds > 0 ? ts + p.seconds * 1000 : 0;
      break;
    }
    case 'roomClose': {
      const c = event.roomClose as v1.RoomClose;
      state.closed = !c.reopen;
      state.closeReason = c.reopen ? '' : (c.reason ?? '');
      break;
    }
  }
  return 'applied';
}

/** Drops time-outs, bans and the pin once they have run out. Returns whether anything was dropped. */
export function prune(state: RoomModeration, now: number): boolean {
  const before = entryCount(state);
  for (const [user, until] of state.mutes) if (until <= now) state.mutes.delete(user);
  for (const [user, until] of state.bans) if (until <= now) state.bans.delete(user);
  let changed = entryCount(state) !== before;
  if (state.pin && state.pinUntilMs <= now) {
    state.pin = undefined;
    state.pinUntilMs = 0;
    changed = true;
  }
  return changed;
}

/** The earliest time something in the state runs out (Infinity when nothing will). */
export function nextExpiry(state: RoomModeration): number {
  let next = state.pin ? state.pinUntilMs : Infinity;
  for (const until of state.mutes.values()) if (until < next) next = until;
  for (const until of state.bans.values()) if (until < next) next = until;
  return next;
}

/**
 * True when the state, at `now`, restricts nobody and shows nothing: no
 * active ban, time-out or pin, no slow mode, no room mode, open. Such a
 * state acts like no state at all, so an edge need not keep it.
 */
export function isDefaultModeration(state: RoomModeration, now: number): boolean {
  if (state.slowSeconds > 0 || state.danmakuOff || state.membersOnly || state.emoteOnly || state.closed) return false;
  if (state.pin && state.pinUntilMs > now) return false;
  for (const until of state.mutes.values()) if (until > now) return false;
  for (const until of state.bans.values()) if (until > now) return false;
  return true;
}

/** The stored form. */
export function encodeModeration(state: RoomModeration): Uint8Array {
  return v1.ModerationState.encode({
    room: state.room,
    seq: state.seq,
    banned: [...state.bans.keys()],
    bannedUntil: [...state.bans.values()],
    muted: [...state.mutes.keys()],
    mutedUntil: [...state.mutes.values()],
    slowSeconds: state.slowSeconds,
    slowAutomatic: state.slowAutomatic,
    danmakuOff: state.danmakuOff,
    membersOnly: state.membersOnly,
    emoteOnly: state.emoteOnly,
    pin: state.pin ?? null,
    pinUntilMs: state.pinUntilMs,
    closed: state.closed,
    closeReason: state.closeReason,
  }).finish();
}

/** Pairs parallel lists into a map (a list cut short by bad bytes pairs what it has). */
function pairs(users: readonly string[], until: readonly number[], into: Map<string, number>): Map<string, number> {
  const n = Math.min(users.length, until.length);
  for (let i = 0; i < n; i++) into.set(users[i] as string, Number(until[i]));
  return into;
}

/**
 * Reads the stored form. Throws on undecodable bytes. States written by older
 * versions are read too: time-outs from the `mutes` map, and bans from the
 * `bans` list, which had no end: each lasts `legacyBanMs` from now (the
 * default ban length); core writes them back with that end at the room's next
 * change.
 */
export function decodeModeration(bytes: Uint8Array, legacyBanMs = defaultBanSeconds * 1000): RoomModeration {
  const s = v1.ModerationState.decode(bytes);
  const bans = new Map<string, number>();
  if (s.bans.length > 0) {
    const until = Date.now() + legacyBanMs;
    for (const user of s.bans) bans.set(user, until);
  }
  const mutes = new Map<string, number>();
  for (const [user, until] of Object.entries(s.mutes)) mutes.set(user, Number(until));
  return {
    room: s.room,
    seq: Number(s.seq),
    mutes: pairs(s.muted, s.mutedUntil, mutes),
    bans: pairs(s.banned, s.bannedUntil, bans),
    slowSeconds: s.slowSeconds,
    slowAutomatic: s.slowAutomatic,
    danmakuOff: s.danmakuOff,
    membersOnly: s.membersOnly,
    emoteOnly: s.emoteOnly,
    pin: s.pin ?? undefined,
    pinUntilMs: Number(s.pinUntilMs),
    closed: s.closed,
    closeReason: s.closeReason,
  };
}

/**
 * The `seq` of a stored state, read without decoding the rest (stores compare
 * it before every write; a full decode would cost as much as the state is
 * long). Field 2 of `ModerationState` in proto/barrage/v1/barrage.proto; the
 * encoder writes it second, so the scan stops after the room id. Throws on
 * undecodable bytes.
 */
export function storedSeq(bytes: Uint8Array): number {
  const seqField = 2;
  const reader = $protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === seqField) return Number(reader.uint64());
    reader.skipType(tag & 7);
  }
  return 0;
}

/** The state as JSON for the HTTP API (expired entries left out). */
export function moderationJson(state: RoomModeration, now: number): Record<string, unknown> {
  const bans = [...state.bans].filter(([, until]) => until > now);
  return {
    room: state.room,
    seq: state.seq,
    timeouts: [...state.mutes].filter(([, until]) => until > now).map(([user_id, until]) => ({ user_id, until_ms: until })),
    bans: bans.map(([user]) => user),
    banned_until: bans.map(([user_id, until]) => ({ user_id, until_ms: until })),
    slow_mode: { seconds: state.slowSeconds, automatic: state.slowAutomatic },
    mode: { danmaku_off: state.danmakuOff, members_only: state.membersOnly, emote_only: state.emoteOnly },
    pin:
      state.pin && state.pinUntilMs > now
        ? { danmaku_id: state.pin.danmakuId ?? '', text: state.pin.text ?? '', until_ms: state.pinUntilMs }
        : null,
    closed: state.closed,
    close_reason: state.closeReason,
  };
}
