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
import { moderationOptionsFromEnv } from '../core/moderation.js';
import { moderationRoutes } from '../core/moderation-api.js';
import { ModerationService } from '../core/moderation-service.js';
import { KvModerationStore } from '../core/moderation-store-kv.js';
import { EdgeModeration } from '../edge/moderation.js';
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
  // Moderation state is read from the KV bucket before the edge admits anyone.
  const store = await KvModerationStore.open(bus.nc, { replicas: nats.replicas });
  const moderationOptions = moderationOptionsFromEnv(process.env);
  const routes = [
    // The moderation API is served by every edge: it only publishes to the bus and reads the store.
    ...moderationRoutes({ bus, store, options: moderationOptions, apiKey: config.apiKey }),
    ...pageRoutes({
      defaultRoom: 'demo',
      mintDemoToken: (room, user) => mintToken(config.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
    }),
  ];
  const extensions = [new EdgeModeration({ store, options: moderationOptions })];
  const edge = new EdgeServer({ config, bus, logger, routes, processMetrics: options.processMetrics ?? true, extensions });
  const port = await edge.listen();
  return {
    edge,
    bus,
    port,
    async stop() {
      await edge.shutdown();
      await store.close();
      await bus.close();
    },
  };
}

/** Core on NATS: sequencing, history and online counts for every room. */
export async function startCore(
  config: Config,
  nats: NatsConfig,
  logger: Logger,
): Promise<Role & { sequencer: JetStreamSequencer; bus: NatsBus }> {
  const bus = await connectBus(nats, `barrage-core-${config.edgeId}`, logger);
  const sequencer = new JetStreamSequencer(bus, {
    retainEvents: config.retainEvents,
    joinHistory: config.joinHistory,
    replicas: nats.replicas,
    maxAgeSeconds: nats.retainSeconds,
    logger: logger.child({ part: 'core' }),
  });
  await sequencer.start();
  const store = await KvModerationStore.open(bus.nc, { replicas: nats.replicas });
  const moderation = new ModerationService(bus, store, {
    ...moderationOptionsFromEnv(process.env),
    logger: logger.child({ part: 'moderation' }),
  });
  moderation.start();
  return {
    sequencer,
    bus,
    async stop() {
      moderation.stop();
      await store.close();
      sequencer.stop();
      await bus.close();
    },
  };
}
