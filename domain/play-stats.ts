/**
 * What `GET /api/v1/rooms/:room/play-stats` answers (core/analytics reads
 * it, the dashboard draws it): the red packets, polls and lotteries of a
 * room over a range.
 */

/** One red packet, poll or lottery seen in a range (started or ended in it). */
export interface PlaySummary {
  kind: 'red_packet' | 'poll' | 'lottery';
  id: string;
  /** 0 when it started before the range. */
  startedMs: number;
  /** 0 while open (or when it ended after the range). */
  endedMs: number;
  /** Who started it (name, else id). */
  by: string;
  /** The greeting, question or prize. */
  title: string;
  /** Shares, options or winners. */
  size: number;
  /** Viewers who took part: grabbed, voted or entered (the latest count seen). */
  taken: number;
}

/** Viewers taking part in plays in one minute. */
export interface PlayPoint {
  minute: number; // seconds since the epoch
  grabs: number;
  votes: number;
  entries: number;
}

/** The plays of a room over a range. */
export interface PlayStats {
  started: number;
  ended: number;
  grabs: number;
  votes: number;
  entries: number;
  points: PlayPoint[];
  plays: PlaySummary[];
}
