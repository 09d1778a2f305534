/**
 * HTTP routes of analytics for site backends and operators (API key), and
 * the `/dashboard` page with its bundle. Plain `Route` objects: the edge
 * mounts them; nothing here touches uWebSockets.js.
 *
 * - `GET /api/v1/rooms/:room/stats?from&to`: totals (`RoomStats`)
 * - `GET /api/v1/rooms/:room/timeline?from&to`: per-minute series
 * - `GET /api/v1/rooms/:room/top-gifters?from&to&limit`
 * - `GET /api/v1/rooms/:room/top-words?from&to&limit`
 * - `GET /api/v1/rooms/:room/play-stats?from&to`: red packets, polls, lotteries
 * - `GET /api/v1/analytics/status`: sink counters and the engine
 * - `GET /dashboard`, `GET /dashboard.js`, `GET /dashboard.css`
 *
 * `from` and `to` are milliseconds since the epoch or ISO 8601 times; the
 * default range is the last hour. The key is `Authorization: Bearer <key>`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonSchema, Route, RouteRequest, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { packageRoot } from '../../domain/paths.js';
import type { AnalyticsQueries, RoomRange } from '../analytics/analytics-queries.js';
import type { SinkStats } from '../analytics/analytics-sink.js';
import { isValidRoomId } from '../../domain/subjects.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';

/** What the routes need. */
export interface AnalyticsApiOptions {
  queries: AnalyticsQueries;
  /** The API key site backends send; compared in constant time. */
  apiKey: string;
  engine: string;
  sinkStats?: () => SinkStats;
  /** Longest range a request may ask for (default 31 days). */
  maxRangeMs?: number;
  /**
   * Development only (the development secret and a derived key): the key the
   * dashboard page hands a visitor on this machine, so nothing is pasted.
   * Never given with a real secret or `BARRAGE_API_KEY`.
   */
  devKey?: string;
}

function parseTime(raw: string | null, fallback: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : t;
}

const time = 'epoch milliseconds or an ISO 8601 time';
const rangeQuery = {
  from: { description: `start of the range, ${time} (default: an hour before \`to\`)` },
  to: { description: `end of the range, ${time} (default: now)` },
};
const int = (d?: string) => s.integer(d);
const statsSchema = s.object({
  room: s.string(),
  ...Object.fromEntries(
    [
      'from',
      'to',
      'events',
      'messages',
      'likes',
      'gifts',
      'giftEvents',
      'superChats',
      'revenueCents',
      'gifters',
      'chatters',
      'moderationActions',
      'peakOnline',
    ].map((k) => [k, int()]),
  ),
  avgOnline: s.number(),
  avgLatencyMs: s.number(),
});
const timelineSchema = s.object({
  room: s.string(),
  from: int(),
  to: int(),
  points: s.array(
    s.object({
      minute: int('seconds since the epoch'),
      messages: int(),
      likes: int(),
      gifts: int(),
      revenueCents: int(),
      onlineMax: int(),
      onlineAvg: s.number(),
      moderation: int(),
    }),
  ),
});
const giftersSchema = s.object({
  room: s.string(),
  gifters: s.array(s.object({ userId: s.string(), name: s.string(), revenueCents: int(), gifts: int() })),
});
const wordsSchema = s.object({ room: s.string(), words: s.array(s.object({ word: s.string(), count: int() })) });
const playStatsSchema = s.object({
  room: s.string(),
  from: int(),
  to: int(),
  started: int('plays opened in the range'),
  ended: int('plays ended in the range'),
  grabs: int('red packet shares taken in the range'),
  votes: int('poll voters added in the range'),
  entries: int('lottery entrants added in the range'),
  points: s.array(s.object({ minute: int('seconds since the epoch'), grabs: int(), votes: int(), entries: int() })),
  plays: s.array(
    s.object({
      kind: s.string('red_packet, poll or lottery'),
      id: s.string(),
      startedMs: int('0 when it opened before the range'),
      endedMs: int('0 while open'),
      by: s.string('who opened it'),
      title: s.string('greeting, question or prize'),
      size: int('shares, options or winners'),
      taken: int('viewers who grabbed, voted or entered'),
    }),
  ),
});

