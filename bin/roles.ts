/**
 * Composition of the NATS roles: `barrage edge` (connections only) and
 * `barrage core` (the JetStream sequencer). Both join the same NATS cluster.
 */
import type { Logger } from 'pino';
import { mintToken } from '../domain/auth.js';
import { BusStatus } from '../domain/bus.js';
import { NatsBus } from '../domain/bus-nats.js';
import { coreMetrics, startCoreHttp } from '../core/http/core-http.js';
import type { Config } from '../domain/config.js';
import { loadGiftConfig } from '../domain/config-gifts.js';
import type { GiftConfig } from '../domain/config-gifts.js';
import type { NatsConfig } from '../domain/config-nats.js';
import { KvGiftLedger } from '../core/gifts/gift-ledger-kv.js';
import { GiftService } from '../core/gifts/gifts.js';
import { giftRoutes } from '../core/http/gifts-api.js';
import { LikeCounter } from '../core/likes/likes.js';
import { JetStreamSequencer } from '../core/sequencing/sequencer-jetstream.js';
import { analyticsOptionsFromEnv, startAnalytics, startAnalyticsReader } from '../core/analytics/analytics.js';
import type { Analytics, AnalyticsReader } from '../core/analytics/analytics.js';
import { JetStreamEventSource } from '../core/analytics/analytics-source-jetstream.js';
import { moderationOptionsFromEnv } from '../domain/moderation.js';
import { moderationRoutes } from '../core/http/moderation-api.js';
import { ModerationService } from '../core/moderation/moderation-service.js';
import { KvModerationStore } from '../domain/moderation-store-kv.js';
import { EdgeModeration } from '../edge/moderation.js';
import { giftsExtension } from '../edge/gifts-extension.js';
import { EdgeServer } from '../edge/server.js';
import { pageRoutes } from '../edge/pages.js';
import { backoffMs, sleep } from '../domain/retry.js';

/** A running process role. */
export interface Role {
  stop(): Promise<void>;
}

function connectBus(nats: NatsConfig, name: string, logger: Logger): Promise<NatsBus> {
  logger.info({ servers: nats.servers }, 'connecting to NATS');
  return NatsBus.connect({
    servers: nats.servers,
    name,
    onStatus: (status, detail) => logger.info({ status, detail }, 'NATS connection'),
  });
}

/** An edge on NATS: the same edge as single-process mode, with the NATS bus. */
export async function startEdge(
  config: Config,
  nats: NatsConfig,
  logger: Logger,
  options: { processMetrics?: boolean; giftConfig?: GiftConfig } = {},
): Promise<Role & { edge: EdgeServer; bus: NatsBus; port: number }> {
  const giftConfig = options.giftConfig ?? loadGiftConfig(process.env, config.secret);
  const bus = await connectBus(nats, `barrage-edge-${config.edgeId}`, logger);
  // Moderation state is read from the KV bucket before the edge admits anyone.
  const store = await KvModerationStore.open(bus.nc, { replicas: nats.replicas });
  const moderationOptions = moderationOptionsFromEnv(process.env);
  // The analytics API (and the audit log) on edges reads a ClickHouse server; the sink runs in core.
  const analyticsOptions = analyticsOptionsFromEnv(process.env, config);
  let reader: AnalyticsReader | undefined;
  if (analyticsOptions && analyticsOptions.clickhouseUrl) {
    reader = startAnalyticsReader({ ...analyticsOptions, clickhouseUrl: analyticsOptions.clickhouseUrl });
  }
  const moderation = new EdgeModeration({ store, options: moderationOptions });
  const routes = [
    // The moderation API is served by every edge: it only publishes to the bus and reads the store.
    ...moderationRoutes({
      bus,
      store,
      options: moderationOptions,
      apiKey: config.apiKey,
      queries: () => reader?.queries,
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
    ...giftRoutes({ apiKey: config.apiKey, bus }),
  ];
  const extensions = [moderation, giftsExtension(giftConfig)];
  const edge = new EdgeServer({
    config,
    bus,
    logger,
    routes: [...routes, ...(reader?.routes ?? [])],
    processMetrics: options.processMetrics ?? true,
    extensions,
  });
  const port = await edge.listen();
  return {
    edge,
    bus,
    port,
    async stop() {
      await edge.shutdown();
      await reader?.stop();
      await store.close();
      await bus.close();
    },
  };
}

/** Gift ids are remembered this long (far longer than a receipt may live). */
const ledgerTtlMs = 86_400_000;

async function openLedger(bus: NatsBus, replicas: number, logger: Logger): Promise<KvGiftLedger> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await KvGiftLedger.open(bus.nc, { replicas, ttlMs: ledgerTtlMs });
    } catch (err) {
      logger.warn({ err: (err as Error).message, attempt }, 'gift ledger bucket not ready; retrying');
      await sleep(backoffMs(attempt, 200, 2_000));
    }
  }
}

/** Core on NATS: sequencing, history, online counts, gifts and likes for every room. */
export async function startCore(
  config: Config,
  nats: NatsConfig,
  logger: Logger,
  options: { giftConfig?: GiftConfig } = {},
): Promise<
  Role & {
    sequencer: JetStreamSequencer;
    bus: NatsBus;
    analytics: Analytics | undefined;
    gifts: GiftService;
    likes: LikeCounter;
    httpPort: number;
  }
> {
  const giftConfig = options.giftConfig ?? loadGiftConfig(process.env, config.secret);
  const bus = await connectBus(nats, `barrage-core-${config.edgeId}`, logger);
  const roomIdleMs = config.roomIdleSeconds * 1000;
  const sequencer = new JetStreamSequencer(bus, {
    retainEvents: config.retainEvents,
    joinHistory: config.joinHistory,
    roomIdleMs,
    replicas: nats.replicas,
    maxAgeSeconds: nats.retainSeconds,
    logger: logger.child({ part: 'core' }),
  });
  await sequencer.start();
  // Analytics from a durable consumer on the room stream: acknowledged only
  // after ClickHouse (or chDB, when no server is configured) accepted it.
  const analyticsOptions = analyticsOptionsFromEnv(process.env, config);
  let analytics: Analytics | undefined;
  if (analyticsOptions) {
    analytics = startAnalytics(analyticsOptions, new JetStreamEventSource(bus, { logger: logger.child({ part: 'analytics' }) }), logger);
  }
  const store = await KvModerationStore.open(bus.nc, { replicas: nats.replicas });
  const moderation = new ModerationService(bus, store, {
    ...moderationOptionsFromEnv(process.env),
    logger: logger.child({ part: 'moderation' }),
    roomIdleMs,
  });
  moderation.start();
  const ledger = await openLedger(bus, nats.replicas, logger);
  const gifts = new GiftService({ bus, sequencer, ledger, config: giftConfig, logger: logger.child({ part: 'gifts' }), roomIdleMs });
  gifts.start();
  const likes = new LikeCounter({ bus, sequencer, logger, pushMs: giftConfig.likePushMs, roomIdleMs });
  likes.start();
  const http = await startCoreHttp({
    host: config.host,
    port: nats.coreHttpPort,
    registry: coreMetrics(() => bus.status() === BusStatus.Connected, analytics ? () => analytics.sink.stats() : undefined),
    ready: () => bus.status() === BusStatus.Connected,
    logger,
  });
  return {
    sequencer,
    bus,
    analytics,
    gifts,
    likes,
    httpPort: http.port,
    async stop() {
      await http.close();
      await analytics?.stop();
      moderation.stop();
      await store.close();
      gifts.stop();
      likes.stop();
      sequencer.stop();
      await bus.close();
    },
  };
}
