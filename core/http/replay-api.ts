/**
 * The replay API, documented in docs/api.md under "Live sessions and replay".
 * Players call the reads straight from the browser, so they are public (no
 * API key; a video's danmaku are what its viewers see anyway) and cacheable:
 *
 * - `GET /api/v1/videos/:video`: duration, segment length and count
 * - `GET /api/v1/videos/:video/danmaku?segment=N`: one 6-minute segment as a
 *   protobuf `DanmakuSegment`, or JSON when `Accept` asks for it; strong
 *   `ETag` (answered 304 on `If-None-Match`) and `Cache-Control`
 * - `GET /api/v1/videos/:video/danmaku/density?buckets=200`: danmaku per slice
 *
 * and, with the API key:
 *
 * - `PUT /api/v1/videos/:video` (`{ duration_ms }`): registers a VOD
 *
 * A video is a finished live session (`video = session id`) or a registered
 * VOD; a session still live is not a video yet (409 SESSION_LIVE).
 */
import { createHash } from 'node:crypto';
import { ErrorCode, v1 } from '../../proto/index.js';
import { maxUserIdLength } from '../../domain/auth.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Route, RouteDoc, RouteRequest, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import { isFinished, isValidVideoId, maxVideoIdLength, videoDuration, VideoKind, videoRoom } from '../../domain/video-store.js';
import type { SiteDanmaku, SiteVerdict, VideoRecord, VideoStore } from '../../domain/video-store.js';
import { segmentCount, segmentMs } from '../replay/replay-queries.js';
import type { ReplayDanmaku, ReplayQueries } from '../replay/replay-queries.js';

/** Longest video a site may register: 30 days. */
export const maxVideoDurationMs = 30 * 86_400_000;
/** Most density buckets one request may ask for. */
export const maxDensityBuckets = 2_000;
/**
 * How long a CDN or browser may use a segment without asking again. Short:
 * new VOD danmaku and late retractions must show within it; after it the
 * ETag makes asking again cheap (304).
 */
export const segmentMaxAgeSeconds = 60;

/** What the routes need. */
export interface ReplayApiOptions {
  store: VideoStore;
  apiKey: string;
  /** The replay queries; without them (analytics off) the danmaku reads answer 503. */
  queries: () => ReplayQueries | undefined;
  /** For posting danmaku to a video from a site backend (answered by core's message service). */
  bus: Bus;
  /** `BARRAGE_MAX_TEXT`. */
  maxTextLength: number;
  /** Why `text` is not acceptable (a viewer's checks, edge/validate.ts, passed in by the wiring), or undefined. */
  checkText: (text: string, max: number) => string | undefined;
  /**
   * The live checks for a danmaku a site posts (edge/site-danmaku.ts, passed in by the wiring):
   * the per-viewer rate limit and the moderation policy (bans, time-outs, room modes, slow mode,
   * word filter). Publish `text` (a replace rule may have masked it), or why not.
   */
  screen?: (room: string, d: SiteDanmaku) => SiteVerdict;
}

