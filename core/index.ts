/**
 * Core: the room logic every edge must agree on. Public API, named one by one.
 * Core never imports uWebSockets.js.
 */
export { mintToken, verifyToken, verifyTokenSync, Roles } from './auth.js';
export type { Identity, MintOptions, RoleName } from './auth.js';
export { BusStatus } from './bus.js';
export type { Bus, BusHandler, BusResponder, Subscription } from './bus.js';
export { MemoryBus } from './bus-memory.js';
export { NatsBus } from './bus-nats.js';
export type { NatsBusOptions, NatsSubscribeOptions } from './bus-nats.js';
export { loadConfig, loadSecret, defaultSecretFile } from './config.js';
export type { Config } from './config.js';
export { loadNatsConfig } from './config-nats.js';
export type { NatsConfig } from './config-nats.js';
export { BarrageError, BusError, ConfigError, CoreErrorCode, TokenError } from './errors.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { EventClass, classOf } from './sequencer.js';
export type { Sequencer, SequencerOptions } from './sequencer.js';
export { MemorySequencer } from './sequencer-memory.js';
export { JetStreamSequencer } from './sequencer-jetstream.js';
export type { JetStreamSequencerOptions } from './sequencer-jetstream.js';
export { isValidRoomId, roomOfSubject, subjects } from './subjects.js';
export { startAnalytics, analyticsOptionsFromEnv } from './analytics.js';
export type { Analytics, AnalyticsOptions } from './analytics.js';
export { AnalyticsError } from './analytics-store.js';
export type { AnalyticsStore } from './analytics-store.js';
export { apiKeyFromEnv, bearerAuth, json, problem, unauthorized } from './api.js';
export { actionEvent, mayModerate, moderationOptionsFromEnv, maxTimeoutSeconds } from './moderation.js';
export type { ModerationOptions, ActionName } from './moderation.js';
export { ModerationService } from './moderation-service.js';
export { moderationRoutes } from './moderation-api.js';
export { applyControl, emptyModeration } from './moderation-state.js';
export type { RoomModeration } from './moderation-state.js';
export { globalFilter } from './moderation-store.js';
export type { ModerationStore, ModerationWatcher } from './moderation-store.js';
export { MemoryModerationStore } from './moderation-store-memory.js';
export { KvModerationStore } from './moderation-store-kv.js';
export { WordFilter, normalize, mask } from './word-filter.js';
export type { FilterMatch } from './word-filter.js';
