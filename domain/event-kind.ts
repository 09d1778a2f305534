/**
 * The kind and message class of an event: what decides how core stores,
 * replays and aggregates it and how the edge samples it. Both come from the
 * `.proto` (each `Event.kind` member declares its class there) through the
 * generated proto/gen/tables.ts, so this file lists no kind and no number.
 *
 * The kind is also read from an encoded event's bytes without decoding it:
 * the edge sorts chat from the rest in every batching window, and core picks
 * counters out of every event it is sent. Dependency-free beyond proto/ (the
 * widget bundles it).
 */
import { EventClass, EventFieldsAmongKinds, EventKindByField, EventKindClass, EventKindFields } from '../proto/gen/tables.js';
import { firstFieldIn } from '../proto/wire.js';

export { EventClass };

/** The class of each kind by field number (undefined for numbers that are no kind), for the per-event lookups. */
const classByField: ReadonlyArray<EventClass | undefined> = /* @__PURE__ */ Array.from({ length: EventKindFields.last + 1 }, (_, field) => {
  const kind = EventKindByField[field];
  return kind === undefined ? undefined : EventKindClass[kind];
});

/** The class of each kind by name (a Map: a name such as `constructor` must not find the prototype's). */
const classByKind: ReadonlyMap<string, EventClass> = /* @__PURE__ */ new Map(Object.entries(EventKindClass));

// Module constants rather than property reads: this runs for every event of every batching window.
const firstKind = EventKindFields.first;
const lastKind = EventKindFields.last;
/** 1 at the numbers of fields among the kinds' that are no kind (actor, reason). */
const notKind = /* @__PURE__ */ (() => {
  const table = new Uint8Array(lastKind + 1);
  for (const field of EventFieldsAmongKinds) table[field] = 1;
  return table;
})();

/**
 * The `Event.kind` field number of an encoded event (`EventKind.danmaku`,
 * ...), 0 when it has none, or -1 when the bytes cannot be read. Stops at the
 * kind: the body of a danmaku is stepped over, not read. A kind newer than
 * this build still answers its number (and `classOfField` undefined).
 */
export function eventKindField(bytes: Uint8Array): number {
  return firstFieldIn(bytes, firstKind, lastKind, notKind);
}

/** The class of the kind numbered `field` (from `eventKindField`), or undefined for no kind this build knows. */
export function classOfField(field: number): EventClass | undefined {
  return field > 0 ? classByField[field] : undefined;
}

/** True when `field` (from `eventKindField`) is a counter kind. */
export const isCounterField = (field: number): boolean => classOfField(field) === EventClass.Counter;

/**
 * The class of an event by its kind (`v1.Event.kind`, or the widget's
 * decoded kind). An event with no kind, or one newer than this build, is
 * control: kept and replayed, never sampled away or aggregated.
 */
export function classOf(event: { readonly kind?: string | null | undefined }): EventClass {
  const kind = event.kind;
  return (kind && classByKind.get(kind)) || EventClass.Control;
}

/** True for a counter kind (likes, online, leaderboard): aggregated, repeats the room's latest seq, never stored. */
export const isCounterKind = (kind: string | null | undefined): boolean => classOf({ kind }) === EventClass.Counter;