/** HTTP status of a screen refusal: the rate limits 429 (with Retry-After), a hold 202, the rest 403. */
function refusal(video: string, code: number, message: string, retryAfterMs: number): RouteResponse {
  if (code === ErrorCode.ERROR_CODE_HELD) return json(202, { video, held: true, message });
  const name = (v1.ErrorCode[code] ?? 'ERROR_CODE_FORBIDDEN').replace(/^ERROR_CODE_/, '');
  const limited =
    code === ErrorCode.ERROR_CODE_RATE_LIMITED || code === ErrorCode.ERROR_CODE_SLOW_MODE || code === ErrorCode.ERROR_CODE_LIMIT_REACHED;
  const res = problem(limited ? 429 : code === ErrorCode.ERROR_CODE_BLOCKED_TEXT ? 422 : 403, name, message);
  if (!limited && code !== ErrorCode.ERROR_CODE_MUTED) return res;
  return { ...res, headers: { ...res.headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
}

/** How long a post waits for core before answering 503. */
const postTimeoutMs = 10_000;

const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'etag' };

/** A video's JSON as the API answers it. */
export function videoJson(r: VideoRecord): Record<string, unknown> {
  const duration = videoDuration(r);
  return {
    video: r.id,
    kind: r.kind,
    room: r.kind === VideoKind.Session ? r.room : null,
    started_ms: r.kind === VideoKind.Session ? r.startedMs : null,
    offset_ms: r.offsetMs,
    duration_ms: duration,
    finished: isFinished(r),
    segment_ms: segmentMs,
    segments: segmentCount(duration),
  };
}

const wantsJson = (req: RouteRequest): boolean => {
  const accept = req.headers['accept'] ?? '';
  return accept.includes('application/json') && !accept.includes('application/x-protobuf');
};

/** A strong ETag: a hash of the exact bytes answered. */
const etagOf = (body: string | Uint8Array): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/** A cacheable answer, or 304 when the client holds these bytes already. */
function cached(req: RouteRequest, contentType: string, body: string | Uint8Array): RouteResponse {
  const etag = etagOf(body);
  const headers = {
    ...cors,
    'content-type': contentType,
    'cache-control': `public, max-age=${segmentMaxAgeSeconds}`,
    etag,
    vary: 'Accept',
  };
  const match = req.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((t) => t.trim() === etag)) return { status: 304, headers, body: '' };
  return { status: 200, headers, body };
}

function segmentJson(video: VideoRecord, segment: number, danmaku: ReplayDanmaku[]): string {
  return JSON.stringify({
    video: video.id,
    segment,
    segment_ms: segmentMs,
    duration_ms: videoDuration(video),
    danmaku: danmaku.map((d) => ({
      id: d.id,
      offset_ms: d.offsetMs,
      text: d.text,
      mode: d.mode,
      color: d.color,
      size: d.size,
      merged: d.merged,
      user: d.user,
    })),
  });
}

function segmentProto(video: VideoRecord, segment: number, danmaku: ReplayDanmaku[]): Uint8Array {
  return v1.DanmakuSegment.encode({
    video: video.id,
    segment,
    segmentMs,
    durationMs: videoDuration(video),
    danmaku: danmaku.map((d) => ({
      id: d.id,
      offsetMs: d.offsetMs,
      text: d.text,
      mode: d.mode,
      color: d.color,
      size: d.size,
      merged: d.merged,
      user: d.user,
    })),
  }).finish();
}

/** A non-negative integer query parameter, or undefined. */
function intParam(raw: string | null): number | undefined {
  if (raw === null || !/^\d{1,9}$/.test(raw)) return undefined;
  return Number(raw);
}

const withCors = (res: RouteResponse): RouteResponse => ({ ...res, headers: { ...res.headers, ...cors } });

const videoSchema = s.object(
  {
    video: s.string(),
    kind: s.enum(['session', 'vod']),
    room: s.string('the live room of a session; null for a VOD', { type: ['string', 'null'] }),
    started_ms: s.integer('a session only', { type: ['integer', 'null'] }),
    offset_ms: s.integer(),
    duration_ms: s.integer(),
    finished: s.boolean(),
    segment_ms: s.integer('360000'),
    segments: s.integer('max(1, ceil(duration_ms / segment_ms))'),
  },
  ['video', 'kind', 'duration_ms', 'segment_ms', 'segments'],
);
const videoParam = { video: 'a session id or a registered video id (1-60 of A-Z a-z 0-9 _ -)' };
const readErrors = {
  400: problemDoc('BAD_VIDEO, BAD_SEGMENT or BAD_BUCKETS'),
  404: problemDoc('NOT_FOUND: no such video'),
  409: problemDoc('SESSION_LIVE: the session has not ended'),
  503: problemDoc('UNAVAILABLE or ANALYTICS_OFF'),
};
const cacheHeaders = 'Strong `ETag` (304 on a matching `If-None-Match`), `Cache-Control: public, max-age=60`, `Vary: Accept`, CORS `*`.';

