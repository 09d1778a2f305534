/**
 * The two sets of adapters Barrage runs on, each made, started and recorded
 * on the lifecycle here, so `bin/wiring.ts` sees only the interfaces:
 * - memory (`barrage start`): one `MemoryBus`, the `MemorySequencer`, a
 *   bounded in-memory gift ledger, moderation and report stores, analytics read from
 *   the bus. A restart forgets time-outs, bans and gift ids;
 * - NATS (`barrage edge|core`): one NATS connection per process, shared by
 *   the bus, the JetStream sequencer and analytics source, and the KV
 *   moderation store and gift ledger.
 */
import { MemoryBus } from '../domain/bus-memory.js';
import { NatsBus } from '../domain/bus-nats.js';
import type { Config } from '../domain/config.js';
import { MemoryModerationStore } from '../domain/moderation-store-memory.js';
import { KvModerationStore } from '../domain/moderation-store-kv.js';
import { coreLatency as newCoreLatency } from '../domain/latency.js';
import { FileVideoStore } from '../domain/video-store-file.js';
import { KvVideoStore } from '../domain/video-store-kv.js';
import { backoffMs, sleep } from '../domain/retry.js';
import { startAnalyticsReader } from '../core/analytics/analytics.js';
import { BusEventSource } from '../core/analytics/analytics-source.js';
import { JetStreamEventSource } from '../core/analytics/analytics-source-jetstream.js';
import { KvGiftLedger } from '../core/gifts/gift-ledger-kv.js';
import { MemoryGiftLedger } from '../core/gifts/gift-ledger-memory.js';
import { KvPlayStateStore } from '../core/plays/play-state-store-kv.js';
import { MemoryPlayStateStore } from '../core/plays/play-state-store-memory.js';
import { KvRedPacketStore } from '../core/plays/red-packet-store-kv.js';
import { MemoryRedPacketStore } from '../core/plays/red-packet-store-memory.js';
import { JetStreamSequencer } from '../core/sequencing/sequencer-jetstream.js';
import { MemorySequencer } from '../core/sequencing/sequencer-memory.js';
import { MemoryReportStore } from '../core/reports/report-store-memory.js';
import { KvReportStore } from '../core/reports/report-store-kv.js';
import { FileDeadLetters } from '../core/webhooks/dead-letters-file.js';
import { StreamDeadLetters } from '../core/webhooks/dead-letters-stream.js';
import { webhookQueue } from '../core/webhooks/webhooks.js';
import type { Lifecycle } from './lifecycle.js';
import type { CoreAdapters, EdgeAdapters, Starting } from './wiring.js';

/**
 * Gift ids are remembered this long: far longer than a receipt may live
 * (`BARRAGE_RECEIPT_MAX_TTL`, at most a day), so a day of ids covers any replay.
 */
const ledgerTtlMs = 86_400_000;
/** Red packets and their grabs are kept this long after they end (the API reads them, sites reconcile refunds). */
const playsTtlMs = 7 * 86_400_000;
/** Most gift ids the memory ledger holds (oldest forgotten first). */
const memoryLedgerEntries = 1_000_000;

/** The adapters of one process holding edge and core, with their concrete types (tests reach into them). */
export interface MemoryAdapters extends CoreAdapters, EdgeAdapters {
  bus: MemoryBus;
  sequencer: MemorySequencer;
  moderationStore: MemoryModerationStore;
}

/** Memory adapters for `barrage start`: core and edge share them. */
export function memoryAdapters(config: Config, { logger, lifecycle }: Starting): MemoryAdapters {
  const bus = lifecycle.add('bus', new MemoryBus(), (b) => b.close());
  const coreLatency = newCoreLatency();
  const sequencer = lifecycle.add(
    'sequencer',
    new MemorySequencer(bus, {
      retainEvents: config.core.retainEvents,
      joinHistory: config.core.joinHistory,
      roomIdleMs: config.core.roomIdleMs,
      logger,
      latency: coreLatency,
    }),
    (s) => s.stop(),
  );
  sequencer.start();
  const ledger = lifecycle.add('gift ledger', new MemoryGiftLedger({ ttlMs: ledgerTtlMs, maxEntries: memoryLedgerEntries }), (l) =>
    l.close(),
  );
  const moderationStore = lifecycle.add('moderation store', new MemoryModerationStore(), (s) => s.close());
  const redPackets = lifecycle.add('red packets', new MemoryRedPacketStore({ keepEndedMs: playsTtlMs }), (s) => s.close());
  const playState = lifecycle.add('play state', new MemoryPlayStateStore(), (s) => s.close());
  const reportStore = lifecycle.add('report store', new MemoryReportStore(), (s) => s.close());
  // Webhooks read the bus (spilling to disk past their memory limit) and keep dead letters in a directory.
  const webhooks =
    config.webhooks.urls.length > 0
      ? { source: new BusEventSource(bus), dead: new FileDeadLetters(config.webhooks.deadDir, config.webhooks.deadMax) }
      : undefined;
  // Sessions and videos outlive a restart, in the data directory beside the analytics (BARRAGE_VIDEOS_DIR).
  const videoStore = lifecycle.add('video store', new FileVideoStore(config.process.videosDir), (s) => s.close());
  return {
    bus,
    sequencer,
    ledger,
    moderationStore,
    redPackets,
    playState,
    reportStore,
    videoStore,
    analyticsSource: new BusEventSource(bus),
    coreLatency,
    webhooks,
  };
}

