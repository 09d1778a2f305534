/**
 * Composition of a single-process Barrage: the in-process bus, core's
 * sequencer and one edge with the pages. `barrage start` and the tests use it.
 */
import type { Logger } from 'pino';
import { startAnalytics, analyticsOptionsFromEnv } from '../core/analytics/analytics.js';
import { registerAnalyticsMetrics } from '../core/analytics/analytics-metrics.js';
import type { Analytics, AnalyticsOptions } from '../core/analytics/analytics.js';
import { BusEventSource } from '../core/analytics/analytics-source.js';
import { mintToken } from '../domain/auth.js';
import { MemoryBus } from '../domain/bus-memory.js';
import type { Config } from '../domain/config.js';
import { loadGiftConfig } from '../domain/config-gifts.js';
import type { GiftConfig } from '../domain/config-gifts.js';
import { MemoryGiftLedger } from '../core/gifts/gift-ledger-memory.js';
import { GiftService } from '../core/gifts/gifts.js';
import { giftRoutes } from '../core/http/gifts-api.js';
import { LikeCounter } from '../core/likes/likes.js';
import { MemorySequencer } from '../core/sequencing/sequencer-memory.js';
import { moderationOptionsFromEnv } from '../domain/moderation.js';
import type { ModerationOptions } from '../domain/moderation.js';
import { moderationRoutes } from '../core/http/moderation-api.js';
import { ModerationService } from '../core/moderation/moderation-service.js';
import { MemoryModerationStore } from '../domain/moderation-store-memory.js';
import { EdgeModeration } from '../edge/moderation.js';
import { giftsExtension } from '../edge/gifts-extension.js';
import { EdgeServer } from '../edge/server.js';
import { pageRoutes } from '../edge/pages.js';

/** A running single-process Barrage. */
export interface SingleProcess {
  edge: EdgeServer;
  bus: MemoryBus;
  sequencer: MemorySequencer;
  gifts: GiftService;
  likes: LikeCounter;
  /** Room analytics (chDB or a ClickHouse server); absent when turned off. */
  analytics: Analytics | undefined;
  /** Moderation: core's part and the edge's (state in memory in this mode). */
  moderation: { service: ModerationService; edge: EdgeModeration; store: MemoryModerationStore };
  port: number;
  stop(): Promise<void>;
}

/** Starts edge and core in this process on `config.port`. */
export async function startSingleProcess(
  config: Config,
  logger: Logger,
  options: {
    processMetrics?: boolean;
    analytics?: AnalyticsOptions | false;
    moderation?: Partial<ModerationOptions>;
    giftConfig?: GiftConfig;
  } = {},
): Promise<SingleProcess> {
  const giftConfig = options.giftConfig ?? loadGiftConfig(process.env, config.secret);
  const bus = new MemoryBus();
  const roomIdleMs = config.roomIdleSeconds * 1000;
  const sequencer = new MemorySequencer(bus, { retainEvents: config.retainEvents, joinHistory: config.joinHistory, logger, roomIdleMs });
  sequencer.start();
  // Receipts live at most a day here, so a day of ids covers any replay.
  const ledger = new MemoryGiftLedger({ ttlMs: 86_400_000, maxEntries: 1_000_000 });
  const gifts = new GiftService({ bus, sequencer, ledger, config: giftConfig, logger: logger.child({ part: 'gifts' }), roomIdleMs });
  gifts.start();
  const likes = new LikeCounter({ bus, sequencer, logger, pushMs: giftConfig.likePushMs, roomIdleMs });
  likes.start();
  const analyticsOptions = options.analytics ?? analyticsOptionsFromEnv(process.env, config);
  const analytics = analyticsOptions ? startAnalytics(analyticsOptions, new BusEventSource(bus), logger) : undefined;
  // The moderation and gift APIs take the key too, so it is shown whether or not analytics runs.
  if (config.apiKeyDerived) logger.info({ apiKey: config.apiKey }, 'no BARRAGE_API_KEY: development API key for /api/v1 and /dashboard');
  // Moderation state lives in memory in this mode: a restart forgets time-outs and bans.
  const moderationOptions = { ...moderationOptionsFromEnv(process.env), ...options.moderation };
  const store = new MemoryModerationStore();
  const service = new ModerationService(bus, store, { ...moderationOptions, logger: logger.child({ part: 'moderation' }), roomIdleMs });
  service.start();
  const moderation = new EdgeModeration({ store, options: moderationOptions });
  const routes = [
    ...moderationRoutes({
      bus,
      store,
      options: moderationOptions,
      apiKey: config.apiKey,
      queries: () => analytics?.queries,
      stateOf: (room) => moderation.stateOf(room),
    }),
    ...pageRoutes({
      defaultRoom: 'demo',
      ...(config.demoTokens
        ? {
            mintDemoToken: (room: string, user: string) =>
              mintToken(config.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
          }
        : {}),
    }),
    ...(analytics?.routes ?? []),
    ...giftRoutes({ apiKey: config.apiKey, bus }),
  ];
  const edge = new EdgeServer({
    config,
    bus,
    logger,
    routes,
    processMetrics: options.processMetrics ?? true,
    extensions: [moderation, giftsExtension(giftConfig)],
  });
  if (analytics) registerAnalyticsMetrics(edge.metrics.registry, () => analytics.sink.stats());
  const port = await edge.listen();
  return {
    edge,
    bus,
    sequencer,
    gifts,
    likes,
    analytics,
    moderation: { service, edge: moderation, store },
    port,
    async stop() {
      await edge.shutdown();
      service.stop();
      gifts.stop();
      likes.stop();
      sequencer.stop();
      await analytics?.stop();
      await bus.close();
    },
  };
}
