/**
 * What core holds of one red packet while it is open: the stored packet, who
 * grabbed which share (read back from the store when core loads it, so a
 * restarted core knows every grab made before), the queue of grabs waiting
 * for the next batch write, who is eligible by keyword, and what the next
 * progress event will say. Also the JSON view the HTTP API shows.
 */
import type { GrabRecord, StoredRedPacket } from './red-packet-store.js';

/** A grab waiting for its batch to be written. */
export interface GrabWaiter {
  userId: string;
  name: string;
  /** When it arrived (ms), to answer UNAVAILABLE before the edge gives up. */
  at: number;
  answered: boolean;
  answer(reply: GrabOutcome): void;
}

/** What a grab came to. */
export type GrabOutcome =
  | { kind: 'granted'; amountCents: number }
  | { kind: 'already'; amountCents: number }
  | { kind: 'empty' }
  | { kind: 'expired' }
  | { kind: 'unavailable' };

/** One open (or just ended) packet in core's memory. */
export class LivePacket {
  readonly byUser = new Map<string, GrabRecord>();
  /** Slots recorded so far: the next batch starts here. */
  next = 0;
  grabbedCents = 0;
  luckiest: GrabRecord | undefined;
  queue: GrabWaiter[] = [];
  draining = false;
  /** Users who sent a danmaku containing the keyword since the packet opened. */
  readonly eligible = new Set<string>();
  /** Grabs since the last progress event (a few are listed in it, the rest counted). */
  recent: GrabRecord[] = [];
  more = 0;
  changed = false;
  timer: NodeJS.Timeout | undefined;
  /** Stops the keyword watch. */
  unwatch: (() => void) | undefined;
  ending: Promise<void> | undefined;

  constructor(readonly packet: StoredRedPacket) {}

  /** True once it is empty, or expired at `now`. */
  closedAt(now: number): boolean {
    return this.next >= this.packet.count || now >= this.packet.expiresAtMs || this.packet.endedSeq !== undefined;
  }

  /** Takes recorded grabs in (a batch this core wrote, or grabs read back from the store). */
  apply(grabs: readonly GrabRecord[], recentLimit: number): void {
    for (const g of grabs) {
      if (g.slot !== this.next) continue; // already applied (or not the next: the store's chain says otherwise)
      this.next++;
      this.byUser.set(g.userId, g);
      this.grabbedCents += g.amountCents;
      if (!this.luckiest || g.amountCents > this.luckiest.amountCents) this.luckiest = g;
      if (this.recent.length < recentLimit) this.recent.push(g);
      else this.more++;
      this.changed = true;
    }
  }
}

/** Grabs listed per read unless asked (`?limit=`), and the most one read lists: a reply must fit NATS's 1 MiB. */
export const defaultGrabsPage = 1_000;
export const maxGrabsPage = 2_000;

/** The status the API reports. */
export function statusOf(packet: StoredRedPacket, grabbed: number, now: number): 'open' | 'emptied' | 'expired' {
  if (grabbed >= packet.count) return 'emptied';
  if (packet.endedSeq !== undefined || now >= packet.expiresAtMs) return 'expired';
  return 'open';
}

/** A packet as `GET /api/v1/rooms/:room/red-packets/:id` shows it (docs/api.md), with its grabs in slot order. */
export function redPacketJson(
  packet: StoredRedPacket,
  grabs: readonly GrabRecord[],
  now: number,
  page: { offset: number; limit: number } = { offset: 0, limit: defaultGrabsPage },
): Record<string, unknown> {
  const grabbedCents = grabs.reduce((sum, g) => sum + g.amountCents, 0);
  const status = statusOf(packet, grabs.length, now);
  let luckiest: GrabRecord | undefined;
  for (const g of grabs) if (!luckiest || g.amountCents > luckiest.amountCents) luckiest = g;
  return {
    id: packet.id,
    room: packet.room,
    sender: packet.sender,
    total_cents: packet.totalCents,
    count: packet.count,
    mode: packet.mode,
    min_cents: packet.minCents,
    created_at_ms: packet.createdAtMs,
    expires_at_ms: packet.expiresAtMs,
    members_only: packet.membersOnly,
    keyword: packet.keyword,
    greeting: packet.greeting,
    status,
    ended: packet.endedSeq !== undefined,
    grabbed: grabs.length,
    grabbed_cents: grabbedCents,
    // What the site may give back to the sender: the rest, once the packet expired.
    refundable_cents: status === 'expired' ? packet.totalCents - grabbedCents : 0,
    luckiest: luckiest ? { user: { id: luckiest.userId, name: luckiest.name }, amount_cents: luckiest.amountCents } : null,
    grabs_offset: page.offset,
    grabs: grabs
      .slice(page.offset, page.offset + page.limit)
      .map((g) => ({ user: { id: g.userId, name: g.name }, amount_cents: g.amountCents, slot: g.slot, at_ms: g.atMs })),
  };
}
