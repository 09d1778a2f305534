/**
 * Budgets per client address, on top of the per-connection ones: a visitor
 * who opens many sockets (fifty guest tabs, a script) shares one budget for
 * joins and for what costs the edge work (resume, pings, moderation frames),
 * so opening more sockets does not buy more of the edge.
 *
 * The key is the peer address, or with `trustProxy` the address the proxy in
 * front saw (the last `X-Forwarded-For` entry, the one it appended). IPv6
 * addresses are keyed by their /64 prefix: one subscriber usually holds a
 * whole /64, so keying by full address would give them 2^64 budgets.
 *
 * Entries live while the address has connections, and afterwards until their
 * buckets are full again (swept every few seconds), so the map is bounded by
 * the open connections plus the addresses seen in the last few seconds, and
 * capped at `maxEntries` (past it, new addresses share one overflow budget).
 *
 * Defaults are generous because many honest viewers can share one address
 * (a school, a carrier's NAT): a limit here must only bite a flood.
 *
 * Without `trustProxy`, loopback, private and link-local peers get no
 * per-address budget (`addressOf` answers undefined): such a peer is almost
 * always a proxy or load balancer in front of the edge, and limiting it would
 * limit every viewer behind it. Per-connection limits still apply to them.
 * Behind a proxy, turn `trustProxy` on so the limits apply per viewer.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { fullBucket, take } from './rate-limit.js';
import type { BucketState } from './rate-limit.js';
import { IpPenalties } from './ip-penalty.js';
import type { PenaltyLimits } from './ip-penalty.js';

/** Rates of the per-address budgets (per second, with a burst). */
export interface IpBudgetLimits {
  /** WebSocket upgrades (each one also costs a history request). */
  upgradesPerSecond: number;
  upgradesBurst: number;
  /** Resumes, and every frame that makes the edge or core work beyond a table look-up. */
  costlyPerSecond: number;
  costlyBurst: number;
  /** Frames of any kind, pings included, summed over the address's sockets. */
  framesPerSecond: number;
  framesBurst: number;
  /** Open connections at once; 0 for no limit. */
  maxConnections: number;
  /** Use the last `X-Forwarded-For` entry (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Abuse strikes and penalty windows (edge/ip-penalty.ts); off when absent. */
  penalty?: PenaltyLimits;
}

/** The budget of one address; connections keep a reference to theirs. */
export interface IpBudget {
  readonly key: string;
  connections: number;
  upgrades: BucketState;
  costly: BucketState;
  frames: BucketState;
}

const sweepIntervalMs = 5_000;
const defaultMaxEntries = 200_000;
const noPenalty: PenaltyLimits = { strikes: 0, penaltyMs: 1, maxPenaltyMs: 1, decayMs: 1, maxEntries: 1 };

/** The per-address budgets of one edge. */
export class IpBudgets {
  private readonly entries = new Map<string, IpBudget>();
  private readonly overflow: IpBudget;
  private timer: NodeJS.Timeout | undefined;
  /** Strikes for abuse closes and the penalty windows they earn, by address key. */
  readonly penalties: IpPenalties;

  constructor(
    readonly limits: IpBudgetLimits,
    private readonly maxEntries = defaultMaxEntries,
    private readonly now: () => number = Date.now,
  ) {
    this.overflow = this.fresh('overflow');
    this.penalties = new IpPenalties(limits.penalty ?? noPenalty, now);
  }

