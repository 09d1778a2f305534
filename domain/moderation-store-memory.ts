/**
 * Moderation state in memory, for single-process mode: shared by the core
 * and the edge of the one process, lost when it stops.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { v1 } from '../proto/index.js';
import { cloneModeration, decodeModeration, encodeModeration } from './moderation-state.js';
import type { RoomModeration } from './moderation-state.js';
import type { ModerationStore, ModerationWatcher } from './moderation-store.js';

/** Keeps encoded copies, so no reader shares an object with a writer. */
export class MemoryModerationStore implements ModerationStore {
  /** The seq beside the bytes: comparing it must not cost a decode of the whole state. */
  private readonly states = new Map<string, { seq: number; bytes: Uint8Array }>();
  private readonly filters = new Map<string, Uint8Array>();
  private readonly watchers = new Set<ModerationWatcher>();

  async watch(watcher: ModerationWatcher): Promise<void> {
    this.watchers.add(watcher);
    for (const { bytes } of this.states.values()) watcher.onState(decodeModeration(bytes));
    for (const [room, bytes] of this.filters) watcher.onFilter(room, v1.FilterRules.decode(bytes));
  }

  async getState(room: string): Promise<RoomModeration | undefined> {
    const stored = this.states.get(room);
    return stored ? decodeModeration(stored.bytes) : undefined;
  }

  async putState(state: RoomModeration): Promise<boolean> {
    const stored = this.states.get(state.room);
    if (stored && stored.seq >= state.seq) return false;
    const bytes = encodeModeration(state);
    this.states.set(state.room, { seq: state.seq, bytes });
    // Each watcher gets its own copy; copying the maps costs a third of decoding them again.
    for (const w of this.watchers) w.onState(cloneModeration(state));
    return true;
  }

  async getFilter(room: string): Promise<v1.FilterRules | undefined> {
    const bytes = this.filters.get(room);
    return bytes ? v1.FilterRules.decode(bytes) : undefined;
  }

  /**
   * Rules can be a megabyte: encoding them and decoding each watcher's copy
   * take 10-20 ms each, so the event loop is served between those steps
   * (puts are delivered in order all the same: each takes the same turns).
   */
  async putFilter(room: string, rules: v1.FilterRules): Promise<void> {
    const bytes = v1.FilterRules.encode(rules).finish();
    this.filters.set(room, bytes);
    for (const w of this.watchers) {
      await yieldToLoop();
      w.onFilter(room, v1.FilterRules.decode(bytes));
    }
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
