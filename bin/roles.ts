/**
 * Composition of the NATS roles: `barrage edge` (connections only) and
 * `barrage core` (the JetStream sequencer). Both join the same NATS cluster.
 */
import type { Logger } from 'pino';
import { mintToken } from '../core/auth.js';
import { NatsBus } from '../core/bus-nats.js';
import type { Config } from '../core/config.js';
import { loadGiftConfig } from '../core/config-gifts.js';
import type { GiftConfig } from '../core/config-gifts.js';
import type { NatsConfig } from '../core/config-nats.js';
import { KvGiftLedger } from '../core/gift-ledger-kv.js';
import { GiftService } from '../core/gifts.js';
import { giftRoutes } from '../core/gifts-api.js';
import { LikeCounter } from '../core/likes.js';
import { JetStreamSequencer } from '../core/sequencer-jetstream.js';
import { giftsExtension } from '../edge/gifts-extension.js';
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
  options: { processMetrics?: boolean; giftConfig?: GiftConfig } = {},
): Promise<Role & { edge: EdgeServer; bus: NatsBus; port: number }> {
  const giftConfig = options.giftConfig ?? loadGiftConfig(process.env, config.secret);
  const bus = await connectBus(nats, `barrage-edge-${config.edgeId}`, logger);
  const routes = [
    ...pageRoutes({
      defaultRoom: 'demo',
      mintDemoToken: (room, user) => mintToken(config.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
    }),
    ...giftRoutes({ apiKey: config.apiKey, bus }),
  ];
  const edge = new EdgeServer({
    config,
    bus,
    logger,
    routes,
    processMetrics: options.processMetrics ?? true,
    extensions: [giftsExtension(giftConfig)],
  });
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

/** Gift ids are remembered this long (far longer than a receipt may live). */
const ledgerTtlMs = 86_400_000;

async function openLedger(bus: NatsBus, replicas: number, logger: Logger): Promise<KvGiftLedger> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await KvGiftLedger.open(bus.nc, { replicas, ttlMs: ledgerTtlMs });
    } catch (err) {
      logger.warn({ err: (err as Error).message, attempt }, 'gift ledger bucket not ready; retrying');
      await new Promise((r) => setTimeout(r, Math.min(2_000, 200 * 2 ** attempt)));
    }
  }
}

/** Core on NATS: sequencing, history, online counts, gifts and likes for every room. */
export async function startCore(
  config: Config,
  nats: NatsConfig,
  logger: Logger,
  options: { giftConfig?: GiftConfig } = {},
): Promise<Role & { sequencer: JetStreamSequencer; bus: NatsBus; gifts: GiftService; likes: LikeCounter }> {
  const giftConfig = options.giftConfig ?? loadGiftConfig(process.env, config.secret);
  const bus = await connectBus(nats, `barrage-core-${config.edgeId}`, logger);
  const sequencer = new JetStreamSequencer(bus, {
    retainEvents: config.retainEvents,
    joinHistory: config.joinHistory,
    replicas: nats.replicas,
    maxAgeSeconds: nats.retainSeconds,
    logger: logger.child({ part: 'core' }),
  });
  await sequencer.start();
  const ledger = await openLedger(bus, nats.replicas, logger);
  const gifts = new GiftService({ bus, sequencer, ledger, config: giftConfig, logger: logger.child({ part: 'gifts' }) });
  gifts.start();
  const likes = new LikeCounter({ bus, sequencer, logger, pushMs: giftConfig.likePushMs });
  likes.start();
  return {
    sequencer,
    bus,
    gifts,
    likes,
    async stop() {
      gifts.stop();
      likes.stop();
      sequencer.stop();
      await bus.close();
    },
  };
}
