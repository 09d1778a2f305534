/**
 * The low-level protobuf wire reader and writer, for the few paths that build
 * or read frames around bytes that are already encoded (a room's batch, a
 * history answer) instead of decoding and encoding every event again. One
 * copy, used by the edge and core; field numbers stay beside the messages
 * they belong to in the code that uses them, named after the `.proto`.
 */

/** Protobuf wire types. */
export const WireType = { Varint: 0, I64: 1, Len: 2, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** The tag byte(s) value of a field: `(number << 3) | wireType`. */
export const tagOf = (field: number, wireType: WireType): number => field * 8 + wireType;

/** Bytes a varint of `n` (a non-negative safe integer) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Thrown by `WireReader` on bytes that end inside a field. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/**
 * Reads fields one at a time from `buf[pos, end)`. Values past 2^53 lose
 * precision (no seq or length here comes near that).
 */
export class WireReader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  /** True once every byte up to `end` is read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next varint. */
  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('varint runs past the end');
      const b = this.buf[this.pos++] as number;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** The next length-delimited value, as a view into `buf` (no copy). */
  bytes(): Uint8Array {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new WireError('length-delimited field runs past the end');
    this.pos += len;
    return this.buf.subarray(start, start + len);
  }

  /** Skips a value of `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.I64:
        this.pos += 8;
        break;
      case WireType.Len:
        this.bytes();
        return;
      case WireType.I32:
        this.pos += 4;
        break;
      default:
        throw new WireError(`wire type ${wireType} is not supported`);
    }
    if (this.pos > this.end) throw new WireError('fixed-size field runs past the end');
  }
}
