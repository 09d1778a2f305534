/**
 * Where rooms' moderation state and word-filter rules live, so that every
 * edge knows them, including an edge that has just started. Clustered it is
 * a NATS KV bucket (`KvModerationStore`); in one process it is memory
 * (`MemoryModerationStore`), lost on restart like the rest of that mode.
 */
import type { v1 } from '../proto/index.js';
import type { RoomModeration } from './moderation-state.js';

/**
 * The key under which the global filter rules are kept. Not a valid room id
 * (`isValidRoomId`), so no room's rules can be taken for the global ones; the
 * HTTP API addresses them as `/api/v1/filter`, never as a room.
 */
export const globalFilter = '*';

/** Called with every state or rules change (and, at watch start, every stored one). */
export interface ModerationWatcher {
  onState(state: RoomModeration): void;
  /** `room` is a room id or `globalFilter`. */
  onFilter(room: string, rules: v1.FilterRules): void;
}

/** Stores moderation state and filter rules. */
export interface ModerationStore {
  /**
   * Delivers every stored entry, then every change, to `watcher`. Resolves
   * once the stored entries have been delivered.
   */
  watch(watcher: ModerationWatcher): Promise<void>;
  /** The stored state of a room, if any. */
  getState(room: string): Promise<RoomModeration | undefined>;
  /**
   * Stores `state` unless the stored one is as new or newer (by seq). Returns
   * whether it stored it. Encodes `state` before it returns (before any
   * await), so the caller may go on changing it while the write is under way.
   */
  putState(state: RoomModeration): Promise<boolean>;
  getFilter(room: string): Promise<v1.FilterRules | undefined>;
  putFilter(room: string, rules: v1.FilterRules): Promise<void>;
  close(): Promise<void>;
}
