/**
 * The one wiring of Barrage's services. `startCore` builds core's services
 * (analytics sink, moderation, gifts, likes and, in its own process, its
 * health and metrics server) and `startEdge` builds an edge (pages, demo
 * tokens, the moderation and gift extensions, the API routes it serves).
 * Both take the loaded configuration and the adapters they run on: the bus,
 * the sequencer, the moderation store and the gift ledger, in memory for
 * `barrage start` and on NATS, JetStream and KV for `barrage edge|core`
 * (`bin/adapters.ts` makes both sets). `barrage start` is `startCore` and
 * `startEdge` in one process on the memory adapters (`bin/app.ts`).
 *
 * Every part is recorded on the `Lifecycle` where it starts, so stopping is
 * the reverse of starting without a second list to keep in step.
 */
import type { Logger } from 'pino';
import { mintToken } from '../domain/auth.js';
import { BusStatus } from '../domain/bus.js';
import type { Bus } from '../domain/bus.js';
import type { Config } from '../domain/config.js';
import type { CoreLatency } from '../domain/latency.js';
import type { Route } from '../domain/http.js';
import type { ModerationStore } from '../domain/moderation-store.js';
import type { VideoStore } from '../domain/video-store.js';
import { startAnalytics } from '../core/analytics/analytics.js';
import type { Analytics, AnalyticsOptions } from '../core/analytics/analytics.js';
import { registerAnalyticsMetrics } from '../core/analytics/analytics-metrics.js';
import type { AnalyticsQueries } from '../core/analytics/analytics-queries.js';
import type { SinkStats } from '../core/analytics/analytics-sink.js';
import type { EventSource } from '../core/analytics/analytics-source.js';
import type { GiftLedger } from '../core/gifts/gift-ledger.js';
import type { PlayStateStore } from '../core/plays/play-state-store.js';
import type { RedPacketStore } from '../core/plays/red-packet-store.js';
import { Plays } from '../core/plays/plays.js';
import { playRoutes } from '../core/http/plays-api.js';
import { pollRoutes } from '../core/http/polls-api.js';
import { GiftService } from '../core/gifts/gifts.js';
import { MessageService } from '../core/messages/message-service.js';
import { messageRoutes } from '../core/http/messages-api.js';
import { directExtension } from '../edge/direct.js';
import { validateDanmaku, isRefusal } from '../edge/validate.js';
import { coreMetrics, startCoreHttp } from '../core/http/core-http.js';
import { giftRoutes } from '../core/http/gifts-api.js';
import { moderationRoutes } from '../core/http/moderation-api.js';
import { reportRoutes } from '../core/http/reports-api.js';
import { replayRoutes } from '../core/http/replay-api.js';
import { SiteDanmakuScreen } from '../edge/site-danmaku.js';
import { sessionRoutes } from '../core/http/sessions-api.js';
import { catalogueRoutes } from '../core/http/catalogue-api.js';
import { LikeCounter } from '../core/likes/likes.js';
import { ModerationService } from '../core/moderation/moderation-service.js';
import type { ReplayQueries } from '../core/replay/replay-queries.js';
import type { Sequencer } from '../core/sequencing/sequencer.js';
import { webhookRoutes } from '../core/http/webhooks-api.js';
import type { DeadLetterStore } from '../core/webhooks/dead-letters.js';
import { registerWebhookMetrics } from '../core/webhooks/webhook-metrics.js';
import { Webhooks } from '../core/webhooks/webhooks.js';
import type { WebhookStats } from '../core/webhooks/webhooks.js';
import { SessionResets } from '../core/sessions/session-resets.js';
import { giftsExtension } from '../edge/gifts-extension.js';
import { EdgeModeration } from '../edge/moderation.js';
import { playsExtension } from '../edge/plays-extension.js';
import { pageRoutes } from '../edge/pages.js';
import { EdgeServer } from '../edge/server.js';
import { reportsExtension } from '../edge/reports.js';
import { joinsExtension } from '../edge/joins.js';
import { webhookPresenceExtension } from '../edge/webhook-presence.js';
import type { EdgeExtension } from '../edge/extensions.js';
import { JoinNotices } from '../core/joins/joins.js';
import { ReportService } from '../core/reports/reports.js';
import type { ReportStore } from '../core/reports/report-store.js';
import { VideoAccess } from '../edge/video.js';
import type { Lifecycle } from './lifecycle.js';

