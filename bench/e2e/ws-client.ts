/**
 * A minimal WebSocket client on a raw TCP socket: the handshake, the frame
 * header parser and masked binary sends, nothing else. Thousands of these fit
 * in one process, which the `ws` package does not allow at this scale.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const key = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Called with each complete binary message (only when `parse` is on). */
export type OnMessage = (payload: Buffer) => void;

/** One raw WebSocket connection. */
export class RawWs {
  private buf: Buffer | undefined;
  private upgraded = false;
  closed = false;
  frames = 0;
  bytes = 0;
  /** Count bytes and parse nothing: the cheapest reader, for bulk viewers under heavy traffic. */
  discard = false;

  private constructor(
    readonly socket: Socket,
    private readonly onMessage: OnMessage | undefined,
  ) {}

  /** Opens `ws://host:port/path`; resolves after the 101 response. */
  static open(host: string, port: number, path: string, onMessage?: OnMessage): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const ws = new RawWs(socket, onMessage);
      socket.once('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on('data', (chunk: Buffer) => {
        if (!ws.upgraded) {
          const all = ws.buf ? Buffer.concat([ws.buf, chunk]) : chunk;
          const end = all.indexOf('\r\n\r\n');
          if (end < 0) {
            ws.buf = all;
            return;
          }
          if (!all.subarray(0, 12).toString().includes('101')) {
            socket.destroy();
            reject(new Error(all.subarray(0, end).toString()));
            return;
          }
          ws.upgraded = true;
          clearTimeout(timer);
          ws.buf = undefined;
          resolve(ws);
          const rest = all.subarray(end + 4);
          if (rest.length > 0) ws.onData(rest);
          return;
        }
        ws.onData(chunk);
      });
      // A connection refused, reset or never answered must settle the promise, or a run hangs.
      const timer = setTimeout(() => socket.destroy(new Error('upgrade timed out')), 15_000);
      socket.on('error', (err) => {
        if (!ws.upgraded) reject(err);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        ws.closed = true;
        if (!ws.upgraded) reject(new Error('closed before the upgrade'));
      });
    });
  }

  /** Walks frame headers; answers pings; hands complete binary payloads on when asked to. */
  private onData(chunk: Buffer): void {
    if (this.discard) {
      this.bytes += chunk.length;
      return;
    }
    let data = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = undefined;
    let off = 0;
    for (;;) {
      if (data.length - off < 2) break;
      const b0 = data[off] as number;
      let len = (data[off + 1] as number) & 0x7f;
      let head = 2;
      if (len === 126) {
        if (data.length - off < 4) break;
        len = data.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (data.length - off < 10) break;
        len = Number(data.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (data.length - off < head + len) break;
      const opcode = b0 & 0x0f;
      this.frames++;
      if (opcode === 0x9) this.send(data.subarray(off + head, off + head + len), 0xa);
      else if (opcode === 0x2 && this.onMessage) this.onMessage(data.subarray(off + head, off + head + len));
      off += head + len;
    }
    if (off < data.length) {
      data = data.subarray(off);
      this.buf = Buffer.from(data);
    }
  }

  /** Sends one masked frame (a zero mask: legal, and no copy is needed). */
  send(payload: Uint8Array, opcode = 0x2): void {
    if (this.closed) return;
    const len = payload.length;
    const head = len < 126 ? Buffer.alloc(6) : Buffer.alloc(8);
    head[0] = 0x80 | opcode;
    if (len < 126) {
      head[1] = 0x80 | len;
    } else {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    }
    this.socket.write(Buffer.concat([head, payload]));
  }

  close(): void {
    this.socket.destroy();
  }
}