async function connectBus(config: Config, role: 'edge' | 'core', { logger, lifecycle }: Starting): Promise<NatsBus> {
  logger.info({ servers: config.nats.servers }, 'connecting to NATS');
  const bus = await NatsBus.connect({
    servers: [...config.nats.servers],
    name: `barrage-${role}-${config.process.id}`,
    onStatus: (status, detail) => logger.info({ status, detail }, 'NATS connection'),
  });
  return lifecycle.add('bus', bus, (b) => b.close());
}

/** Opens the KV moderation store; edges read the state from it before they admit anyone. */
async function openModerationStore(bus: NatsBus, config: Config, lifecycle: Lifecycle): Promise<KvModerationStore> {
  const store = await KvModerationStore.open(bus.nc, { replicas: config.nats.replicas });
  return lifecycle.add('moderation store', store, (s) => s.close());
}

/** Core's adapters on NATS: the JetStream sequencer (stream made or updated), KV store and ledger. */
export async function natsCoreAdapters(config: Config, starting: Starting): Promise<CoreAdapters & { bus: NatsBus }> {
  const { logger, lifecycle } = starting;
  const bus = await connectBus(config, 'core', starting);
  const coreLatency = newCoreLatency();
  const sequencer = lifecycle.add(
    'sequencer',
    new JetStreamSequencer(bus, bus.nc, {
      retainEvents: config.core.retainEvents,
      joinHistory: config.core.joinHistory,
      roomIdleMs: config.core.roomIdleMs,
      replicas: config.nats.replicas,
      maxAgeSeconds: config.nats.retainSeconds,
      logger: logger.child({ part: 'core' }),
      latency: coreLatency,
    }),
    (s) => s.stop(),
  );
  await sequencer.start();
  const moderationStore = await openModerationStore(bus, config, lifecycle);
  let ledger: KvGiftLedger | undefined;
  for (let attempt = 0; !ledger; attempt++) {
    try {
      ledger = await KvGiftLedger.open(bus.nc, { replicas: config.nats.replicas, ttlMs: ledgerTtlMs });
    } catch (err) {
      logger.warn({ err: (err as Error).message, attempt }, 'gift ledger bucket not ready; retrying');
      await sleep(backoffMs(attempt, 200, 2_000));
    }
  }
  lifecycle.add('gift ledger', ledger, (l) => l.close());
  let redPackets: KvRedPacketStore | undefined;
  let playState: KvPlayStateStore | undefined;
  for (let attempt = 0; !redPackets || !playState; attempt++) {
    try {
      redPackets ??= await KvRedPacketStore.open(bus.nc, { replicas: config.nats.replicas, ttlMs: playsTtlMs });
      playState ??= await KvPlayStateStore.open(bus.nc, { replicas: config.nats.replicas, ttlMs: playsTtlMs });
    } catch (err) {
      logger.warn({ err: (err as Error).message, attempt }, 'plays bucket not ready; retrying');
      await sleep(backoffMs(attempt, 200, 2_000));
    }
  }
  lifecycle.add('red packets', redPackets, (s) => s.close());
  lifecycle.add('play state', playState, (s) => s.close());
  const analyticsSource = new JetStreamEventSource(bus, bus.nc, { logger: logger.child({ part: 'analytics' }) });
  const reportStore = lifecycle.add('report store', await KvReportStore.open(bus.nc, { replicas: config.nats.replicas }), (s) => s.close());
  // Webhooks: one durable consumer shared by every core (each event to one of them), dead letters in a stream.
  const { webhooks: w } = config;
  const webhooks =
    w.urls.length > 0
      ? {
          source: new JetStreamEventSource(bus, bus.nc, {
            durable: 'barrage-webhooks',
            startAt: 'new',
            // Short: after a crash, the events it held come again this soon (a clean stop gives them back at once).
            ackWaitMs: 60_000,
            countersQueue: webhookQueue,
            maxAckPending: w.maxBufferEvents,
            logger: logger.child({ part: 'webhooks' }),
          }),
          dead: new StreamDeadLetters(bus.nc, { max: w.deadMax, replicas: config.nats.replicas }),
        }
      : undefined;
  return { bus, sequencer, ledger, moderationStore, redPackets, playState, reportStore, analyticsSource, coreLatency, webhooks };
}

/**
 * An edge's adapters on NATS: the bus, the KV moderation store and, when
 * analytics uses a ClickHouse server, a reader for the analytics API (the
 * sink runs in core; chDB's data lives inside the process that writes it).
 */
export async function natsEdgeAdapters(config: Config, starting: Starting): Promise<EdgeAdapters & { bus: NatsBus }> {
  const bus = await connectBus(config, 'edge', starting);
  const moderationStore = await openModerationStore(bus, config, starting.lifecycle);
  const videoStore = starting.lifecycle.add('video store', await KvVideoStore.open(bus.nc, { replicas: config.nats.replicas }), (s) =>
    s.close(),
  );
  const { enabled, clickhouseUrl } = config.analytics;
  const analytics =
    enabled && clickhouseUrl !== undefined
      ? starting.lifecycle.add(
          'analytics reader',
          startAnalyticsReader({ ...config.analytics, clickhouseUrl, apiKey: config.auth.apiKey }),
          (r) => r.stop(),
        )
      : undefined;
  return { bus, moderationStore, videoStore, analytics };
}
