/**
 * Priority under overload, decided once per room per batching window (never
 * per socket): paid and control events always go out, counters too (core
 * already aggregates them to at most one per kind per second), and chat is
 * held to each viewer's budget (`BARRAGE_CHAT_BUDGET` danmaku/s).
 *
 * The room's viewers are split into `buckets` groups (by connection number);
 * each group has its own uWS topic. A window whose chat fits the budget is
 * encoded once and published to every group's topic (the fast path). A
 * window over budget is sampled: each group gets its own uniform random
 * sample of the window's chat (so different viewers see different danmaku,
 * and across the audience more of the chat is seen), with `skipped` saying
 * how many it left out. That costs `buckets` encodes per overloaded window,
 * not one per socket.
 *
 * The budget is a token allowance per room (the edge's one token bucket,
 * `rate-limit.ts`): it grows by `budget` per second up to half a second's
 * worth, and each window spends what it sends.
 *
 * Optionally, identical short danmaku of one window are merged first into one
 * event with `merged = n` ("233 x12").
 */
import { EventClass, classOfField, eventKindField } from '../domain/event-kind.js';
import { v1 } from '../proto/index.js';
import { takeUpTo } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { codePointLength } from './validate.js';

/** True when an encoded event is a danmaku (chat class). */
export const isChat = (bytes: Uint8Array): boolean => classOfField(eventKindField(bytes)) === EventClass.Chat;

/** What the overload policy is told. */
export interface OverloadOptions {
  /** Danmaku per second each viewer is sent at most; 0 for no budget (merging only). */
  budget: number;
  /** Viewer groups with independent samples. */
  buckets: number;
  /** Merge identical short danmaku of one window. */
  merge: boolean;
  mergeMaxLength: number;
  random?: () => number;
}

/** One item of a window: an encoded event and how many danmaku it stands for (merged > 1). */
export interface WindowItem {
  bytes: Uint8Array;
  chat: boolean;
  units: number;
}

/** What to send for one window: one frame for everyone, or one per group. */
export type WindowPlan =
  { kind: 'all'; items: WindowItem[] } | { kind: 'sampled'; groups: Array<{ items: WindowItem[]; skipped: number }> };

/** Per-room allowance: a token bucket (`rate-limit.ts`) whose burst is `cap`. */
export class ChatAllowance implements BucketState {
  tokens: number;
  last: number;
  constructor(
    readonly cap: number,
    now: number,
  ) {
    this.tokens = cap;
    this.last = now;
  }
}

/** Merges identical short danmaku (same text) into the first, with `merged = n`. */
export function mergeChat(items: WindowItem[], maxLength: number): WindowItem[] {
  const groups = new Map<string, { index: number; event: v1.Event; units: number }>();
  const out: WindowItem[] = [];
  for (const item of items) {
    if (!item.chat) {
      out.push(item);
      continue;
    }
    const event = v1.Event.decode(item.bytes);
    const text = event.danmaku?.text ?? '';
    if (codePointLength(text) > maxLength) {
      out.push(item);
      continue;
    }
    const group = groups.get(text);
    if (group) {
      group.units += item.units;
      continue;
    }
    groups.set(text, { index: out.length, event, units: item.units });
    out.push(item);
  }
  for (const g of groups.values()) {
    if (g.units < 2 || !g.event.danmaku) continue;
    g.event.danmaku.merged = g.units;
    out[g.index] = { bytes: v1.Event.encode(g.event).finish(), chat: true, units: g.units };
  }
  return out;
}

/** Decides what one window of a room sends. */
export function planWindow(events: readonly Uint8Array[], allowance: ChatAllowance, now: number, options: OverloadOptions): WindowPlan {
  let items: WindowItem[] = events.map((bytes) => {
    const chat = isChat(bytes);
    return { bytes, chat, units: 1 };
  });
  let chatItems = 0;
  for (const it of items) if (it.chat) chatItems++;
  if (options.merge && chatItems >= 2) {
    items = mergeChat(items, options.mergeMaxLength);
    chatItems = 0;
    for (const it of items) if (it.chat) chatItems++;
  }
  // No budget: every window goes out whole (merging only).
  const keep = options.budget > 0 ? takeUpTo(allowance, options.budget, allowance.cap, now, chatItems) : chatItems;
  if (keep === chatItems) return { kind: 'all', items };
  const chatIndex: number[] = [];
  let chatUnits = 0;
  items.forEach((it, i) => {
    if (it.chat) {
      chatIndex.push(i);
      chatUnits += it.units;
    }
  });
  const random = options.random ?? Math.random;
  const groups: Array<{ items: WindowItem[]; skipped: number }> = [];
  for (let g = 0; g < options.buckets; g++) {
    // A partial Fisher-Yates shuffle picks `keep` chat items uniformly; the rest keep their order.
    const pool = chatIndex.slice();
    const chosen = new Set<number>();
    for (let i = 0; i < keep && i < pool.length; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      const t = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = t;
      chosen.add(pool[i] as number);
    }
    const out: WindowItem[] = [];
    let sentUnits = 0;
    items.forEach((it, i) => {
      if (!it.chat) out.push(it);
      else if (chosen.has(i)) {
        out.push(it);
        sentUnits += it.units;
      }
    });
    groups.push({ items: out, skipped: chatUnits - sentUnits });
  }
  return { kind: 'sampled', groups };
}
