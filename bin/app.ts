/**
 * Composition of a single-process Barrage: the in-process bus, core's
 * sequencer and one edge with the pages. `barrage start` and the tests use it.
 */
import type { Logger } from 'pino';
import { mintToken } from '../core/auth.js';
import { MemoryBus } from '../core/bus-memory.js';
import type { Config } from '../core/config.js';
import { MemorySequencer } from '../core/sequencer-memory.js';
import { EdgeServer } from '../edge/server.js';
import { pageRoutes } from '../edge/pages.js';

/** A running single-process Barrage. */
export interface SingleProcess {
  edge: EdgeServer;
  bus: MemoryBus;
  sequencer: MemorySequencer;
  port: number;
  stop(): Promise<void>;
}

/** Starts edge and core in this process on `config.port`. */
export async function startSingleProcess(
  config: Config,
  logger: Logger,
  options: { processMetrics?: boolean } = {},
): Promise<SingleProcess> {
  const bus = new MemoryBus();
  const sequencer = new MemorySequencer(bus, { retainEvents: config.retainEvents, joinHistory: config.joinHistory, logger });
  sequencer.start();
  const routes = pageRoutes({
    defaultRoom: 'demo',
    mintDemoToken: (room, user) => mintToken(config.secret, { room, user, name: user, role: 'viewer', ttlSeconds: 3600 }),
  });
  const edge = new EdgeServer({ config, bus, logger, routes, processMetrics: options.processMetrics ?? true });
  const port = await edge.listen();
  return {
    edge,
    bus,
    sequencer,
    port,
    async stop() {
      await edge.shutdown();
      sequencer.stop();
      await bus.close();
    },
  };
}
