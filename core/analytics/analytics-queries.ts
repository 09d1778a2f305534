/**
 * The analytics queries, one SQL text for both engines. Every read goes
 * through `FINAL`, which is what turns the deduplicating tables into exact
 * answers (rows written twice by a retried batch count once). Paid numbers
 * (gifts, revenue, top gifters) are read from the raw events, so they are
 * exact per event even if a rollup row were ever doubled; high-volume
 * counters (messages, likes, online) come from the per-minute rollup.
 */
import type { AnalyticsStore } from './analytics-store.js';
import { featuresOf, sqlIdent, sqlString, sqlUInt } from './analytics-store.js';
import { topWordsOf } from './top-words.js';
import type { PlayPoint, PlayStats, PlaySummary } from '../../domain/play-stats.js';
import type { Gifter, RoomStats, TimelinePoint, WordCount } from '../../domain/room-stats.js';

export type { Gifter, PlayPoint, PlayStats, PlaySummary, RoomStats, TimelinePoint, WordCount };

/** Distinct danmaku texts of a range the top words are counted over (the most frequent ones). */
export const topWordsTexts = 20_000;

/** A room and a time range in milliseconds since the epoch, `from` inclusive, `to` exclusive. */
export interface RoomRange {
  room: string;
  fromMs: number;
  toMs: number;
}

/** One moderation action of the audit log. */
export interface AuditEntry {
  tsMs: number;
  seq: number;
  action: string;
  actor: { id: string; name: string; role: number };
  target: string;
  text: string;
  count: number;
  extra: string;
  reason: string;
}

/** The openings and ends of plays: the kind of play and whether the row starts or ends it. */
const playRows: Readonly<Record<string, { kind: PlaySummary['kind']; end: boolean }>> = {
  red_packet: { kind: 'red_packet', end: false },
  red_packet_ended: { kind: 'red_packet', end: true },
  poll: { kind: 'poll', end: false },
  poll_result: { kind: 'poll', end: true },
  lottery: { kind: 'lottery', end: false },
  lottery_result: { kind: 'lottery', end: true },
};

/** Rows whose `count` is a play's running total of viewers taking part (progress counters and ends). */
const takingPart: Readonly<Record<string, 'grabs' | 'votes' | 'entries'>> = {
  red_packet_progress: 'grabs',
  red_packet_ended: 'grabs',
  poll_tally: 'votes',
  poll_result: 'votes',
  lottery_progress: 'entries',
  lottery_result: 'entries',
};

const sqlList = (kinds: readonly string[]): string => kinds.map((k) => sqlString(k)).join(', ');

/** Plays listed in a range's answer (the latest). */
export const playsListed = 200;
/** A play lasts at most a day: the running totals before a range are read that far back. */
const playLongestMs = 86_400_000;

const n = (v: unknown): number => Number(v ?? 0) || 0;

/** Runs the analytics queries of one database on one store. */
export class AnalyticsQueries {
  private readonly db: string;
  private settings: Record<string, number> | undefined;

  constructor(
    private readonly store: AnalyticsStore,
    database: string,
  ) {
    this.db = sqlIdent(database);
  }

  /** Settings that make FINAL cheaper on engines that have them. */
  private async finalSettings(): Promise<Record<string, number>> {
    if (!this.settings) {
      const f = featuresOf(await this.store.version());
      this.settings = f.finalPerPartition ? { do_not_merge_across_partitions_select_final: 1 } : {};
    }
    return this.settings;
  }

  private rawWhere(r: RoomRange): string {
    const from = Math.floor(r.fromMs / 1000);
    const to = Math.ceil(r.toMs / 1000);
    return `room = ${sqlString(r.room)} AND ts >= toDateTime(${sqlUInt(from)}) AND ts < toDateTime(${sqlUInt(to)})
      AND ts_ms >= ${sqlUInt(r.fromMs)} AND ts_ms < ${sqlUInt(r.toMs)}`;
  }

  private minuteWhere(r: RoomRange): string {
    const from = Math.floor(r.fromMs / 60_000) * 60;
    const to = Math.ceil(r.toMs / 60_000) * 60;
    return `room = ${sqlString(r.room)} AND minute >= toDateTime(${sqlUInt(from)}) AND minute < toDateTime(${sqlUInt(to)})`;
  }