/** What every start is given besides the configuration: where to log and where to record what it started. */
export interface Starting {
  logger: Logger;
  lifecycle: Lifecycle;
}

/** What core runs on; started (and recorded on the lifecycle) by whoever made them. */
export interface CoreAdapters {
  bus: Bus;
  sequencer: Sequencer;
  ledger: GiftLedger;
  moderationStore: ModerationStore;
  /** Red packets and their grabs. */
  redPackets: RedPacketStore;
  /** Polls, lotteries and red-packet keyword eligibility. */
  playState: PlayStateStore;
  /** Where reported danmaku are counted (shared by every core). */
  reportStore: ReportStore;
  /** Where the analytics sink reads sequenced events from (started by the sink). */
  analyticsSource: EventSource;
  /** Core's latency histogram, fed by the sequencer; exported on core's /metrics. */
  coreLatency?: CoreLatency;
  /** Where webhooks read events from and keep dead letters; absent when no `BARRAGE_WEBHOOK_URL` is set. */
  webhooks?: { source: EventSource; dead: DeadLetterStore } | undefined;
}

/** The analytics API an edge serves: the sink's own in one process, a ClickHouse reader on a clustered edge. */
export interface EdgeAnalytics {
  queries: AnalyticsQueries;
  /** A video's danmaku by video time (the replay API). */
  replay?: ReplayQueries;
  routes: Route[];
  /** The sink's counters, when the sink runs in this process (exported on the edge's /metrics). */
  stats?: () => SinkStats;
}

/** The webhooks' counters, when they are delivered from this process (exported on the edge's /metrics). */
export type EdgeWebhookStats = () => WebhookStats;

/** What an edge runs on. */
export interface EdgeAdapters {
  bus: Bus;
  moderationStore: ModerationStore;
  /** Live sessions and registered videos (the session and replay API). */
  videoStore: VideoStore;
  analytics?: EdgeAnalytics | undefined;
  /** Core's latency histogram when core runs in this process (exported on the edge's /metrics). */
  coreLatency?: CoreLatency | undefined;
  webhookStats?: EdgeWebhookStats | undefined;
}

/** Core's services, running. */
export interface Core {
  gifts: GiftService;
  messages: MessageService;
  likes: LikeCounter;
  moderation: ModerationService;
  plays: Plays;
  reports: ReportService;
  /** The analytics sink, store and routes; absent when analytics is off. */
  analytics: Analytics | undefined;
  /** Webhook delivery; absent when no `BARRAGE_WEBHOOK_URL` is set. */
  webhooks: Webhooks | undefined;
  /** Port of core's own /healthz, /readyz and /metrics; absent in one process (the edge serves those). */
  httpPort: number | undefined;
}

/** An edge, listening. */
export interface Edge {
  server: EdgeServer;
  moderation: EdgeModeration;
  port: number;
}

/**
 * Starts core's services on `adapters`. `http` starts core's own health and
 * metrics server on `config.core.httpPort` (`barrage core`); `analyticsSink`
 * tunes the sink (tests flush it fast).
 */
