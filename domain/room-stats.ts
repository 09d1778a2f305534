/**
 * What the room analytics API answers (`/stats`, `/timeline`, `/top-gifters`,
 * `/top-words`): core/analytics reads it, the dashboard draws it.
 */

/** Totals of a room over a range. */
export interface RoomStats {
  room: string;
  from: number;
  to: number;
  events: number;
  messages: number;
  likes: number;
  gifts: number;
  giftEvents: number;
  superChats: number;
  revenueCents: number;
  gifters: number;
  chatters: number;
  moderationActions: number;
  peakOnline: number;
  avgOnline: number;
  avgLatencyMs: number;
}

/** One minute of a room. */
export interface TimelinePoint {
  minute: number; // seconds since the epoch
  messages: number;
  likes: number;
  gifts: number;
  revenueCents: number;
  onlineMax: number;
  onlineAvg: number;
  moderation: number;
}

/** A viewer who paid, with what they gave. */
export interface Gifter {
  userId: string;
  name: string;
  revenueCents: number;
  gifts: number;
}

/** A word and how many danmaku held it. */
export interface WordCount {
  word: string;
  count: number;
}