  /** Totals for the stats endpoint. Counters are whole minutes; paid numbers are exact to the millisecond. */
  async stats(r: RoomRange): Promise<RoomStats> {
    const settings = await this.finalSettings();
    const [roll] = await this.store.query<Record<string, unknown>>(
      `SELECT sum(danmaku) AS messages, sum(likes) AS likes, sum(moderation) AS moderation,
        max(online_max) AS peak_online, sum(online_sum) AS online_sum, sum(online_samples) AS online_samples,
        sum(latency_sum_ms) AS latency_sum, sum(latency_samples) AS latency_samples
      FROM ${this.db}.room_minute FINAL WHERE ${this.minuteWhere(r)}`,
      settings,
    );
    const [raw] = await this.store.query<Record<string, unknown>>(
      `SELECT count() AS events,
        sumIf(count, kind = 'gift') AS gifts, countIf(kind = 'gift') AS gift_events, countIf(kind = 'super_chat') AS super_chats,
        sumIf(amount_cents, kind IN ('gift', 'super_chat')) AS revenue,
        uniqExactIf(user_id, kind IN ('gift', 'super_chat')) AS gifters,
        uniqExactIf(user_id, kind = 'danmaku') AS chatters
      FROM ${this.db}.events FINAL WHERE ${this.rawWhere(r)}`,
      settings,
    );
    const samples = n(roll?.['online_samples']);
    const latencySamples = n(roll?.['latency_samples']);
    return {
      room: r.room,
      from: r.fromMs,
      to: r.toMs,
      events: n(raw?.['events']),
      messages: n(roll?.['messages']),
      likes: n(roll?.['likes']),
      gifts: n(raw?.['gifts']),
      giftEvents: n(raw?.['gift_events']),
      superChats: n(raw?.['super_chats']),
      revenueCents: n(raw?.['revenue']),
      gifters: n(raw?.['gifters']),
      chatters: n(raw?.['chatters']),
      moderationActions: n(roll?.['moderation']),
      peakOnline: n(roll?.['peak_online']),
      avgOnline: samples ? Math.round(n(roll?.['online_sum']) / samples) : 0,
      avgLatencyMs: latencySamples ? Math.round(n(roll?.['latency_sum']) / latencySamples) : 0,
    };
  }

