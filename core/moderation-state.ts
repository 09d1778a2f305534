/**
 * A room's moderation state as its control events make it: who is timed out
 * until when, who is banned, slow mode, room modes, the pin, closed or open.
 * `applyControl` is the one function that changes it, used by core (which
 * stores the state) and by tests; edges read the stored state.
 */
import { v1 } from '../proto/index.js';

/** The moderation state of one room, in the shape the edge checks on every danmaku. */
export interface RoomModeration {
  room: string;
  /** The last control event applied. */
  seq: number;
  /** User id -> timed out until (ms since the epoch). */
  mutes: Map<string, number>;
  bans: Set<string>;
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
    bans: new Set(),
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

/** Event kinds that change the stored state. */
const stateKinds = new Set(['mute', 'unmute', 'ban', 'unban', 'slowMode', 'roomMode', 'pin', 'roomClose']);

/** True when `event` changes a room's moderation state. */
export function changesState(event: v1.Event): boolean {
  return event.kind !== undefined && stateKinds.has(event.kind);
}

/**
 * Applies one sequenced control event. Returns false (and changes nothing)
 * for events already applied (seq not newer) or kinds without state.
 */
export function applyControl(state: RoomModeration, event: v1.Event): boolean {
  const seq = Number(event.seq);
  if (seq !== 0 && seq <= state.seq) return false;
  if (!changesState(event)) return false;
  const ts = Number(event.tsMs);
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
    case 'ban':
      state.bans.add((event.ban as v1.Ban).userId);
      break;
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
  return true;
}

/** Drops time-outs and the pin once they have run out. */
export function prune(state: RoomModeration, now: number): void {
  for (const [user, until] of state.mutes) if (until <= now) state.mutes.delete(user);
  if (state.pin && state.pinUntilMs <= now) {
    state.pin = undefined;
    state.pinUntilMs = 0;
  }
}

/** The stored form. */
export function encodeModeration(state: RoomModeration): Uint8Array {
  const mutes: Record<string, number> = {};
  for (const [user, until] of state.mutes) mutes[user] = until;
  return v1.ModerationState.encode({
    room: state.room,
    seq: state.seq,
    mutes,
    bans: [...state.bans],
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

/** Reads the stored form. Throws on undecodable bytes. */
export function decodeModeration(bytes: Uint8Array): RoomModeration {
  const s = v1.ModerationState.decode(bytes);
  return {
    room: s.room,
    seq: Number(s.seq),
    mutes: new Map(Object.entries(s.mutes).map(([k, v]) => [k, Number(v)])),
    bans: new Set(s.bans),
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

/** The state as JSON for the HTTP API (expired entries left out). */
export function moderationJson(state: RoomModeration, now: number): Record<string, unknown> {
  return {
    room: state.room,
    seq: state.seq,
    timeouts: [...state.mutes].filter(([, until]) => until > now).map(([user_id, until]) => ({ user_id, until_ms: until })),
    bans: [...state.bans],
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
