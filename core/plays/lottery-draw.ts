/**
 * The verifiable lottery draw (天选时刻), as docs/api.md publishes it so
 * anyone can check a result from the published data:
 *
 * 1. At the start Barrage picks a secret seed (32 random bytes) and publishes
 *    `seed_sha256` = hex(SHA-256(seed)).
 * 2. At the end the entrants' user ids are sorted by their UTF-8 bytes and
 *    `entrants_sha256` = hex(SHA-256(ids joined by "\n", as UTF-8)).
 * 3. Winners: with `list` the sorted ids and n their number, for k = 0, 1, ...
 *    up to min(winners, n) − 1: d = HMAC-SHA256(key = seed, message =
 *    `${entrants_sha256}:${k}`), r = the first 6 bytes of d as a big-endian
 *    integer, modulo (n − k); swap list[k] and list[k + r]. The winners are
 *    list[0 .. min(winners, n)), in that order. (A partial Fisher–Yates
 *    shuffle; the modulo bias of 48 bits over at most a million entrants is
 *    below 4 × 10⁻⁹.)
 * 4. The result publishes the seed (hex), `entrants_sha256` and the winners.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A new secret seed and its published commitment. */
export function newSeed(): { seed: Buffer; seedSha256: string } {
  const seed = randomBytes(32);
  return { seed, seedSha256: sha256Hex(seed) };
}

/** The SHA-256 (hex) of a seed: what the lottery publishes at the start. */
export const seedCommitment = (seed: Uint8Array): string => sha256Hex(seed);

/** Entrant ids sorted by their UTF-8 bytes, each once. */
export function sortEntrants(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** hex(SHA-256(sorted ids joined by "\n")). */
export const entrantsHash = (sorted: readonly string[]): string => sha256Hex(sorted.join('\n'));

/** The winners of a draw over `sorted` entrants (step 3). */
export function drawWinners(seed: Uint8Array, sorted: readonly string[], winners: number): string[] {
  const list = [...sorted];
  const hash = entrantsHash(sorted);
  const n = list.length;
  const draws = Math.min(winners, n);
  for (let k = 0; k < draws; k++) {
    const d = createHmac('sha256', seed).update(`${hash}:${k}`).digest();
    const r = d.readUIntBE(0, 6) % (n - k);
    const j = k + r;
    [list[k], list[j]] = [list[j] as string, list[k] as string];
  }
  return list.slice(0, draws);
}