/** The replay routes. */
export function replayRoutes(options: ReplayApiOptions): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const { store } = options;

  /** The finished video of a request, or the answer saying why there is none. */
  const videoOf = async (req: RouteRequest): Promise<VideoRecord | RouteResponse> => {
    const id = req.params[0] ?? '';
    if (!isValidVideoId(id)) return problem(400, 'BAD_VIDEO', `video ids are 1 to ${maxVideoIdLength} characters of A-Z a-z 0-9 _ -`);
    const video = await store.get(id);
    if (!video) return problem(404, 'NOT_FOUND', 'no such video');
    if (!isFinished(video)) return problem(409, 'SESSION_LIVE', 'the session is live; it is a video once it has ended');
    return video;
  };

  /** A public read: CORS on every answer, 503 when the store or analytics fails. */
  const read = (pattern: string, doc: RouteDoc, fn: (video: VideoRecord, req: RouteRequest) => Promise<RouteResponse>): Route => ({
    method: 'get',
    pattern,
    public: true,
    doc,
    handler: async (req) => {
      try {
        const video = await videoOf(req);
        if ('status' in video) return withCors(video);
        return withCors(await fn(video, req));
      } catch (err) {
        const res = problem(503, 'UNAVAILABLE', `replay unavailable: ${(err as Error).message.slice(0, 200)}`);
        return withCors({ ...res, headers: { ...res.headers, 'retry-after': '5' } });
      }
    },
  });

  return [
    read(
      '/api/v1/videos/:video',
      {
        tag: 'replay',
        summary: 'A video: duration and segments',
        params: videoParam,
        responses: { 200: { description: 'the video', schema: videoSchema }, ...readErrors },
      },
      async (video) => json(200, videoJson(video)),
    ),
    read(
      '/api/v1/videos/:video/danmaku',
      {
        tag: 'replay',
        summary: "One 6-minute segment of a video's danmaku, by video time",
        description: `Protobuf \`DanmakuSegment\` by default; JSON when \`Accept\` names application/json. ${cacheHeaders}`,
        params: videoParam,
        query: { segment: { description: 'N: video time [N * 360000, (N + 1) * 360000)', schema: s.integer(undefined, { minimum: 0 }) } },
        responses: {
          200: {
            description: 'the segment (JSON shape; protobuf carries the same fields)',
            schema: s.object({
              video: s.string(),
              segment: s.integer(),
              segment_ms: s.integer(),
              duration_ms: s.integer(),
              danmaku: s.array(
                s.object({
                  id: s.string(),
                  offset_ms: s.integer('video time'),
                  text: s.string(),
                  mode: s.integer(),
                  color: s.integer(),
                  size: s.integer(),
                  merged: s.integer(),
                  user: s.object({ id: s.string(), name: s.string(), role: s.integer() }),
                }),
              ),
            }),
          },
          304: { description: 'not modified' },
          ...readErrors,
        },
      },
      async (video, req) => {
        const queries = options.queries();
        if (!queries) return problem(503, 'ANALYTICS_OFF', 'replay needs analytics (BARRAGE_ANALYTICS)');
        const count = segmentCount(videoDuration(video));
        const segment = intParam(req.query.get('segment') ?? '0');
        if (segment === undefined || segment >= count)
          return problem(400, 'BAD_SEGMENT', `segment must be an integer from 0 to ${count - 1} (segments are ${segmentMs} ms)`);
        const danmaku = await queries.segment(video, segment);
        return wantsJson(req)
          ? cached(req, 'application/json; charset=utf-8', segmentJson(video, segment, danmaku))
          : cached(req, 'application/x-protobuf', segmentProto(video, segment, danmaku));
      },
    ),
    read(
      '/api/v1/videos/:video/danmaku/density',
      {
        tag: 'replay',
        summary: 'Danmaku per slice of a video, for a heatmap over the progress bar',
        description: cacheHeaders,
        params: videoParam,
        query: { buckets: { description: 'slices, 1 to 2000 (default 200)', schema: s.integer(undefined, { minimum: 1, maximum: 2000 }) } },
        responses: {
          200: {
            description: 'counts per slice',
            schema: s.object({ video: s.string(), duration_ms: s.integer(), bucket_ms: s.integer(), counts: s.array(s.integer()) }),
          },
          304: { description: 'not modified' },
          ...readErrors,
        },
      },
      async (video, req) => {
        const queries = options.queries();
        if (!queries) return problem(503, 'ANALYTICS_OFF', 'replay needs analytics (BARRAGE_ANALYTICS)');
        const buckets = intParam(req.query.get('buckets') ?? '200');
        if (buckets === undefined || buckets < 1 || buckets > maxDensityBuckets)
          return problem(400, 'BAD_BUCKETS', `buckets must be an integer from 1 to ${maxDensityBuckets}`);
        const { bucketMs, counts } = await queries.density(video, buckets);
        return cached(
          req,
          'application/json; charset=utf-8',
          JSON.stringify({ video: video.id, duration_ms: videoDuration(video), bucket_ms: bucketMs, counts }),
        );
      },
    ),
    {
      method: 'post',
      pattern: '/api/v1/videos/:video/danmaku',
      maxBody: 8 * 1024,
      doc: {
        tag: 'replay',
        summary: "A viewer's danmaku at a video time, posted by the site's backend on their behalf",
        description:
          "The same checks as the viewer's own danmaku on a `video=` socket, by the same code: text, the per-viewer rate limit " +
          "(`BARRAGE_DANMAKU_RATE`/`_BURST`, per viewer and video), the video room's bans, time-outs, room modes and slow mode, and the word filter " +
          '(block: 422 BLOCKED_TEXT; replace: published masked; hold: 202, a moderator decides, audited as live). Sequenced in the ' +
          "video's room (viewers on `video=` sockets see it at once) and stored with its video time.",
        params: videoParam,
        body: {
          schema: s.object(
            {
              user: s.object({ id: s.string(), name: s.string() }, ['id', 'name']),
              text: s.string(),
              video_ms: s.integer('0 to duration_ms - 1'),
              mode: s.integer('0 scroll, 1 top, 2 bottom'),
              color: s.integer('0xRRGGBB'),
              size: s.integer('0 normal, 1 small, 2 large'),
            },
            ['user', 'text', 'video_ms'],
          ),
        },
        responses: {
          201: {
            description: 'stored in the video',
            schema: s.object({ video: s.string(), seq: s.integer(), id: s.string(), offset_ms: s.integer() }),
          },
          202: {
            description: 'held for a moderator (the word filter)',
            schema: s.object({ video: s.string(), held: s.boolean(), message: s.string() }),
          },
          400: problemDoc('BAD_VIDEO, BAD_JSON, INVALID_ARGUMENT, TEXT_INVALID or VIDEO_TIME_INVALID'),
          403: problemDoc('BANNED, MUTED (with Retry-After), ROOM_MODE or ROOM_CLOSED: the video room moderation'),
          404: problemDoc('NOT_FOUND'),
          409: problemDoc('SESSION_LIVE: post to the live room instead'),
          422: problemDoc('BLOCKED_TEXT: the word filter'),
          429: problemDoc('RATE_LIMITED, SLOW_MODE or LIMIT_REACHED (held ones waiting), with Retry-After'),
          503: problemDoc('UNAVAILABLE'),
        },
      },
      handler: async (req) => {
        if (!authorized(req)) return unauthorized();
        let video: VideoRecord | RouteResponse;
        try {
          video = await videoOf(req);
        } catch (err) {
          return problem(503, 'UNAVAILABLE', `video store unavailable: ${(err as Error).message.slice(0, 200)}`);
        }
        if ('status' in video) return video;
        let b: Record<string, unknown>;
        try {
          b = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
          if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Error('not an object');
        } catch {
          return problem(400, 'BAD_JSON', 'the body must be a JSON object');
        }
        const user = (b['user'] ?? {}) as Record<string, unknown>;
        const id = user['id'];
        const name = user['name'];
        if (typeof id !== 'string' || !id || id.length > maxUserIdLength || typeof name !== 'string' || !name.trim() || name.length > 64)
          return problem(400, 'INVALID_ARGUMENT', `user needs an id (1-${maxUserIdLength} characters) and a name (1-64)`);
        const text = typeof b['text'] === 'string' ? b['text'].trim() : '';
        const why = options.checkText(text, options.maxTextLength);
        if (why) return problem(400, 'TEXT_INVALID', why);
        const duration = videoDuration(video);
        const at = b['video_ms'];
        if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0 || at >= duration)
          return problem(400, 'VIDEO_TIME_INVALID', `video_ms must be an integer from 0 to ${duration - 1}`);
        const mode = b['mode'] ?? 0;
        const color = b['color'] ?? 0xffffff;
        const size = b['size'] ?? 0;
        if ((mode !== 0 && mode !== 1 && mode !== 2) || (size !== 0 && size !== 1 && size !== 2))
          return problem(400, 'INVALID_ARGUMENT', 'mode and size are 0, 1 or 2');
        if (typeof color !== 'number' || !Number.isInteger(color) || color < 0 || color > 0xffffff)
          return problem(400, 'INVALID_ARGUMENT', 'color must be 0xRRGGBB');
        const screened = options.screen?.(videoRoom(video.id), { user: { id, name: name.trim() }, text, mode, color, size, videoMs: at });
        if (screened && !screened.ok) return refusal(video.id, screened.code, screened.message, screened.retryAfterMs);
        const shown = screened ? screened.text : text;
        const request = v1.PostRequest.encode({
          event: { danmaku: { user: { id, name: name.trim(), role: v1.Role.ROLE_VIEWER }, text: shown, mode, color, size, offsetMs: at } },
        }).finish();
        let reply: v1.PaidReply;
        try {
          reply = v1.PaidReply.decode(await options.bus.request(subjects.post(videoRoom(video.id)), request, postTimeoutMs));
        } catch {
          const res = problem(503, 'UNAVAILABLE', 'not confirmed; retry');
          return { ...res, headers: { ...res.headers, 'retry-after': '1' } };
        }
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return problem(503, 'UNAVAILABLE', reply.message);
        return json(201, { video: video.id, seq: Number(reply.seq), id: reply.event?.danmaku?.id ?? '', offset_ms: at });
      },
    },
    {
      method: 'put',
      pattern: '/api/v1/videos/:video',
      maxBody: 4 * 1024,
      doc: {
        tag: 'replay',
        summary: 'Register a VOD (a recording) with its duration',
        params: videoParam,
        body: { schema: s.object({ duration_ms: s.integer('1 to 30 days') }, ['duration_ms']) },
        responses: {
          200: { description: 're-registered', schema: videoSchema },
          201: { description: 'registered', schema: videoSchema },
          400: problemDoc('BAD_VIDEO, BAD_JSON or BAD_DURATION'),
          409: problemDoc('VIDEO_IS_SESSION'),
          503: problemDoc('UNAVAILABLE'),
        },
      },
      handler: async (req) => {
        if (!authorized(req)) return unauthorized();
        const id = req.params[0] ?? '';
        if (!isValidVideoId(id)) return problem(400, 'BAD_VIDEO', `video ids are 1 to ${maxVideoIdLength} characters of A-Z a-z 0-9 _ -`);
        let duration: unknown;
        try {
          duration = (JSON.parse(req.body.toString('utf8')) as Record<string, unknown> | null)?.['duration_ms'];
        } catch {
          return problem(400, 'BAD_JSON', 'the body must be a JSON object');
        }
        if (typeof duration !== 'number' || !Number.isSafeInteger(duration) || duration < 1 || duration > maxVideoDurationMs)
          return problem(400, 'BAD_DURATION', `duration_ms must be an integer from 1 to ${maxVideoDurationMs}`);
        try {
          const existing = await store.get(id);
          if (existing && existing.kind !== VideoKind.Vod)
            return problem(409, 'VIDEO_IS_SESSION', 'this id is a live session; its duration is its own');
          const record: VideoRecord = { id, kind: VideoKind.Vod, room: '', startedMs: 0, endedMs: 0, offsetMs: 0, durationMs: duration };
          await store.put(record);
          return json(existing ? 200 : 201, videoJson(record));
        } catch (err) {
          return problem(503, 'UNAVAILABLE', `video store unavailable: ${(err as Error).message.slice(0, 200)}`);
        }
      },
    },
  ];
}
