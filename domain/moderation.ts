/**
 * Moderation actions, one definition for both ways in: a `Moderate` frame
 * from a moderator's socket and a JSON request from the site's backend. Each
 * action becomes one control `Event` published on the room's ingress subject;
 * core sequences it like any event, so it reaches every edge hosting the room
 * in order, is replayed on resume and lands in the analytics store (the
 * audit log: `actor` and `reason` ride on the event).
 *
 * Settings (`config.moderation`, read by `domain/config.ts`; docs/operations.md
 * lists them): `BARRAGE_EMOTES` (emote-only mode needs some), the automatic
 * slow mode (`BARRAGE_AUTO_SLOW_RATE`, off by default: what is "busy" depends
 * on the site, and a load test must not be slowed by it unasked), the default
 * ban length and the bans a room may hold (bans end, so a room's state cannot
 * grow for good, and stays under NATS's 1 MiB payload), and the largest word
 * filter a PUT may set (every edge compiles it).
 */
import { ErrorCode, v1 } from '../proto/index.js';
import type { RoleName } from './auth.js';
import type { EmoteDef } from './emotes.js';
import { defaultBanSeconds, entryCount, isOverLimit, maxBanSeconds, maxBansPerRoomLimit } from './moderation-state.js';
import type { RoomModeration, StateLimits } from './moderation-state.js';

/** Longest time-out: 14 days. */
export const maxTimeoutSeconds = 14 * 86_400;
/** Longest slow-mode interval. */
export const maxSlowSeconds = 3_600;
/** Longest pin. */
export const maxPinSeconds = 86_400;
const maxUserId = 128;
const maxReason = 200;
const maxNotice = 500;
const maxPinText = 200;

/** Moderation settings of a deployment. */
export interface ModerationOptions {
  /** Emote codes the site defines (`BARRAGE_EMOTES` and the catalogue's); emote-only mode needs at least one. */
  emotes: readonly string[];
  /** The emote catalogue (`BARRAGE_EMOTES_FILE`): codes with images, for `GET /api/v1/emotes`. */
  emoteCatalogue?: readonly EmoteDef[];
  /** Danmaku per second that turn automatic slow mode on (0 = never). */
  autoSlowRate: number;
  autoSlowSeconds: number;
  autoSlowCalmMs: number;
  /** Length of a ban that gives none, in seconds (default `defaultBanSeconds`, 30 days). */
  banDefaultSeconds?: number;
  /** Active bans plus time-outs per room (default and most `maxBansPerRoomLimit`, 5,000). */
  maxBansPerRoom?: number;
  /** Most terms of one word filter (default `defaultFilterMaxTerms`). */
  filterMaxTerms?: number;
  /** Most patterns of one word filter (default `defaultFilterMaxPatterns`). */
  filterMaxPatterns?: number;
  /** Distinct viewers whose reports within `reportWindowSeconds` hold a danmaku (0 = never; default 5). */
  reportHoldThreshold?: number;
  /** The window reports are counted in (default 600 s). */
  reportWindowSeconds?: number;
  /** Reports one user may send per room per minute, per edge (default 5). */
  reportsPerMinute?: number;
  /** Viewers' joins become one aggregated line per room per window (default off). */
  joinNotices?: boolean;
  /** That window (default 3 s). */
  joinNoticeMs?: number;
}

/** Terms of one word filter unless configured: compiling 20,000 takes about a second, spread over slices. */
export const defaultFilterMaxTerms = 20_000;
/** Patterns of one word filter unless configured: each runs on every danmaku. */
export const defaultFilterMaxPatterns = 100;

/** The state limits these options set (the defaults where they say nothing). */
export function stateLimitsOf(options: ModerationOptions): StateLimits {
  return {
    maxEntries: options.maxBansPerRoom ?? maxBansPerRoomLimit,
    banDefaultSeconds: options.banDefaultSeconds ?? defaultBanSeconds,
  };
}

/** The actions of a `Moderate` frame (its oneof field names). */
export type ActionName = NonNullable<v1.Moderate['action']>;

/** Who may do what: moderators everything but closing the room; hosts and admins everything. */
export function mayModerate(role: RoleName, action: ActionName): boolean {
  if (role === 'host' || role === 'admin') return true;
  if (role === 'moderator') return action !== 'roomClose';
  return false;
}

/** A refused action: a stable code and words for the moderator. */
export interface ActionRefusal {
  code: v1.ErrorCode;
  message: string;
}

const bad = (message: string): ActionRefusal => ({ code: ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message });

function checkUser(userId: string | null | undefined): ActionRefusal | undefined {
  if (!userId || userId.length > maxUserId) return bad(`user_id must be 1 to ${maxUserId} characters`);
  return undefined;
}

/**
 * The control event of an action (without seq), or why it is refused.
 * `hold` decisions are not events of their own; they go to core as requests.
 */
