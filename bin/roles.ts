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
  const edge = new EdgeServer({ config, bus, logger, routes, processMetrics: options.processMetrics ?? true });
  const port = await edge.listen();
  return {
    edge,
    bus,
    port,
    async stop() {
      await edge.shutdown();
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
  return {
    sequencer,
    bus,
    async stop() {
      sequencer.stop();
      await bus.close();
    },
  };
}
