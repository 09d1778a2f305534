/**
 * What gifts, super chats and likes are told (`config.gifts` of the loaded
 * configuration): the gift catalogue (built in, or `BARRAGE_GIFTS_FILE`), super
 * chat pin tiers, the receipt secret and the like limits, with the checks of
 * a catalogue file. `domain/config.ts` reads the settings and the file once at
 * start; anything wrong is a `ConfigError` naming the field.
 */
import { ConfigError } from './errors.js';

/** One gift a viewer can send. */
export interface GiftDef {
  id: string;
  name: string;
  /** Price of one unit, in cents. */
  priceCents: number;
  imageUrl: string;
  /** Display tier (1 = smallest); the widget sizes the alert by it. */
  tier: number;
}

/** A super chat at or above `minCents` is pinned for `pinSeconds`. */
export interface SuperChatTier {
  minCents: number;
  pinSeconds: number;
  color: number;
}

/** Everything gifts, super chats and likes are told. */
export interface GiftConfig {
  gifts: ReadonlyMap<string, GiftDef>;
  /** Ascending by `minCents`; a super chat below the first is refused. */
  superChatTiers: readonly SuperChatTier[];
  /** HS256 secret of receipts (`BARRAGE_RECEIPT_SECRET`, else the token secret). */
  receiptSecret: Uint8Array;
  /** Receipts valid for longer than this are refused (they must be short-lived). */
  receiptMaxTtlSeconds: number;
  /** The same user sending the same gift within this window grows one combo. */
  comboWindowMs: number;
  /** Largest `count` in one gift. */
  maxGiftCount: number;
  /** Entries in the pushed leaderboard. */
  leaderboardSize: number;
  /** Largest `count` one `like` frame may carry; more is clamped. */
  likeMaxPerFrame: number;
  /** Like taps one connection may add per second (a bucket of twice that); more are dropped silently. */
  likeRate: number;
  /** How often an edge passes its like deltas to core. */
  likeFlushMs: number;
  /** How often core pushes a changed like total (at least every 2 s). */
  likePushMs: number;
  /** Longest super chat text, in code points. */
  superChatMaxText: number;
}

/** The catalogue used when no `BARRAGE_GIFTS_FILE` is set. */
export const defaultGifts: readonly GiftDef[] = [
  { id: 'heart', name: 'Heart', priceCents: 10, imageUrl: '/gifts/heart.svg', tier: 1 },
  { id: 'flower', name: 'Flower', priceCents: 100, imageUrl: '/gifts/flower.svg', tier: 1 },
  { id: 'cake', name: 'Cake', priceCents: 500, imageUrl: '/gifts/cake.svg', tier: 2 },
  { id: 'rocket', name: 'Rocket', priceCents: 5_000, imageUrl: '/gifts/rocket.svg', tier: 3 },
  { id: 'castle', name: 'Castle', priceCents: 50_000, imageUrl: '/gifts/castle.svg', tier: 4 },
];

/** Super chat tiers used when the gifts file names none (prices in cents). */
export const defaultSuperChatTiers: readonly SuperChatTier[] = [
  { minCents: 100, pinSeconds: 0, color: 0x1565c0 },
  { minCents: 500, pinSeconds: 30, color: 0x00897b },
  { minCents: 2_000, pinSeconds: 120, color: 0xffb300 },
  { minCents: 10_000, pinSeconds: 300, color: 0xe65100 },
  { minCents: 50_000, pinSeconds: 900, color: 0xd50000 },
];

const giftIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

function intIn(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a catalogue; throws `ConfigError` naming the entry and field that is wrong. */
export function validateGifts(raw: unknown, where: string): GiftDef[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(`${where}: "gifts" must be a non-empty array`);
  const seen = new Set<string>();
  return raw.map((g: unknown, i) => {
    const at = `${where}: gifts[${i}]`;
    if (typeof g !== 'object' || g === null) throw new ConfigError(`${at} must be an object`);
    const o = g as Record<string, unknown>;
    if (typeof o['id'] !== 'string' || !giftIdPattern.test(o['id'])) throw new ConfigError(`${at}.id must be 1-32 of A-Z a-z 0-9 _ -`);
    if (seen.has(o['id'])) throw new ConfigError(`${at}.id "${o['id']}" appears twice`);
    seen.add(o['id']);
    if (typeof o['name'] !== 'string' || o['name'].length === 0 || o['name'].length > 64) {
      throw new ConfigError(`${at}.name must be 1-64 characters`);
    }
    const imageUrl = o['imageUrl'] ?? o['image_url'] ?? '';
    if (typeof imageUrl !== 'string' || (imageUrl !== '' && !/^(https?:\/\/|\/)\S+$/.test(imageUrl))) {
      throw new ConfigError(`${at}.imageUrl must be an http(s) URL or a path starting with /`);
    }
    return {
      id: o['id'],
      name: o['name'],
      priceCents: intIn(o['priceCents'] ?? o['price_cents'], `${at}.priceCents`, 1, 100_000_000),
      imageUrl,
      tier: intIn(o['tier'] ?? 1, `${at}.tier`, 1, 10),
    };
  });
}

/** Checks super chat tiers and sorts them by price. */
export function validateTiers(raw: unknown, where: string): SuperChatTier[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(`${where}: "superChatTiers" must be a non-empty array`);
  const tiers = raw.map((t: unknown, i) => {
    const at = `${where}: superChatTiers[${i}]`;
    if (typeof t !== 'object' || t === null) throw new ConfigError(`${at} must be an object`);
    const o = t as Record<string, unknown>;
    return {
      minCents: intIn(o['minCents'], `${at}.minCents`, 1, 100_000_000),
      pinSeconds: intIn(o['pinSeconds'], `${at}.pinSeconds`, 0, 86_400),
      color: intIn(o['color'] ?? 0xffffff, `${at}.color`, 0, 0xffffff),
    };
  });
  tiers.sort((a, b) => a.minCents - b.minCents);
  for (let i = 1; i < tiers.length; i++) {
    if (tiers[i]?.minCents === tiers[i - 1]?.minCents) throw new ConfigError(`${where}: two super chat tiers start at the same price`);
  }
  return tiers;
}

/** The tier of a super chat price, or undefined below the cheapest. */
export function tierOf(tiers: readonly SuperChatTier[], cents: number): SuperChatTier | undefined {
  let found: SuperChatTier | undefined;
  for (const t of tiers) if (cents >= t.minCents) found = t;
  return found;
}