export function actionEvent(room: string, m: v1.IModerate, actor: v1.IUser, options: ModerationOptions): v1.IEvent | ActionRefusal {
  const reason = m.reason ?? '';
  if (reason.length > maxReason) return bad(`reason is longer than ${maxReason} characters`);
  const base: v1.IEvent = { room, actor, reason };
  const which = (m as v1.Moderate).action ?? actionOf(m);
  switch (which) {
    case 'retract': {
      const id = m.retract?.danmakuId ?? '';
      if (!id || id.length > 32) return bad('danmaku_id is required');
      return { ...base, retract: { danmakuId: id } };
    }
    case 'mute': {
      const refusal = checkUser(m.mute?.userId);
      if (refusal) return refusal;
      const seconds = m.mute?.seconds ?? 0;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > maxTimeoutSeconds)
        return bad(`a time-out lasts 1 to ${maxTimeoutSeconds} seconds`);
      return { ...base, mute: { userId: m.mute?.userId as string, seconds } };
    }
    case 'unmute':
      return checkUser(m.unmute?.userId) ?? { ...base, unmute: { userId: m.unmute?.userId as string } };
    case 'ban': {
      const refusal = checkUser(m.ban?.userId);
      if (refusal) return refusal;
      const seconds = m.ban?.seconds ?? 0;
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > maxBanSeconds)
        return bad(`a ban lasts 0 (the default, ${options.banDefaultSeconds ?? defaultBanSeconds}) to ${maxBanSeconds} seconds`);
      // The length is decided here, so every core and the audit log see the same one.
      return { ...base, ban: { userId: m.ban?.userId as string, seconds: seconds || (options.banDefaultSeconds ?? defaultBanSeconds) } };
    }
    case 'unban':
      return checkUser(m.unban?.userId) ?? { ...base, unban: { userId: m.unban?.userId as string } };
    case 'slowMode': {
      const seconds = m.slowMode?.seconds ?? 0;
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > maxSlowSeconds)
        return bad(`slow mode is 0 (off) to ${maxSlowSeconds} seconds`);
      return { ...base, slowMode: { seconds, automatic: false } };
    }
    case 'pin': {
      const p = m.pin ?? {};
      const seconds = p.seconds ?? 0;
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > maxPinSeconds)
        return bad(`a pin lasts 0 (unpin) to ${maxPinSeconds} seconds`);
      if ((p.text ?? '').length > maxPinText) return bad(`pin text is longer than ${maxPinText} characters`);
      if (seconds > 0 && !p.text && !p.danmakuId) return bad('pin needs text or a danmaku_id');
      return { ...base, pin: { danmakuId: p.danmakuId ?? '', text: p.text ?? '', seconds } };
    }
    case 'notice': {
      const text = (m.notice?.text ?? '').trim();
      if (!text || text.length > maxNotice) return bad(`notice text must be 1 to ${maxNotice} characters`);
      return { ...base, notice: { text, level: 'info' } };
    }
    case 'roomMode': {
      const mode = m.roomMode ?? {};
      if (mode.emoteOnly && options.emotes.length === 0) {
        return { code: ErrorCode.ERROR_CODE_ROOM_MODE, message: 'emote-only needs emotes: this site defines none (BARRAGE_EMOTES)' };
      }
      return { ...base, roomMode: { danmakuOff: !!mode.danmakuOff, membersOnly: !!mode.membersOnly, emoteOnly: !!mode.emoteOnly } };
    }
    case 'roomClose':
      return { ...base, roomClose: { reason: m.roomClose?.reason || reason, reopen: !!m.roomClose?.reopen } };
    default:
      return bad('moderate needs one action');
  }
}

/** The action set on a plain `IModerate` object (one built from JSON has no oneof getter). */
export function actionOf(m: v1.IModerate): ActionName | undefined {
  const names: ActionName[] = ['retract', 'mute', 'unmute', 'ban', 'unban', 'slowMode', 'pin', 'notice', 'roomMode', 'roomClose', 'hold'];
  return names.find((n) => m[n] !== undefined && m[n] !== null);
}

/**
 * Refuses a ban or time-out of a new user in a room whose state is full
 * (`LIMIT_REACHED`), before it is published, so the moderator is told. Core
 * enforces the same limit when it applies the event (two moderators racing on
 * different edges); this is the check that can answer.
 */
export function limitRefusal(
  state: RoomModeration | undefined,
  event: v1.IEvent,
  options: ModerationOptions,
  now: number,
): ActionRefusal | undefined {
  if (!state) return undefined;
  const kind = event.ban ? 'ban' : event.mute ? 'mute' : undefined;
  if (!kind) return undefined;
  const user = (event.ban?.userId ?? event.mute?.userId) as string;
  const max = options.maxBansPerRoom ?? maxBansPerRoomLimit;
  if (!isOverLimit(state, kind, user, max, now)) return undefined;
  return {
    code: ErrorCode.ERROR_CODE_LIMIT_REACHED,
    message: `this room holds ${entryCount(state)} bans and time-outs, the most it may (${max}); lift some or let them run out first`,
  };
}

/** True when the result is a refusal. */
export function isActionRefusal(r: v1.IEvent | ActionRefusal): r is ActionRefusal {
  return (r as ActionRefusal).code !== undefined;
}

/** Held danmaku kept per user per room (that user's oldest dropped first): one user cannot push the others' out. */
export const maxHeldPerUser = 3;

/** Held danmaku older than this are dropped. */
export const heldTtlMs = 30 * 60_000;
