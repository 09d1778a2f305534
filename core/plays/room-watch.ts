/**
 * Plays that are entered by what viewers do in the room (a red packet's or
 * a lottery's keyword, a lottery's gift) watch the room's sequenced events:
 * one bus subscription per room while any play there listens, each event
 * decoded once for all of them.
 */
import { v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';

/** Called with each sequenced event of the room. */
export type RoomListener = (event: v1.Event) => void;

/** Folds case and width (NFKC, lower case) so a keyword matches however a viewer typed it. */
export const foldText = (text: string): string => text.normalize('NFKC').toLowerCase();

/** Shares room subscriptions among plays. */
export class RoomWatch {
  private readonly rooms = new Map<string, { sub: Subscription; listeners: Set<RoomListener> }>();

  constructor(private readonly bus: Bus) {}

  /** Calls `listener` with every event of `room` until the returned function is called. */
  watch(room: string, listener: RoomListener): () => void {
    let watched = this.rooms.get(room);
    if (!watched) {
      const listeners = new Set<RoomListener>();
      const sub = this.bus.subscribe(subjects.events(room), (data) => {
        let event: v1.Event;
        try {
          event = v1.Event.decode(data);
        } catch {
          return;
        }
        for (const l of listeners) l(event);
      });
      this.rooms.set(room, (watched = { sub, listeners }));
    }
    const entry = watched;
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0 && this.rooms.get(room) === entry) {
        entry.sub.unsubscribe();
        this.rooms.delete(room);
      }
    };
  }

  /** Rooms watched (tests). */
  get size(): number {
    return this.rooms.size;
  }

  stop(): void {
    for (const { sub } of this.rooms.values()) sub.unsubscribe();
    this.rooms.clear();
  }
}
