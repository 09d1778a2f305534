/**
 * The replay queries: a video's danmaku by video time, one fixed-length
 * segment at a time, and their density over the whole video. One SQL text
 * for ClickHouse 18.16 and chDB, read from the `replay` and
 * `replay_retracts` tables (analytics migration 7: the danmaku and
 * retractions of `events`, copied at insert, sorted by room and position in
 * the recording) with `FINAL` like every analytics query (a row written twice
 * by a retried batch comes back once).
 *
 * A video's danmaku are:
 * - for a live session, the danmaku of its room between its start and its
 *   end, at video time `ts_ms - started + offset` (the correction a site may
 *   set afterwards, so it is applied when read, never stored);
 * - for any video, the danmaku posted to it later (its video room, see
 *   `videoRoom`), at the video time they were posted at (`extra.offset_ms`).
 *
 * Retracted danmaku never appear, whenever the retraction came (a retract
 * event in the live room or the video room names the danmaku). Held danmaku
 * were never sequenced, so they are not in `events` unless approved.
 */
import type { AnalyticsStore } from '../analytics/analytics-store.js';
import { featuresOf, sqlIdent, sqlString, sqlUInt } from '../analytics/analytics-store.js';
import { videoDuration, videoRoom, VideoKind } from '../../domain/video-store.js';
import type { VideoRecord } from '../../domain/video-store.js';

/** Segment length: 6 minutes, as Bilibili cuts its danmaku. */
export const segmentMs = 360_000;

/** Most danmaku one segment answers; past it the earliest are kept (a density endpoint shows the rest). */
export const maxSegmentDanmaku = 100_000;

/** Number of segments of a video (at least 1, so a zero-length video still answers segment 0). */
export const segmentCount = (durationMs: number): number => Math.max(1, Math.ceil(durationMs / segmentMs));

/** One danmaku as replay returns it. */
export interface ReplayDanmaku {
  id: string;
  offsetMs: number;
  user: { id: string; name: string; role: number };
  text: string;
  mode: number;
  color: number;
  size: number;
  merged: number;
  seq: number;
  tsMs: number;
}

const n = (v: unknown): number => Number(v ?? 0) || 0;
/** An integer literal that may be negative (video offsets). */
const sqlInt = (v: number): string => (v < 0 ? `-${sqlUInt(-v)}` : sqlUInt(v));

/** Runs the replay queries of one database on one store. */
export class ReplayQueries {
  private readonly db: string;
  private settings: Record<string, number> | undefined;

  constructor(
    private readonly store: AnalyticsStore,
    database: string,
  ) {
    this.db = sqlIdent(database);
  }

  private async finalSettings(): Promise<Record<string, number>> {
    if (!this.settings) {
      const f = featuresOf(await this.store.version());
      this.settings = f.finalPerPartition ? { do_not_merge_across_partitions_select_final: 1 } : {};
    }
    return this.settings;
  }

  /**
   * The video time of a row (`off`) and the rows of `video` whose video time
   * lies in [fromMs, toMs), as a FROM source: live danmaku of the session
   * and danmaku posted to the video. Each is one primary-key range of
   * `replay` (room, pos): pos is the video time in the video room and the
   * wall time in the live room.
   */
  private source(video: VideoRecord, fromMs: number, toMs: number): string {
    const vroom = sqlString(videoRoom(video.id));
    const end = Math.min(toMs, videoDuration(video));
    const retracted = [vroom];
    const parts = [`(room = ${vroom} AND pos >= ${sqlUInt(fromMs)} AND pos < ${sqlUInt(Math.max(end, fromMs))})`];
    let off = 'pos';
    if (video.kind === VideoKind.Session && video.room !== '') {
      const room = sqlString(video.room);
      retracted.push(room);
      // Wall time of video time t is started - offset + t; kept inside the session.
      const base = video.startedMs - video.offsetMs;
      const lo = Math.max(video.startedMs, base + fromMs);
      const hi = Math.min(video.endedMs, base + end);
      if (hi > lo) parts.push(`(room = ${room} AND pos >= ${sqlUInt(lo)} AND pos < ${sqlUInt(hi)})`);
      off = `if(room = ${room}, pos - ${sqlInt(base)}, pos)`;
    }
    return `(SELECT ${off} AS off, item_id, user_id, user_name, user_role, text, mode, color, size, count, seq, ts_ms
      FROM ${this.db}.replay FINAL
      WHERE (${parts.join(' OR ')})
        AND item_id NOT IN (SELECT target FROM ${this.db}.replay_retracts FINAL WHERE room IN (${retracted.join(', ')})))`;
  }

  /** The danmaku of segment `segment` of `video`, ordered by video time (then by time sent, then seq). */
  async segment(video: VideoRecord, segment: number): Promise<ReplayDanmaku[]> {
    const from = segment * segmentMs;
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT off, item_id, user_id, user_name, user_role, text, mode, color, size, count, seq, ts_ms
      FROM ${this.source(video, from, from + segmentMs)}
      ORDER BY off, ts_ms, seq LIMIT ${sqlUInt(maxSegmentDanmaku)}`,
      await this.finalSettings(),
    );
    return rows.map((x) => ({
      id: String(x['item_id']),
      offsetMs: n(x['off']),
      user: { id: String(x['user_id']), name: String(x['user_name']), role: n(x['user_role']) },
      text: String(x['text']),
      mode: n(x['mode']),
      color: n(x['color']),
      size: n(x['size']),
      merged: n(x['count']),
      seq: n(x['seq']),
      tsMs: n(x['ts_ms']),
    }));
  }

  /** Danmaku per bucket over the whole video (`buckets` equal slices of its duration). */
  async density(video: VideoRecord, buckets: number): Promise<{ bucketMs: number; counts: number[] }> {
    const duration = videoDuration(video);
    const bucketMs = Math.max(1, Math.ceil(duration / buckets));
    const counts = new Array<number>(buckets).fill(0);
    if (duration === 0) return { bucketMs, counts };
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT intDiv(off, ${sqlUInt(bucketMs)}) AS b, sum(count) AS c FROM ${this.source(video, 0, duration)} GROUP BY b ORDER BY b`,
      await this.finalSettings(),
    );
    for (const x of rows) {
      const b = n(x['b']);
      if (b >= 0 && b < buckets) counts[b] = (counts[b] as number) + n(x['c']);
    }
    return { bucketMs, counts };
  }
}