/** The analytics API and dashboard routes. */
export function analyticsRoutes(options: AnalyticsApiOptions): Route[] {
  const maxRange = options.maxRangeMs ?? 31 * 24 * 3600_000;

  const authorized = bearerAuth(options.apiKey);

  const range = (req: RouteRequest): RoomRange | RouteResponse => {
    const room = req.params[0] ?? '';
    if (!isValidRoomId(room)) return problem(400, 'BAD_ROOM', 'room ids are 1 to 64 characters of A-Z a-z 0-9 _ -');
    const now = Date.now();
    const toMs = parseTime(req.query.get('to'), now);
    const fromMs = parseTime(req.query.get('from'), (toMs ?? now) - 3600_000);
    if (toMs === undefined || fromMs === undefined) return problem(400, 'BAD_TIME', 'from and to are epoch milliseconds or ISO 8601 times');
    if (fromMs >= toMs) return problem(400, 'BAD_RANGE', 'from must be before to');
    if (toMs - fromMs > maxRange) return problem(400, 'BAD_RANGE', `the range may span at most ${maxRange / 86_400_000} days`);
    return { room, fromMs, toMs };
  };

  const limit = (req: RouteRequest): number => Math.min(100, Math.max(1, Number.parseInt(req.query.get('limit') ?? '10', 10) || 10));

  const api = (
    pattern: string,
    doc: { summary: string; result: JsonSchema; limit?: boolean },
    run: (r: RoomRange, req: RouteRequest) => Promise<unknown>,
  ): Route => ({
    method: 'get',
    pattern,
    doc: {
      tag: 'analytics',
      summary: doc.summary,
      params: { room: 'room id' },
      query: { ...rangeQuery, ...(doc.limit ? { limit: { description: 'rows, 1 to 100 (default 10)', schema: s.integer() } } : {}) },
      responses: {
        200: { description: 'the answer', schema: doc.result },
        400: problemDoc('BAD_ROOM, BAD_TIME or BAD_RANGE'),
        503: problemDoc('ANALYTICS_UNAVAILABLE: the analytics store did not answer'),
      },
    },
    handler: async (req) => {
      if (!authorized(req)) return unauthorized();
      const r = range(req);
      if ('status' in r) return r;
      try {
        return json(200, await run(r, req));
      } catch (err) {
        return problem(503, 'ANALYTICS_UNAVAILABLE', (err as Error).message.slice(0, 300));
      }
    },
  });

  const root = packageRoot();
  const asset = (file: string): string | undefined => {
    const path = join(root, 'dist/dashboard', file);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };
  const bundle = asset('dashboard.js');
  const css = asset('dashboard.css');

  return [
    api('/api/v1/rooms/:room/stats', { summary: 'Totals of a room over a time range', result: statsSchema }, (r) =>
      options.queries.stats(r),
    ),
    api('/api/v1/rooms/:room/timeline', { summary: 'Per-minute series of a room', result: timelineSchema }, async (r) => ({
      room: r.room,
      from: r.fromMs,
      to: r.toMs,
      points: await options.queries.timeline(r),
    })),
    api(
      '/api/v1/rooms/:room/top-gifters',
      { summary: 'Viewers who spent most in the range', result: giftersSchema, limit: true },
      async (r, req) => ({ room: r.room, gifters: await options.queries.topGifters(r, limit(req)) }),
    ),
    api(
      '/api/v1/rooms/:room/top-words',
      { summary: 'Most used words in danmaku in the range', result: wordsSchema, limit: true },
      async (r, req) => ({ room: r.room, words: await options.queries.topWords(r, limit(req)) }),
    ),
    api(
      '/api/v1/rooms/:room/play-stats',
      { summary: 'Red packets, polls and lotteries of the range, and grabs, votes and entries per minute', result: playStatsSchema },
      async (r) => ({ room: r.room, from: r.fromMs, to: r.toMs, ...(await options.queries.plays(r)) }),
    ),
    {
      method: 'get',
      pattern: '/api/v1/analytics/status',
      doc: {
        tag: 'analytics',
        summary: 'The analytics engine and the sink counters',
        responses: {
          200: {
            description: 'engine (chdb or clickhouse) and the sink counters (null on an edge without the sink)',
            schema: s.object({ engine: s.string(), sink: s.any('SinkStats counters (docs/analytics.md), or null') }, ['engine', 'sink']),
          },
        },
      },
      handler: (req) => (authorized(req) ? json(200, { engine: options.engine, sink: options.sinkStats?.() ?? null }) : unauthorized()),
    },
    {
      method: 'get',
      pattern: '/dashboard',
      doc: {
        tag: 'pages',
        summary: 'The analytics dashboard page (asks for the API key)',
        description:
          'In development (the development secret, no BARRAGE_API_KEY) a visitor on this machine (loopback, not proxied) gets the development key in the page and pastes nothing.',
        responses: { 200: { description: 'HTML', contentType: 'text/html' } },
      },
      handler: (req): RouteResponse =>
        options.devKey !== undefined && req.loopback === true
          ? {
              status: 200,
              headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
              body: dashboardHtml.replace(
                '<meta charset="utf-8">',
                `<meta charset="utf-8">\n<meta name="barrage-dev-key" content="${options.devKey.replace(/[^A-Za-z0-9_-]/g, '')}">`,
              ),
            }
          : { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: dashboardHtml },
    },
    {
      method: 'get',
      pattern: '/dashboard.js',
      doc: {
        tag: 'pages',
        summary: "The dashboard's script",
        responses: { 200: { description: 'JavaScript', contentType: 'text/javascript' }, 404: { description: 'not built' } },
      },
      handler: () =>
        bundle
          ? { status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8' }, body: bundle }
          : { status: 404, headers: { 'content-type': 'text/plain' }, body: 'dashboard not built: run npm run build' },
    },
    {
      method: 'get',
      pattern: '/dashboard.css',
      doc: {
        tag: 'pages',
        summary: "The dashboard's style sheet",
        responses: { 200: { description: 'CSS', contentType: 'text/css' }, 404: { description: 'not built' } },
      },
      handler: () => ({ status: css ? 200 : 404, headers: { 'content-type': 'text/css; charset=utf-8' }, body: css ?? '' }),
    },
  ];
}

/** The page: a form, six charts and three tables; the bundle fills them in. */
const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Barrage analytics</title>
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<header>
  <h1 data-i18n="title">Barrage analytics</h1>
  <form id="controls">
    <label><span data-i18n="room">Room</span> <input name="room" required pattern="[A-Za-z0-9_-]{1,64}"></label>
    <label><span data-i18n="from">From</span> <input name="from" type="datetime-local" step="60"></label>
    <label><span data-i18n="to">To</span> <input name="to" type="datetime-local" step="60"></label>
    <label><span data-i18n="apiKey">API key</span> <input name="key" type="password" autocomplete="off"></label>
    <button type="submit" data-i18n="show">Show</button>
  </form>
  <p id="status" role="status"></p>
</header>
<main>
  <section id="totals" aria-label="Totals" data-i18n-label="totals"></section>
  <section class="charts">
    <figure><figcaption data-i18n="messagesPerMinute">Messages per minute</figcaption><div id="chart-messages" class="chart"></div></figure>
    <figure><figcaption data-i18n="online">Online</figcaption><div id="chart-online" class="chart"></div></figure>
    <figure><figcaption data-i18n="giftsPerMinute">Gifts per minute</figcaption><div id="chart-gifts" class="chart"></div></figure>
    <figure><figcaption data-i18n="revenuePerMinute">Revenue per minute</figcaption><div id="chart-revenue" class="chart"></div></figure>
  </section>
  <section class="tables">
    <figure><figcaption data-i18n="topGifters">Top gifters</figcaption><table id="top-gifters"><thead><tr><th>#</th><th data-i18n="viewer">Viewer</th><th data-i18n="gifts">Gifts</th><th data-i18n="revenue">Revenue</th></tr></thead><tbody></tbody></table></figure>
    <figure><figcaption data-i18n="topWords">Top words</figcaption><div id="chart-words" class="chart"></div><table id="top-words"><thead><tr><th data-i18n="word">Word</th><th data-i18n="danmaku">Danmaku</th></tr></thead><tbody></tbody></table></figure>
  </section>
  <section class="tables">
    <figure><figcaption data-i18n="playsPerMinute">Grabs, votes and entries per minute</figcaption><div id="chart-plays" class="chart"></div></figure>
    <figure><figcaption data-i18n="plays">Plays</figcaption><table id="plays"><thead><tr><th data-i18n="play">Play</th><th data-i18n="startedBy">Started by</th><th data-i18n="started">Started</th><th data-i18n="takenPart">Took part</th></tr></thead><tbody></tbody></table></figure>
  </section>
</main>
<script type="module" src="/dashboard.js"></script>
</body>
</html>
`;
