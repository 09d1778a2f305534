/**
 * Composition of the NATS roles: `barrage edge` (connections only) and
 * `barrage core` (the JetStream sequencer). Both join the same NATS cluster.
 */
import type { Logger } from 'pino';
import { mintToken } from '../core/auth.js';
import { NatsBus } from '../core/bus-nats.js';
import type { Config } from '../core/config.js';
import type { NatsConfig } from '../core/config-nats.js';
import { JetStreamSequencer } from '../core/sequencer-jetstream.js';
import { analyticsOptionsFromEnv, startAnalytics, startAnalyticsReader } from '../core/analytics.js';
import type { Analytics, AnalyticsReader } from '../core/analytics.js';
import { JetStreamEventSource } from '../core/analytics-source-jetstream.js';
import { EdgeServer } from '../edge/server.js';
import { pageRoutes } from '../edge/pages.js';

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
  options: { processMetrics?: boolean } = {},
): Promise<Role & { edge: EdgeServer; bus: NatsBus; port: number }> {
  const bus = await connectBus(nats, `barrage-edge-${config.edgeId}`, logger);
  const routes = pageRoutes({
    defaultRoom: 'demo',
    mintDemoToken: (room, user) => mintToken(config.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
  });
  // The analytics API on edges reads a ClickHouse server; the sink runs in core.
  const analyticsOptions = analyticsOptionsFromEnv(process.env, config.secret);
  let reader: AnalyticsReader | undefined;
  if (analyticsOptions && analyticsOptions.clickhouseUrl) {
    reader = startAnalyticsReader({ ...analyticsOptions, clickhouseUrl: analyticsOptions.clickhouseUrl });
  }
  const edge = new EdgeServer({
    config,
    bus,
    logger,
    routes: [...routes, ...(reader?.routes ?? [])],
    processMetrics: options.processMetrics ?? true,
  });
  const port = await edge.listen();
  return {
    edge,
    bus,
    port,
    async stop() {
      await edge.shutdown();
      await reader?.stop();
      await bus.close();
    },
  };
}

/** Core on NATS: sequencing, history and online counts for every room. */
export async function startCore(
  config: Config,
  nats: NatsConfig,
  logger: Logger,
): Promise<Role & { sequencer: JetStreamSequencer; bus: NatsBus; analytics: Analytics | undefined }> {
  const bus = await connectBus(nats, `barrage-core-${config.edgeId}`, logger);
  const sequencer = new JetStreamSequencer(bus, {
    retainEvents: config.retainEvents,
    joinHistory: config.joinHistory,
    replicas: nats.replicas,
    maxAgeSeconds: nats.retainSeconds,
    logger: logger.child({ part: 'core' }),
  });
  await sequencer.start();
  // Analytics from a durable consumer on the room stream: acknowledged only
  // after ClickHouse (or chDB, when no server is configured) accepted it.
  const analyticsOptions = analyticsOptionsFromEnv(process.env, config.secret);
  let analytics: Analytics | undefined;
  if (analyticsOptions) {
    analytics = startAnalytics(analyticsOptions, new JetStreamEventSource(bus, { logger: logger.child({ part: 'analytics' }) }), logger);
  }
  return {
    sequencer,
    bus,
    analytics,
    async stop() {
      await analytics?.stop();
      sequencer.stop();
      await bus.close();
    },
  };
}
