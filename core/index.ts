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
export { loadGiftConfig, defaultGifts, defaultSuperChatTiers, tierOf } from './config-gifts.js';
export type { GiftConfig, GiftDef, SuperChatTier } from './config-gifts.js';
export { GiftService, fingerprintOf, maxCombo } from './gifts.js';
export type { GiftServiceOptions } from './gifts.js';
export { giftRoutes } from './gifts-api.js';
export type { GiftLedger, LedgerRecord, Claim } from './gift-ledger.js';
export { MemoryGiftLedger } from './gift-ledger-memory.js';
export { KvGiftLedger } from './gift-ledger-kv.js';
export { LikeCounter } from './likes.js';
export type { LikeCounterOptions } from './likes.js';
export { mintReceipt, verifyReceipt, ReceiptError } from './receipts.js';
export type { Receipt, ReceiptClaims } from './receipts.js';