export async function startCore(
  config: Config,
  adapters: CoreAdapters,
  { logger, lifecycle }: Starting,
  options: { http?: boolean; analyticsSink?: AnalyticsOptions['sink'] } = {},
): Promise<Core> {
  const { bus, sequencer, ledger } = adapters;
  const { roomIdleMs } = config.core;
  // Analytics from the source: in one process every event on the bus; clustered a durable
  // consumer on the room stream, acknowledged only after ClickHouse (or chDB) accepted it.
  const analytics = config.analytics.enabled
    ? lifecycle.add(
        'analytics',
        startAnalytics(
          {
            ...config.analytics,
            apiKey: config.auth.apiKey,
            // Development only: the development secret and no BARRAGE_API_KEY.
            ...(config.auth.secretSource === 'file' && config.auth.apiKeyDerived ? { devKey: config.auth.apiKey } : {}),
            ...(options.analyticsSink ? { sink: options.analyticsSink } : {}),
          },
          adapters.analyticsSource,
          logger,
        ),
        (a) => a.stop(),
      )
    : undefined;
  const moderation = lifecycle.add(
    'moderation',
    new ModerationService(bus, adapters.moderationStore, {
      ...config.moderation,
      logger: logger.child({ part: 'moderation' }),
      roomIdleMs,
    }),
    (m) => m.stop(),
  );
  moderation.start();
  const reports = lifecycle.add(
    'reports',
    new ReportService(bus, adapters.reportStore, {
      holdThreshold: config.moderation.reportHoldThreshold,
      windowMs: config.moderation.reportWindowSeconds * 1000,
      logger: logger.child({ part: 'reports' }),
    }),
    (r) => r.stop(),
  );
  reports.start();
  if (config.moderation.joinNotices) {
    const joins = lifecycle.add(
      'join notices',
      new JoinNotices({ bus, sequencer, logger: logger.child({ part: 'joins' }), windowMs: config.moderation.joinNoticeMs }),
      (j) => j.stop(),
    );
    joins.start();
  }
  const gifts = lifecycle.add(
    'gifts',
    new GiftService({ bus, sequencer, ledger, config: config.gifts, logger: logger.child({ part: 'gifts' }), roomIdleMs }),
    (g) => g.stop(),
  );
  gifts.start();
  const likes = lifecycle.add('likes', new LikeCounter({ bus, sequencer, logger, pushMs: config.gifts.likePushMs, roomIdleMs }), (l) =>
    l.stop(),
  );
  likes.start();
  const messages = lifecycle.add(
    'messages',
    new MessageService({ bus, sequencer, ledger, logger: logger.child({ part: 'messages' }) }),
    (m) => m.stop(),
  );
  messages.start();
  const plays = lifecycle.add(
    'plays',
    new Plays({
      bus,
      sequencer,
      store: adapters.redPackets,
      state: adapters.playState,
      logger: logger.child({ part: 'plays' }),
      knownGift: (id) => config.gifts.gifts.has(id),
    }),
    (p) => p.stop(),
  );
  plays.start();
  let webhooks: Webhooks | undefined;
  if (adapters.webhooks && config.webhooks.urls.length > 0) {
    if (config.webhooks.secretDerived) {
      logger.warn('no BARRAGE_WEBHOOK_SECRET: webhooks are signed with a development secret derived from the token secret');
    }
    webhooks = lifecycle.add(
      'webhooks',
      new Webhooks(config.webhooks, { ...adapters.webhooks, bus, logger: logger.child({ part: 'webhooks' }) }),
      (w) => w.stop(),
    );
    await webhooks.start();
  }
  // Like totals and the leaderboard are per live session: a start begins them again.
  lifecycle.add('session resets', new SessionResets(bus, [likes, gifts], logger.child({ part: 'sessions' })), (r) => r.stop()).start();
  let httpPort: number | undefined;
  if (options.http) {
    const connected = () => bus.status() === BusStatus.Connected;
    const registry = coreMetrics(connected, analytics ? () => analytics.sink.stats() : undefined, webhooks && (() => webhooks.stats()));
    adapters.coreLatency?.registerIn(registry);
    const http = await startCoreHttp({
      host: config.core.host,
      port: config.core.httpPort,
      registry,
      ready: connected,
      logger,
    });
    lifecycle.add('core http', http, (h) => h.close());
    httpPort = http.port;
  }
  return { gifts, likes, moderation, messages, plays, reports, analytics, webhooks, httpPort };
}

/** Joins and leaves for webhooks, when a URL wants them (edges need `BARRAGE_WEBHOOK_URL` and `_EVENTS` too). */
function webhookPresence(config: Config): EdgeExtension[] {
  const { urls, kinds } = config.webhooks;
  const join = kinds.has('join');
  const leave = kinds.has('leave');
  return urls.length > 0 && (join || leave) ? [webhookPresenceExtension({ join, leave })] : [];
}

