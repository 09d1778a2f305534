/**
 * The kind of an encoded `Event`, read from its bytes without decoding it:
 * the edge sorts chat from the rest in every batching window, and core picks
 * counters out of every event it is sent. Field numbers are those of the
 * `kind` oneof in proto/barrage/v1/barrage.proto.
 */

/** Field numbers of the kinds that are told apart from the bytes. */
export const KindField = {
  Danmaku: 10,
  Likes: 12,
  Online: 13,
  Leaderboard: 25,
  /** The last kind (hold_decision); 51 and 52 are the actor and reason. */
  Last: 50,
} as const;

/** Counter kinds: aggregated, repeat the room's latest seq, never stored in the stream. */
const counterFields = new Set<number>([KindField.Likes, KindField.Online, KindField.Leaderboard]);

/** True when `field` (from `eventKindField`) is a counter kind. */
export const isCounterField = (field: number): boolean => counterFields.has(field);

// Offset after the last varint `varint` read (module state: no tuple per field).
let next = 0;

/** A varint of at most 7 bytes at `bytes[at]` (offset after it in `next`), or -1 when it does not fit. */
function varint(bytes: Uint8Array, at: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7 && at < bytes.length; i++) {
    const b = bytes[at++] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      next = at;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * The `Event` kind field number of an encoded event (10 danmaku, 12 likes,
 * 13 online, ...), 0 when it has none, or -1 when the bytes cannot be read.
 * Stops at the kind: the body of a danmaku is stepped over, not read.
 */
export function eventKindField(bytes: Uint8Array): number {
  let pos = 0;
  while (pos < bytes.length) {
    const tag = varint(bytes, pos);
    if (tag < 8) return -1; // unreadable, or field 0
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    pos = next;
    if (wire === 0) {
      if (varint(bytes, pos) < 0) return -1;
      pos = next;
    } else if (wire === 2) {
      const len = varint(bytes, pos);
      if (len < 0) return -1;
      pos = next + len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return -1;
    if (pos > bytes.length) return -1;
    if (field >= KindField.Danmaku && field <= KindField.Last) return field;
  }
  return 0;
}
