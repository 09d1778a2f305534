/**
 * What a site's webhook receiver is told about, by kind: the names
 * `BARRAGE_WEBHOOK_EVENTS` takes, and the one table from `Event.kind`
 * members (the generated proto/gen/tables.ts) to them.
 *
 * The table is typed over every generated kind, so a kind added to the
 * .proto is a type error here until it has its row (and test/unit/
 * webhook-kinds.test.ts says which row is missing): one line, no new code
 * path. `null` means "never sent": counters that repeat every couple of
 * seconds per room and say nothing a receiver can act on.
 *
 * `join` is the rooms' join notices (a counter: the joins of a window,
 * the first few named, with `BARRAGE_JOIN_NOTICES`); nothing sends `leave`
 * yet (edges report counts, not single viewers leaving). `held` is also
 * sent for the messages of the rooms' `held` subjects (a danmaku the word
 * filter held, before anything is sequenced), see core/webhooks/webhooks.ts.
 */
import type { EventKind } from '../proto/gen/tables.js';

/** The kinds of webhook event, as `BARRAGE_WEBHOOK_EVENTS` and the JSON's `kind` spell them. */
export const WebhookKind = {
  danmaku: 'danmaku',
  gift: 'gift',
  superChat: 'super_chat',
  likeTotal: 'like_total',
  join: 'join',
  leave: 'leave',
  moderation: 'moderation',
  roomState: 'room_state',
  held: 'held',
  session: 'session',
  /** Plays (red packets, polls, lotteries; issue 15): opened and ended, not their progress. */
  play: 'play',
} as const;
export type WebhookKind = (typeof WebhookKind)[keyof typeof WebhookKind];

/** Every webhook kind name. */
export const webhookKinds: readonly WebhookKind[] = Object.values(WebhookKind);

/** What `BARRAGE_WEBHOOK_EVENTS` is when unset: everything but join and leave (those are many, and per viewer). */
export const defaultWebhookKinds: readonly WebhookKind[] = webhookKinds.filter((k) => k !== WebhookKind.join && k !== WebhookKind.leave);

/** True for a name `BARRAGE_WEBHOOK_EVENTS` accepts. */
export const isWebhookKind = (name: string): name is WebhookKind => (webhookKinds as readonly string[]).includes(name);

/**
 * The webhook kind of each `Event.kind` member, or null for none. One row
 * per kind: adding a kind to the .proto makes this object fail to compile
 * until it is listed.
 */
export const webhookKindOfEvent = {
  danmaku: WebhookKind.danmaku,
  gift: WebhookKind.gift,
  superChat: WebhookKind.superChat,
  likes: WebhookKind.likeTotal,
  online: null,
  leaderboard: null,
  notice: WebhookKind.roomState,
  slowMode: WebhookKind.roomState,
  pin: WebhookKind.roomState,
  roomMode: WebhookKind.roomState,
  roomClose: WebhookKind.roomState,
  retract: WebhookKind.moderation,
  mute: WebhookKind.moderation,
  unmute: WebhookKind.moderation,
  ban: WebhookKind.moderation,
  unban: WebhookKind.moderation,
  superChatRemoved: WebhookKind.moderation,
  holdDecision: WebhookKind.held,
  reportOutcome: WebhookKind.moderation,
  session: WebhookKind.session,
  joinNotice: WebhookKind.join,
  redPacket: WebhookKind.play,
  redPacketProgress: null,
  redPacketEnded: WebhookKind.play,
  poll: WebhookKind.play,
  pollTally: null,
  pollResult: WebhookKind.play,
  lottery: WebhookKind.play,
  lotteryProgress: null,
  lotteryResult: WebhookKind.play,
} as const satisfies { readonly [K in EventKind]: WebhookKind | null };

/** The webhook kind of an event's kind name (`v1.Event.kind`), undefined when it is not sent or unknown to this build. */
export function webhookKindOf(kind: string | null | undefined): WebhookKind | undefined {
  if (!kind || !Object.hasOwn(webhookKindOfEvent, kind)) return undefined;
  return webhookKindOfEvent[kind as EventKind] ?? undefined;
}
