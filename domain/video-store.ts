/**
 * Where live sessions and registered videos live: the one authority every
 * core and edge reads, so a room has at most one open session across the
 * deployment and any edge can answer for any video. Clustered it is a NATS
 * KV bucket (`KvVideoStore`); in one process it is memory
 * (`MemoryVideoStore`), lost on restart like the rest of that mode.
 *
 * A video is either a live session of a room (`video = session id`; a video
 * once it has ended) or a VOD the site registered with its duration.
 */
import { isValidRoomId } from './subjects.js';

/** What kind of video a record is. */
export const VideoKind = {
  /** A live session of a room; its danmaku are the room's between start and end. */
  Session: 'session',
  /** A recording the site registered (`PUT /api/v1/videos/:video`). */
  Vod: 'vod',
} as const;
export type VideoKind = (typeof VideoKind)[keyof typeof VideoKind];

/** A live session or a registered video. */
export interface VideoRecord {
  id: string;
  kind: VideoKind;
  /** The live room of a session; empty for a VOD. */
  room: string;
  /** Wall time the session started (ms since the epoch); 0 for a VOD. */
  startedMs: number;
  /** Wall time the session ended; 0 while it is open (and for a VOD). */
  endedMs: number;
  /** Added to (event time - startedMs) to give the recording's time; may be negative. */
  offsetMs: number;
  /** A VOD's registered duration; a session's is `endedMs - startedMs` once ended. */
  durationMs: number;
}

/** The outcome of starting a session. */
export type StartResult = { ok: true } | { ok: false; open: string };

/** The outcome of ending a session. */
export type EndResult = { ok: true; record: VideoRecord } | { ok: false; reason: 'not_found' | 'ended' };

/** Stores sessions and videos. */
export interface VideoStore {
  get(id: string): Promise<VideoRecord | undefined>;
  /** The open session of a room, if any. */
  openSession(room: string): Promise<VideoRecord | undefined>;
  /** Records a new open session, unless the room has one open (atomically, across processes). */
  startSession(record: VideoRecord): Promise<StartResult>;
  /** Ends the open session `id` at `endedMs`. */
  endSession(id: string, endedMs: number): Promise<EndResult>;
  /** Writes a record as is: a VOD's registration, a session's corrected offset. */
  put(record: VideoRecord): Promise<void>;
  close(): Promise<void>;
}

/** Longest video id: a video's bus room is `videoRoomPrefix + id`, which must be a room id. */
export const maxVideoIdLength = 60;

/**
 * Video rooms: where the danmaku posted to a video travel (sequenced, shown
 * live to the video's viewers, stored). Room ids starting with this prefix
 * are reserved for videos; a viewer cannot join one with `room=`.
 */
export const videoRoomPrefix = '_v_';

/** The bus room of a video's danmaku. */
export const videoRoom = (video: string): string => videoRoomPrefix + video;

/** True for a room id that belongs to a video. */
export const isVideoRoom = (room: string): boolean => room.startsWith(videoRoomPrefix);

/** Video ids are room ids of at most 60 characters (`[A-Za-z0-9_-]`). */
export function isValidVideoId(id: string): boolean {
  return id.length <= maxVideoIdLength && isValidRoomId(id);
}

/** The duration of a video, 0 while a session is open. */
export function videoDuration(r: VideoRecord): number {
  if (r.kind === VideoKind.Vod) return r.durationMs;
  return r.endedMs === 0 ? 0 : Math.max(0, r.endedMs - r.startedMs);
}

/** True once a video can be replayed: an ended session, or a VOD. */
export const isFinished = (r: VideoRecord): boolean => r.kind === VideoKind.Vod || r.endedMs !== 0;

/** A record read back from storage, or undefined when it is not one. */
export function parseVideoRecord(text: string): VideoRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<VideoRecord>;
    if (typeof v.id !== 'string' || (v.kind !== VideoKind.Session && v.kind !== VideoKind.Vod)) return undefined;
    const n = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
    return {
      id: v.id,
      kind: v.kind,
      room: typeof v.room === 'string' ? v.room : '',
      startedMs: n(v.startedMs),
      endedMs: n(v.endedMs),
      offsetMs: n(v.offsetMs),
      durationMs: n(v.durationMs),
    };
  } catch {
    return undefined;
  }
}

/** A viewer's danmaku a site posts to a video (`POST /api/v1/videos/:video/danmaku`), checked for form. */
export interface SiteDanmaku {
  user: { id: string; name: string };
  text: string;
  mode: number;
  color: number;
  size: number;
  videoMs: number;
}

/** The live checks' answer for a site-posted danmaku (edge/site-danmaku.ts): publish `text` (maybe masked), or why not. */
export type SiteVerdict = { ok: true; text: string } | { ok: false; code: number; message: string; retryAfterMs: number };
