/**
 * The low-level protobuf wire reader and writer: the one copy of the varint
 * and field rules for every path that reads or writes bytes by hand instead
 * of through the generated code. The edge and core build and read frames
 * around bytes that are already encoded (a room's batch, a history answer);
 * the analytics fast row walks a danmaku without decoding it; the widget and
 * the k6 bundle speak the contract without protobufjs's runtime. Field
 * numbers come from proto/gen/tables.ts, never from here or from the callers.
 *
 * Dependency-free and free of side effects at load (the widget and the k6
 * bundle take it; k6 has no TextEncoder, so the codecs are made on first use).
 */

// The wire types as plain constants: V8 does not fold the properties of `WireType` in the hot loops below.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Protobuf wire types. */
export const WireType = { Varint: VARINT, I64, Len: LEN, I32 } as const;
/** A protobuf wire type. */
export type WireType = (typeof WireType)[keyof typeof WireType];

/** The tag byte(s) value of a field: `(number << 3) | wireType`. */
export const tagOf = (field: number, wireType: WireType): number => field * 8 + wireType;

/** The largest tag protobuf allows (field number 2^29 - 1, wire type 7). */
const maxTag = 0xffffffff;

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

/** Thrown by `WireReader` (and the decoders built on it) on bytes that are not well-formed protobuf. */
export class WireError extends Error {
  /** Stable code, for callers that tell errors apart without `instanceof` (across bundles). */
  readonly code = 'BARRAGE_WIRE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WireError';
  }
}

let decoder: TextDecoder | undefined;
let encoder: TextEncoder | undefined;

/**
 * Reads fields one at a time from `buf[pos, end)`. Values past 2^53 lose
 * precision (no seq, time or length comes near that). One reader can be kept
 * and `reset` for every message on a hot path, so reading allocates nothing.
 */
export class WireReader {
  constructor(
    public buf: Uint8Array,
    public pos = 0,
    public end = buf.length,
  ) {}

  /** Points the reader at other bytes (a reused reader saves an object per message). */
  reset(buf: Uint8Array, pos = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

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

  /**
   * The next field's tag: `tag >>> 3` is its number, `tag & 7` its wire
   * type. Field 0 and numbers past 2^29 - 1 are refused (protobuf has none).
   */
  tag(): number {
    const tag = this.varint();
    if (tag < 8 || tag > maxTag) throw new WireError(`invalid tag ${tag}`);
    return tag;
  }

  /**
   * Reads a length prefix and returns where the value ends; `pos` is left
   * at its first byte, so a nested message is read up to the returned end.
   */
  lengthEnd(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new WireError('length-delimited field runs past the end');
    return end;
  }

  /** The next length-delimited value, as a view into `buf` (no copy). */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** The next string field (invalid UTF-8 becomes U+FFFD, as protobufjs reads it). */
  string(): string {
    const end = this.lengthEnd();
    decoder ??= new TextDecoder();
    const s = decoder.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  /** Skips a value of `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd();
        return;
      case I32:
        this.pos += 4;
        break;
      default:
        throw new WireError(`wire type ${wireType} is not supported`);
    }
    if (this.pos > this.end) throw new WireError('fixed-size field runs past the end');
  }
}

/**
 * The number of the first field of `bytes` numbered within [first, last], 0
 * when there is none, or -1 when the bytes cannot be read that far. Stops
 * there: what follows (a danmaku's body) is never read. It runs for every
 * event of every batching window (the event kind), so the varints are read
 * inline and nothing throws. `skip` (indexed by field number, 1 = skip) names
 * fields within the range that do not count (an Event's actor and reason lie
 * among the kinds' numbers once kinds are numbered past them).
 */
export function firstFieldIn(bytes: Uint8Array, first: number, last: number, skip?: Uint8Array): number {
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
    if (wire === VARINT || wire === LEN) {
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
      if (wire === LEN) pos += value;
    } else if (wire === I64) pos += 8;
    else if (wire === I32) pos += 4;
    else return -1;
    if (pos > end) return -1;
    if (field >= first && field <= last && (skip === undefined || skip[field] !== 1)) return field;
  }
  return 0;
}

/**
 * Builds a small message from scratch (the widget's client frames). Fields
 * holding their default (0, '') are left out, as protobuf writes them.
 * Not for hot paths: it grows a plain array.
 */
export class WireWriter {
  private readonly out: number[] = [];

  /** Appends a raw varint. */
  varint(n: number): this {
    while (n >= 0x80) {
      this.out.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.out.push(n);
    return this;
  }

  /** A varint field (uint32, uint64, bool as 0/1, enum); left out when 0. */
  uint(field: number, n: number): this {
    return n === 0 ? this : this.varint(tagOf(field, WireType.Varint)).varint(n);
  }

  /** A length-delimited field holding `data`, always written (a nested message's presence is its meaning). */
  bytes(field: number, data: ArrayLike<number>): this {
    this.varint(tagOf(field, WireType.Len)).varint(data.length);
    for (let i = 0; i < data.length; i++) this.out.push(data[i] as number);
    return this;
  }

  /** A string field; left out when empty. */
  string(field: number, s: string): this {
    encoder ??= new TextEncoder();
    return s === '' ? this : this.bytes(field, encoder.encode(s));
  }

  /** A nested message field: what `inner` wrote so far. */
  message(field: number, inner: WireWriter): this {
    return this.bytes(field, inner.out);
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}
