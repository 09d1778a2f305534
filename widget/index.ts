/**
 * The Barrage widget: `<barrage-overlay>` and `<barrage-chat>`, the shared
 * connection controller, settings and the wire codec. Importing this module
 * defines the elements.
 */
export { BarrageOverlay } from './overlay/overlay.js';
export { BarrageChat } from './chat/chat.js';
export type { BarrageSettings } from './settings-panel/settings-panel.js';
export { BarrageConnection, ConnectionState, defaultServerUrl, sharedConnection } from './connection.js';
export type { ConnectionListener, ConnectionOptions, TokenProvider } from './connection.js';
export { DanmakuStage } from './stage.js';
export type { ExclusionArea, StageConfig, StageItemState } from './stage.js';
export { DisplayArea, defaultSettings, loadSettings, normalizeSettings, saveSettings, settingsFromQuery, storageKey } from './settings.js';
export type { Settings } from './settings.js';
export { DanmakuMode, Role, WireError, decodeServerFrame, encodeClientFrame } from './wire.js';
export type {
  Batch,
  ClientFrame,
  Danmaku,
  Gift,
  Leaderboard,
  LeaderboardEntry,
  ServerFrame,
  SuperChat,
  Welcome,
  WireErrorFrame,
  WireEvent,
} from './wire.js';
export { displayText } from './text.js';
export { languages, matchLang, pickLang, translator, Translator, errorText } from './i18n/i18n.js';
export type { Lang, MessageKey, Messages } from './i18n/i18n.js';
export type { BlockedUser } from './settings.js';

/**
 * Loads the lazy tools chunk, defining `<barrage-mod-console>`,
 * `<barrage-settings>` and `<barrage-danmaku-actions>` (the overlay and the
 * chat load it by themselves when a viewer needs one of them).
 */
export async function loadModeratorConsole(): Promise<void> {
  await import('./tools.js');
}
