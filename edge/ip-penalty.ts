/**
 * Abuse strikes and penalty windows per client address. The upgrade budget
 * (edge/ip-budget.ts) admits 50 sockets a second from one address; a flood
 * script spends them all, and each admitted socket costs the edge an upgrade,
 * a welcome, the room's recent chat and the parsing of what it writes until it
 * is closed for abuse (measured: most of what a 50-socket flood still costs
 * behind a proxy). Every such close (4501 flood, 4500 bad protocol, 1009 too
 * big) is a strike against the socket's address; past `strikes` of them the
 * address's upgrades are refused (through the refusal delay, edge/tarpit.ts)
 * for a penalty window: `penaltyMs` the first time, doubling with each
 * penalty up to `maxPenaltyMs`.
 *
 * Forgiveness: every `decayMs` of quiet (no strike, not in a penalty) takes
 * one strike and one doubling off, and an entry with nothing left is dropped.
 * The table holds at most `maxEntries` addresses; past it the address that
 * was struck longest ago is forgotten (least recently struck first), so
 * memory stays bounded whatever the number of addresses.
 *
 * Sockets already open are never closed by a penalty: behind a NAT shared
 * with an attacker, viewers who are watching keep watching; only new joins
 * from the address wait until the window ends.
 */

/** The options of the penalty table (times in ms). */
export interface PenaltyLimits {
  /** Abuse closes before a penalty; 0 turns strikes and penalties off. */
  strikes: number;
  /** The first penalty window. */
  penaltyMs: number;
  /** The longest one (doubling stops here). */
  maxPenaltyMs: number;
  /** Quiet time that forgives one strike and one doubling. */
  decayMs: number;
  /** Addresses remembered at most. */
  maxEntries: number;
}

interface Entry {
  strikes: number;
  /** Penalties so far, less what quiet time forgave: the next window is penaltyMs * 2^level. */
  level: number;
  /** The end of the current (or last) penalty window. */
  untilMs: number;
  /** From when quiet time counts (the last strike, or the last forgiveness step). */
  quietSinceMs: number;
}

/** Doublings past this change nothing (2^20 times any first window passes any cap). */
const maxLevel = 20;

/** Strikes and penalty windows of the addresses one edge has closed for abuse. */
export class IpPenalties {
  private readonly entries = new Map<string, Entry>();
  /** Strikes counted and penalties started, for /metrics. */
  struck = 0;
  penalties = 0;

  constructor(
    readonly limits: PenaltyLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.strikes > 0;
  }

  /** Addresses remembered (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Counts one abuse close against `key`. Returns the penalty window it
   * started (ms), or 0 when the address is still under the strike limit.
   */
  strike(key: string, now = this.now()): number {
    if (!this.enabled) return 0;
    let entry = this.entries.get(key);
    if (entry) {
      this.forgive(entry, now);
      this.entries.delete(key); // re-inserted last: the map's order is least recently struck first
    } else {
      if (this.entries.size >= this.limits.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      entry = { strikes: 0, level: 0, untilMs: 0, quietSinceMs: now };
    }
    this.entries.set(key, entry);
    this.struck++;
    entry.quietSinceMs = now;
    if (++entry.strikes < this.limits.strikes) return 0;
    const windowMs = Math.min(this.limits.maxPenaltyMs, this.limits.penaltyMs * 2 ** entry.level);
    entry.strikes = 0;
    entry.level = Math.min(entry.level + 1, maxLevel);
    entry.untilMs = Math.max(entry.untilMs, now + windowMs);
    this.penalties++;
    return windowMs;
  }

  /** Milliseconds left of `key`'s penalty window; 0 when its upgrades are admitted. */
  remaining(key: string, now = this.now()): number {
    const entry = this.entries.get(key);
    return entry === undefined || entry.untilMs <= now ? 0 : entry.untilMs - now;
  }

  /** Addresses in a penalty window now. */
  penalized(now = this.now()): number {
    let n = 0;
    for (const entry of this.entries.values()) if (entry.untilMs > now) n++;
    return n;
  }

  /** Applies quiet-time forgiveness to every entry and drops those with nothing left. */
  sweep(now = this.now()): void {
    for (const [key, entry] of this.entries) {
      this.forgive(entry, now);
      if (entry.strikes === 0 && entry.level === 0 && entry.untilMs <= now) this.entries.delete(key);
    }
  }

  /** One strike and one doubling off per `decayMs` of quiet since the later of the last strike and the window's end. */
  private forgive(entry: Entry, now: number): void {
    const from = Math.max(entry.quietSinceMs, entry.untilMs);
    if (now <= from) return;
    const steps = Math.floor((now - from) / this.limits.decayMs);
    if (steps === 0) return;
    entry.strikes = Math.max(0, entry.strikes - steps);
    entry.level = Math.max(0, entry.level - steps);
    entry.quietSinceMs = from + steps * this.limits.decayMs;
  }
}