  /** Starts the sweep of idle entries. */
  start(): void {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Entries held (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The key of a request's client, or undefined for a peer that gets no
   * per-address budget (see the file comment). Reads `req`, so call it inside
   * the uWS request callback.
   */
  addressOf(res: HttpResponse, req: HttpRequest): string | undefined {
    if (this.limits.trustProxy) {
      const forwarded = req.getHeader('x-forwarded-for');
      const last = forwarded.slice(forwarded.lastIndexOf(',') + 1).trim();
      return keyOf(last !== '' ? last : Buffer.from(res.getRemoteAddressAsText()).toString());
    }
    const key = keyOf(Buffer.from(res.getRemoteAddressAsText()).toString());
    return isLocal(key) ? undefined : key;
  }

  /** The budget of `key`, created when needed. */
  get(key: string): IpBudget {
    let budget = this.entries.get(key);
    if (budget) return budget;
    if (this.entries.size >= this.maxEntries) return this.overflow;
    budget = this.fresh(key);
    this.entries.set(key, budget);
    return budget;
  }

  /** Takes one upgrade; 0 when allowed, else milliseconds to wait. Refuses past the connection limit with -1. */
  admit(budget: IpBudget, now = this.now()): number {
    const { limits } = this;
    if (limits.maxConnections > 0 && budget.connections >= limits.maxConnections) return -1;
    return take(budget.upgrades, limits.upgradesPerSecond, limits.upgradesBurst, now);
  }

  /**
   * Counts a close for abuse (4501, 4500, 1009) against the budget's address;
   * returns the penalty window it started (ms), or 0. The shared overflow
   * budget is never struck: it stands for many unrelated addresses.
   */
  strike(budget: IpBudget, now = this.now()): number {
    return budget === this.overflow ? 0 : this.penalties.strike(budget.key, now);
  }

  /** Milliseconds left of the address's penalty window; 0 when it may upgrade. */
  penalty(budget: IpBudget, now = this.now()): number {
    return budget === this.overflow ? 0 : this.penalties.remaining(budget.key, now);
  }

  /** Takes one costly action (resume, moderation); 0 when allowed, else milliseconds to wait. */
  costly(budget: IpBudget, now: number): number {
    return take(budget.costly, this.limits.costlyPerSecond, this.limits.costlyBurst, now);
  }

  /** Takes one frame of the address's frame budget; 0 when allowed. */
  frame(budget: IpBudget, now: number): number {
    return take(budget.frames, this.limits.framesPerSecond, this.limits.framesBurst, now);
  }

  private fresh(key: string): IpBudget {
    const now = this.now();
    const { limits } = this;
    return {
      key,
      connections: 0,
      upgrades: fullBucket(limits.upgradesBurst, now),
      costly: fullBucket(limits.costlyBurst, now),
      frames: fullBucket(limits.framesBurst, now),
    };
  }

  /** Drops entries with no connection whose buckets have refilled: forgetting them changes nothing. */
  sweep(now = this.now()): void {
    this.penalties.sweep(now);
    const { limits } = this;
    for (const [key, b] of this.entries) {
      if (b.connections > 0) continue;
      if (
        refilled(b.upgrades, limits.upgradesPerSecond, limits.upgradesBurst, now) &&
        refilled(b.costly, limits.costlyPerSecond, limits.costlyBurst, now) &&
        refilled(b.frames, limits.framesPerSecond, limits.framesBurst, now)
      ) {
        this.entries.delete(key);
      }
    }
  }
}

function refilled(bucket: BucketState, perSecond: number, burst: number, now: number): boolean {
  return bucket.tokens + ((now - bucket.last) * perSecond) / 1000 >= burst;
}

/** Loopback, private (RFC 1918, unique local) and link-local keys: usually a proxy, never a viewer on the internet. */
export function isLocal(key: string): boolean {
  if (key.endsWith('::/64')) return key === '0:0:0:0::/64' || /^f[cd]/.test(key) || key.startsWith('fe80:');
  const [a, b] = key.split('.').map(Number) as [number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x: this machine. */
export function isLoopback(address: string): boolean {
  if (!address.includes(':')) return address.startsWith('127.');
  const groups = expandIpv6(address.toLowerCase());
  if (!groups) return false;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return (groups[6] as number) >> 8 === 127;
  return groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
}

/** An IPv4 address as is; an IPv6 address by its /64 prefix (an IPv4-mapped one as its IPv4 address). */
export function keyOf(address: string): string {
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.toLowerCase());
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6] as number, groups[7] as number];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return (
    groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':') + '::/64'
  );
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail allowed), or undefined when it is not one. */
function expandIpv6(address: string): number[] | undefined {
  let text = address;
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const b = dotted.slice(1, 5).map(Number) as [number, number, number, number];
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    text = text.slice(0, dotted.index) + '0';
    text = text.endsWith(':0') ? text.slice(0, -2) : text;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] =>
    part
      ? part
          .split(':')
          .filter(Boolean)
          .map((g) => parseInt(g, 16))
      : [];
  const head = parse(halves[0]);
  const rest = [...parse(halves[1]), ...tail];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<number>(missing).fill(0), ...rest];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
