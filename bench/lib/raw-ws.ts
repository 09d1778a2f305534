/**
 * A minimal WebSocket client on node:net for load generation: the handshake and
 * frame parsing by hand, no per-message allocation. Reads land in one buffer
 * shared by every connection of the process (`onread`), and each complete frame
 * is handed to the connection's sink as (buffer, start, end) — the sink must
 * finish with the bytes before returning. Only a frame split across reads is
 * copied (into a per-connection carry buffer sized to that frame).
 *
 * Client frames are masked with a zero key (valid per RFC 6455 and free).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** WebSocket opcodes the harness cares about. */
export const Opcode = { Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

/** Receives a connection's complete frames. */
export interface FrameSink {
  /** One complete frame; `buf[start, end)` is the payload, valid only during the call. */
  frame(conn: RawWs, opcode: number, buf: Buffer, start: number, end: number): void;
  /** The connection closed (or failed before opening). */
  closed(conn: RawWs, error: Error | undefined): void;
}

/** Where and how to connect. */
export interface RawWsOptions {
  host: string;
  port: number;
  /** Request path with query, e.g. `/ws?room=r`. */
  path: string;
  sink: FrameSink;
  /** Per-connection tag the sink can use (e.g. "sampled for latency"). */
  tag?: number;
  /** Extra request header lines such as `X-Forwarded-For: 198.18.0.1` (a client behind a proxy). */
  headers?: readonly string[];
}

/** One read buffer per process; every connection reads into it in turn. */
const shared = Buffer.allocUnsafe(256 * 1024);
const handshakeKey = 'dGhlIHNhbXBsZSBub25jZQ==';
const maxHeader = 14;

/** A raw client WebSocket connection. */
export class RawWs {
  readonly tag: number;
  private readonly socket: Socket;
  private readonly sink: FrameSink;
  private upgraded = false;
  private handshake = '';
  private carry: Buffer | null = null;
  private carryLen = 0;
  /** Total length of the carried frame (header + payload), 0 while its header is incomplete. */
  private carryTotal = 0;
  private carryHeader = 0;
  private ended = false;
  private openResolve: (() => void) | undefined;
  private openReject: ((err: Error) => void) | undefined;
  /** Resolves when the 101 response arrived. */
  readonly opened: Promise<void>;
  /** Code of the close frame the server sent; 0 when none came (the connection just ended). */
  closeCode = 0;

  constructor(options: RawWsOptions) {
    this.tag = options.tag ?? 0;
    this.sink = options.sink;
    this.opened = new Promise<void>((resolve, reject) => {
      this.openResolve = resolve;
      this.openReject = reject;
    });
    // The rejection is also reported through sink.closed; avoid an unhandled one.
    this.opened.catch(() => undefined);
    this.socket = connect({
      host: options.host,
      port: options.port,
      noDelay: true,
      onread: {
        buffer: shared,
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf as Buffer);
          return true;
        },
      },
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${handshakeKey}\r\nSec-WebSocket-Version: 13\r\n${(options.headers ?? []).map((h) => `${h}\r\n`).join('')}\r\n`,
      );
    });
    this.socket.on('error', (err) => this.finish(err));
    this.socket.on('close', () => this.finish(undefined));
  }

  /** True once the handshake finished and until the socket closes. */
  get open(): boolean {
    return this.upgraded && !this.ended;
  }

  /** Bytes written but not yet handed to the kernel: a sender that floods checks it to go as fast as the socket allows. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  /** Sends one frame (binary by default). */
  send(payload: Uint8Array | string, opcode: number = Opcode.Binary): void {
    if (this.ended) return;
    this.socket.write(encodeClientFrame(payload, opcode));
  }

  /** Writes bytes already framed with `encodeClientFrame` (several frames in one write). */
  sendRaw(frames: Uint8Array): void {
    if (!this.ended) this.socket.write(frames);
  }

  /** Closes the TCP connection (no close handshake: the harness only needs the socket gone). */
  close(): void {
    this.socket.destroy();
  }

  private finish(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.openReject?.(err ?? new Error('closed before the handshake finished'));
    this.sink.closed(this, err);
  }

  private onRead(n: number, buf: Buffer): void {
    let pos = 0;
    if (!this.upgraded) {
      pos = this.readHandshake(n, buf);
      if (pos < 0) return;
    }
    if (this.carry !== null) pos = this.fillCarry(buf, pos, n);
    while (pos < n) {
      const avail = n - pos;
      if (avail < 2) {
        this.startCarry(buf, pos, n, 0);
        return;
      }
      const b1 = buf[pos + 1] as number;
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        header = 4;
        if (avail < 4) return this.startCarry(buf, pos, n, 0);
        len = buf.readUInt16BE(pos + 2);
      } else if (len === 127) {
        header = 10;
        if (avail < 10) return this.startCarry(buf, pos, n, 0);
        len = buf.readUInt32BE(pos + 6);
      }
      const total = header + len;
      if (total > avail) return this.startCarry(buf, pos, n, total, header);
      this.dispatch((buf[pos] as number) & 0x0f, buf, pos + header, pos + total);
      pos += total;
    }
  }

  private dispatch(opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode === Opcode.Ping) {
      this.send(buf.subarray(start, end), Opcode.Pong);
      return;
    }
    if (opcode === Opcode.Close) {
      this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
      this.socket.end();
      return;
    }
    this.sink.frame(this, opcode, buf, start, end);
  }

  /** Keeps an incomplete frame; `total` 0 means its header is not complete yet. */
  private startCarry(buf: Buffer, pos: number, n: number, total: number, header = 0): void {
    this.carry = Buffer.allocUnsafe(total === 0 ? maxHeader : total);
    buf.copy(this.carry, 0, pos, n);
    this.carryLen = n - pos;
    this.carryTotal = total;
    this.carryHeader = header;
  }

  /** Completes the carried frame from a new read; returns where parsing continues. */
  private fillCarry(buf: Buffer, pos: number, n: number): number {
    let carry = this.carry as Buffer;
    while (this.carryTotal === 0 && pos < n) {
      carry[this.carryLen++] = buf[pos++] as number;
      const header = this.headerLength(carry, this.carryLen);
      if (header > 0) {
        const len = header === 2 ? (carry[1] as number) & 0x7f : header === 4 ? carry.readUInt16BE(2) : carry.readUInt32BE(6);
        this.carryTotal = header + len;
        this.carryHeader = header;
        const full = Buffer.allocUnsafe(this.carryTotal);
        carry.copy(full, 0, 0, this.carryLen);
        this.carry = carry = full;
      }
    }
    if (this.carryTotal === 0) return pos;
    const take = Math.min(this.carryTotal - this.carryLen, n - pos);
    buf.copy(carry, this.carryLen, pos, pos + take);
    this.carryLen += take;
    pos += take;
    if (this.carryLen === this.carryTotal) {
      this.carry = null;
      this.dispatch((carry[0] as number) & 0x0f, carry, this.carryHeader, this.carryTotal);
    }
    return pos;
  }

  /** The header length once `have` bytes of it are known and complete, else 0. */
  private headerLength(h: Buffer, have: number): number {
    if (have < 2) return 0;
    const len = (h[1] as number) & 0x7f;
    const header = len === 126 ? 4 : len === 127 ? 10 : 2;
    return have >= header ? header : 0;
  }

  /** Consumes the HTTP response; returns the offset of the first frame byte, or -1 for "need more". */
  private readHandshake(n: number, buf: Buffer): number {
    this.handshake += buf.toString('latin1', 0, n);
    const end = this.handshake.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.handshake.length > 8192) this.fail(new Error('handshake response too large'));
      return -1;
    }
    if (!this.handshake.startsWith('HTTP/1.1 101')) {
      this.fail(new Error(`upgrade refused: ${this.handshake.slice(0, this.handshake.indexOf('\r\n'))}`));
      return -1;
    }
    const consumed = end + 4 - (this.handshake.length - n);
    this.handshake = '';
    this.upgraded = true;
    this.openResolve?.();
    return consumed;
  }

  private fail(err: Error): void {
    this.finish(err);
    this.socket.destroy();
  }
}

/** Frames a client message (masked with a zero key). */
export function encodeClientFrame(payload: Uint8Array | string, opcode: number = Opcode.Binary): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = body.length;
  const header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + len);
  out[0] = 0x80 | opcode;
  if (header === 2) out[1] = 0x80 | len;
  else if (header === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  out.writeUInt32BE(0, header); // mask key 0: the payload goes as is
  out.set(body, header + 4);
  return out;
}
