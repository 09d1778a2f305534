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

/**
 * The `Event` kind field number of an encoded event (10 danmaku, 12 likes,
 * 13 online, ...), 0 when it has none, or -1 when the bytes cannot be read.
 * Stops at the kind: the body of a danmaku is stepped over, not read. Runs
 * for every event of every batching window, so the varints are read inline.
 */
export function eventKindField(bytes: Uint8Array): number {
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    // The tag: field number and wire type.
    let tag = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= end || i === 5) return -1;
      const b = bytes[pos++] as number;
      tag += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
    }
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) return -1;
    if (wire === 0 || wire === 2) {
      // A varint value, or the length of what follows.
      let value = 0;
      scale = 1;
      for (let i = 0; ; i++) {
        if (pos >= end || i === 10) return -1;
        const b = bytes[pos++] as number;
        value += (b & 0x7f) * scale;
        if (b < 0x80) break;
        scale *= 128;
      }
      if (wire === 2) pos += value;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return -1;
    if (pos > end) return -1;
    if (field >= KindField.Danmaku && field <= KindField.Last) return field;
  }
  return 0;
}
