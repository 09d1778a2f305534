/**
 * The three ways Barrage runs, each a choice of adapters handed to the one
 * wiring (`bin/wiring.ts`): `barrage start` (core and an edge in one process
 * on memory adapters; the tests start it in-process too), `barrage edge` and
 * `barrage core` (on NATS). Each returns its parts and one `stop()`, the
 * lifecycle's: the reverse of the order things started in.
 */
import type { Logger } from 'pino';
import type { Config } from '../domain/config.js';
import type { MemoryBus } from '../domain/bus-memory.js';
import type { NatsBus } from '../domain/bus-nats.js';
import type { MemoryModerationStore } from '../domain/moderation-store-memory.js';
import type { Analytics, AnalyticsOptions } from '../core/analytics/analytics.js';
import type { GiftService } from '../core/gifts/gifts.js';
import type { LikeCounter } from '../core/likes/likes.js';
import type { ModerationService } from '../core/moderation/moderation-service.js';
import type { MemorySequencer } from '../core/sequencing/sequencer-memory.js';
import type { Webhooks } from '../core/webhooks/webhooks.js';
import type { EdgeModeration } from '../edge/moderation.js';
import type { EdgeServer } from '../edge/server.js';
import { memoryAdapters, natsCoreAdapters, natsEdgeAdapters } from './adapters.js';
import { seedDemoReplay } from '../core/replay/demo-seed.js';
import { Lifecycle } from './lifecycle.js';
import { startCore, startEdge } from './wiring.js';

/** Something running that stops once (the CLI stops it on SIGTERM/SIGINT). */
export interface Role {
  stop(): Promise<void>;
}

/** A running single-process Barrage. */
export interface SingleProcess extends Role {
  edge: EdgeServer;
  bus: MemoryBus;
  sequencer: MemorySequencer;
  gifts: GiftService;
  likes: LikeCounter;
  /** Room analytics (chDB or a ClickHouse server); absent when turned off. */
  analytics: Analytics | undefined;
  /** Webhook delivery; absent without `BARRAGE_WEBHOOK_URL`. */
  webhooks: Webhooks | undefined;
  /** Moderation: core's part and the edge's (state in memory in this mode). */
  moderation: { service: ModerationService; edge: EdgeModeration; store: MemoryModerationStore };
  port: number;
}

/**
 * Starts core and an edge in this process on `config.edge.port`.
 * `processMetrics: false` leaves process metrics out of /metrics (many
 * servers in one test process); `analyticsSink` tunes the sink (tests);
 * `seedDemo` records the `/replay` demo's video (core/replay/demo-seed.ts).
 */
export function startSingleProcess(
  config: Config,
  logger: Logger,
  options: { processMetrics?: boolean; analyticsSink?: AnalyticsOptions['sink']; seedDemo?: boolean } = {},
): Promise<SingleProcess> {
  const lifecycle = new Lifecycle(logger);
  const starting = { logger, lifecycle };
  return lifecycle.run(async () => {
    const adapters = memoryAdapters(config, starting);
    const core = await startCore(config, adapters, starting, options.analyticsSink ? { analyticsSink: options.analyticsSink } : {});
    const { analytics } = core;
    const edge = await startEdge(
      config,
      {
        ...adapters,
        analytics: analytics && {
          queries: analytics.queries,
          replay: analytics.replay,
          routes: analytics.routes,
          stats: () => analytics.sink.stats(),
        },
        webhookStats: core.webhooks && (() => (core.webhooks as Webhooks).stats()),
      },
      starting,
      options,
    );
    // The /replay demo's recording (`barrage start` with demo tokens on and analytics to replay from).
    if (options.seedDemo && config.edge.demoTokens && analytics) await seedDemoReplay(adapters.bus, adapters.videoStore);
    return {
      edge: edge.server,
      bus: adapters.bus,
      sequencer: adapters.sequencer,
      gifts: core.gifts,
      likes: core.likes,
      analytics,
      webhooks: core.webhooks,
      moderation: { service: core.moderation, edge: edge.moderation, store: adapters.moderationStore },
      port: edge.port,
      stop: () => lifecycle.stop(),
    };
  });
}

/** `barrage edge`: connections only, joined to the other processes by NATS. */
export function startEdgeProcess(config: Config, logger: Logger): Promise<Role & { edge: EdgeServer; bus: NatsBus; port: number }> {
  const lifecycle = new Lifecycle(logger);
  const starting = { logger, lifecycle };
  return lifecycle.run(async () => {
    const adapters = await natsEdgeAdapters(config, starting);
    const edge = await startEdge(config, adapters, starting);
    return { edge: edge.server, bus: adapters.bus, port: edge.port, stop: () => lifecycle.stop() };
  });
}

/** `barrage core`: sequencing, history, online counts, moderation, gifts, likes and analytics for every room. */
export function startCoreProcess(
  config: Config,
  logger: Logger,
): Promise<Role & { bus: NatsBus; analytics: Analytics | undefined; webhooks: Webhooks | undefined; httpPort: number }> {
  const lifecycle = new Lifecycle(logger);
  const starting = { logger, lifecycle };
  return lifecycle.run(async () => {
    const adapters = await natsCoreAdapters(config, starting);
    const core = await startCore(config, adapters, starting, { http: true });
    return {
      bus: adapters.bus,
      analytics: core.analytics,
      webhooks: core.webhooks,
      httpPort: core.httpPort ?? config.core.httpPort,
      stop: () => lifecycle.stop(),
    };
  });
}