/** Starts an edge on `adapters` and resolves once it listens on `config.edge.port`. */
export async function startEdge(
  config: Config,
  adapters: EdgeAdapters,
  { logger, lifecycle }: Starting,
  options: { processMetrics?: boolean } = {},
): Promise<Edge> {
  const { bus, analytics } = adapters;
  const { edge: settings, auth } = config;
  // Every edge serves /api/v1, so the key is shown wherever it was derived.
  if (auth.apiKeyDerived) logger.info({ apiKey: auth.apiKey }, 'no BARRAGE_API_KEY: development API key for /api/v1 and /dashboard');
  // The same checks as a viewer's danmaku (edge/validate.ts), for text the site posts.
  const checkText = (text: string, max: number): string | undefined => {
    const checked = validateDanmaku({ text }, { maxTextLength: max });
    return isRefusal(checked) ? checked.message : undefined;
  };
  const moderation = new EdgeModeration({ store: adapters.moderationStore, options: config.moderation });
  // Danmaku a site posts to a video get a viewer's live checks (rate limit, moderation, word filter).
  const siteDanmaku = new SiteDanmakuScreen({
    policies: [moderation],
    danmakuPerSecond: settings.danmakuPerSecond,
    danmakuBurst: settings.danmakuBurst,
    // Called from a route, so after `server` below exists.
    onRateLimited: () => server.metrics.rateLimited.inc({ limit: 'danmaku' }),
  });
  const routes = [
    // Served by every edge: it only publishes to the bus and reads the store.
    ...moderationRoutes({
      bus,
      store: adapters.moderationStore,
      options: config.moderation,
      apiKey: auth.apiKey,
      queries: () => analytics?.queries,
      stateOf: (room) => moderation.stateOf(room),
    }),
    ...pageRoutes({
      defaultRoom: 'demo',
      ...(settings.demoTokens
        ? {
            mintDemoToken: (room: string, user: string) =>
              mintToken(settings.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
          }
        : {}),
    }),
    ...(analytics?.routes ?? []),
    ...giftRoutes({ apiKey: auth.apiKey, bus }),
    ...messageRoutes({ bus, maxTextLength: settings.maxTextLength, checkText }),
    ...playRoutes({ apiKey: auth.apiKey, bus }),
    ...pollRoutes({ apiKey: auth.apiKey, bus }),
    ...reportRoutes({ apiKey: auth.apiKey, bus }),
    ...catalogueRoutes({ emotes: config.moderation.emoteCatalogue, plainEmotes: config.moderation.emotes, gifts: config.gifts }),
    // Every edge: the requests go to the core that delivers webhooks.
    ...webhookRoutes({ apiKey: auth.apiKey, bus }),
    ...sessionRoutes({ bus, store: adapters.videoStore, apiKey: auth.apiKey }),
    ...replayRoutes({
      store: adapters.videoStore,
      apiKey: auth.apiKey,
      queries: () => analytics?.replay,
      bus,
      maxTextLength: settings.maxTextLength,
      checkText,
      screen: siteDanmaku.check,
    }),
  ];
  const server = new EdgeServer({
    config: settings,
    bus,
    logger,
    routes,
    processMetrics: options.processMetrics ?? true,
    moderationHook: config.moderationHook,
    // The edge starts and stops its extensions itself.
    extensions: [
      moderation,
      giftsExtension(config.gifts),
      playsExtension(),
      reportsExtension({ perMinute: config.moderation.reportsPerMinute }),
      ...(config.moderation.joinNotices ? [joinsExtension({ windowMs: config.moderation.joinNoticeMs })] : []),
      ...webhookPresence(config),
      directExtension(),
      new VideoAccess({ store: adapters.videoStore }),
    ],
  });
  if (analytics?.stats) registerAnalyticsMetrics(server.metrics.registry, analytics.stats);
  adapters.coreLatency?.registerIn(server.metrics.registry);
  if (adapters.webhookStats) registerWebhookMetrics(server.metrics.registry, adapters.webhookStats);
  // Recorded before it listens: a listen that fails halfway (an extension) still closes the socket.
  lifecycle.add('edge', server, (s) => s.shutdown());
  const port = await server.listen();
  return { server, moderation, port };
}