  /** Per-minute series from the rollup, minutes without events left out. */
  async timeline(r: RoomRange): Promise<TimelinePoint[]> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT toUInt32(minute) AS m, sum(danmaku) AS messages, sum(likes) AS likes, sum(gifts) AS gifts,
        sum(revenue_cents) AS revenue, max(online_max) AS online_max,
        if(sum(online_samples) = 0, 0, intDiv(sum(online_sum), sum(online_samples))) AS online_avg, sum(moderation) AS moderation
      FROM ${this.db}.room_minute FINAL WHERE ${this.minuteWhere(r)}
      GROUP BY m ORDER BY m`,
      await this.finalSettings(),
    );
    return rows.map((x) => ({
      minute: n(x['m']),
      messages: n(x['messages']),
      likes: n(x['likes']),
      gifts: n(x['gifts']),
      revenueCents: n(x['revenue']),
      onlineMax: n(x['online_max']),
      onlineAvg: n(x['online_avg']),
      moderation: n(x['moderation']),
    }));
  }

  /** Viewers who gave the most (gifts and super chats), from the raw events. */
  async topGifters(r: RoomRange, limit: number): Promise<Gifter[]> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT user_id, argMax(user_name, ts_ms) AS name, sum(amount_cents) AS revenue, sumIf(count, kind = 'gift') AS gifts
      FROM ${this.db}.events FINAL WHERE ${this.rawWhere(r)} AND kind IN ('gift', 'super_chat')
      GROUP BY user_id ORDER BY revenue DESC, user_id LIMIT ${sqlUInt(limit)}`,
      await this.finalSettings(),
    );
    return rows.map((x) => ({
      userId: String(x['user_id']),
      name: String(x['name']),
      revenueCents: n(x['revenue']),
      gifts: n(x['gifts']),
    }));
  }

  /** Most frequent words of the danmaku (letters and digits of any script; one count per danmaku). */
  async topWords(r: RoomRange, limit: number): Promise<WordCount[]> {
    // Grouped by text in the store (the same SQL on ClickHouse 18.16 and chDB), split into words
    // here (Intl.Segmenter: Chinese and Japanese have no spaces; see top-words.ts). Danmaku repeat
    // a lot, so the most frequent texts hold the most frequent words; the rarest are left out.
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT text, count() AS c FROM ${this.db}.events FINAL WHERE ${this.rawWhere(r)} AND kind = 'danmaku'
      GROUP BY text ORDER BY c DESC, text LIMIT ${sqlUInt(topWordsTexts)}`,
      await this.finalSettings(),
    );
    return topWordsOf(
      rows.map((x) => ({ text: String(x['text']), count: n(x['c']) })),
      limit,
    );
  }

  /**
   * Red packets, polls and lotteries of the range: each play started or
   * ended in it, and per minute how many viewers grabbed, voted or entered.
   * Those come from the plays' running totals (progress counters and ends):
   * a minute's number is how much a play's total grew in it, the total
   * before the range read from the day before it.
   */
  async plays(r: RoomRange): Promise<PlayStats> {
    const settings = await this.finalSettings();
    const part = sqlList(Object.keys(takingPart));
    const [before, during, rows] = await Promise.all([
      this.store.query<Record<string, unknown>>(
        `SELECT kind, item_id, max(count) AS c FROM ${this.db}.events FINAL
        WHERE ${this.rawWhere({ room: r.room, fromMs: Math.max(0, r.fromMs - playLongestMs), toMs: r.fromMs })} AND kind IN (${part})
        GROUP BY kind, item_id`,
        settings,
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT kind, item_id, toUInt32(toStartOfMinute(ts)) AS m, max(count) AS c FROM ${this.db}.events FINAL
        WHERE ${this.rawWhere(r)} AND kind IN (${part})
        GROUP BY kind, item_id, m ORDER BY m`,
        settings,
      ),
      this.store.query<Record<string, unknown>>(
        `SELECT kind, item_id, ts_ms, user_id, user_name, text, count FROM ${this.db}.events FINAL
        WHERE ${this.rawWhere(r)} AND kind IN (${sqlList(Object.keys(playRows))})
        ORDER BY ts_ms DESC LIMIT ${sqlUInt(playsListed * 2)}`,
        settings,
      ),
    ]);
    // A play's running total, per family (a red packet's grabs and its end count the same total).
    const totals = new Map<string, number>();
    const keyOf = (x: Record<string, unknown>): string => `${takingPart[String(x['kind'])]}/${String(x['item_id'])}`;
    for (const x of before) totals.set(keyOf(x), Math.max(totals.get(keyOf(x)) ?? 0, n(x['c'])));
    const points = new Map<number, PlayPoint>();
    for (const x of during) {
      const family = takingPart[String(x['kind'])];
      if (!family) continue;
      const key = keyOf(x);
      const grown = n(x['c']) - (totals.get(key) ?? 0);
      if (grown <= 0) continue;
      totals.set(key, n(x['c']));
      const minute = n(x['m']);
      let p = points.get(minute);
      if (!p) points.set(minute, (p = { minute, grabs: 0, votes: 0, entries: 0 }));
      p[family] += grown;
    }
    const plays = new Map<string, PlaySummary>();
    let started = 0;
    let ended = 0;
    for (const x of rows) {
      const row = playRows[String(x['kind'])];
      if (!row) continue;
      const id = String(x['item_id']);
      const key = `${row.kind}/${id}`;
      let play = plays.get(key);
      if (!play) {
        if (plays.size >= playsListed) continue;
        plays.set(key, (play = { kind: row.kind, id, startedMs: 0, endedMs: 0, by: '', title: '', size: 0, taken: 0 }));
      }
      if (row.end) {
        ended++;
        play.endedMs = n(x['ts_ms']);
        play.taken = n(x['count']);
      } else {
        started++;
        play.startedMs = n(x['ts_ms']);
        play.by = String(x['user_name']) || String(x['user_id']);
        play.title = String(x['text']);
        play.size = n(x['count']);
      }
    }
    // Open plays: the latest running total seen.
    for (const play of plays.values()) {
      if (!play.endedMs)
        play.taken = totals.get(`${play.kind === 'red_packet' ? 'grabs' : play.kind === 'poll' ? 'votes' : 'entries'}/${play.id}`) ?? 0;
    }
    const series = [...points.values()].sort((a, b) => a.minute - b.minute);
    const sum = (f: (p: PlayPoint) => number): number => series.reduce((t, p) => t + f(p), 0);
    return {
      started,
      ended,
      grabs: sum((p) => p.grabs),
      votes: sum((p) => p.votes),
      entries: sum((p) => p.entries),
      points: series,
      plays: [...plays.values()],
    };
  }

  /** The room's moderation actions in the range, newest first (`audit`, migration 4). */
  async audit(r: RoomRange, limit: number): Promise<AuditEntry[]> {
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT ts_ms, seq, action, actor_id, actor_name, actor_role, target, text, count, extra, reason
      FROM ${this.db}.audit FINAL WHERE ${this.rawWhere(r)}
      ORDER BY ts_ms DESC, seq DESC LIMIT ${sqlUInt(limit)}`,
      await this.finalSettings(),
    );
    return rows.map((x) => ({
      tsMs: n(x['ts_ms']),
      seq: n(x['seq']),
      action: String(x['action']),
      actor: { id: String(x['actor_id']), name: String(x['actor_name']), role: n(x['actor_role']) },
      target: String(x['target']),
      text: String(x['text']),
      count: n(x['count']),
      extra: String(x['extra']),
      reason: String(x['reason']),
    }));
  }
}
