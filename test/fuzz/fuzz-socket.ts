/**
 * A WebSocket client for the frame fuzzer: sends anything (binary or text),
 * keeps every server message in arrival order (an undecodable one is kept as
 * a finding, never thrown), and waits for conditions with a deadline.
 */
import WebSocket from 'ws';
import { v1 } from '../../proto/index.js';

/** One message from the server: decoded, or the bytes that did not decode. */
export interface Received {
  frame: v1.ServerFrame | undefined;
  undecodable: Buffer | undefined;
}

/** A fuzzing client on one socket. */
export class FuzzSocket {
  readonly received: Received[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    /** The user id the server knows this socket by (what its danmaku and actions carry). */
    readonly userId: string,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let frame: v1.ServerFrame | undefined;
      try {
        frame = isBinary ? v1.ServerFrame.decode(new Uint8Array(data)) : undefined;
      } catch {
        frame = undefined;
      }
      this.received.push({ frame, undecodable: frame ? undefined : Buffer.from(data) });
      this.notify();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.notify();
    });
    // A protocol error on the client side ends in a close event, which records the code.
    ws.on('error', () => undefined);
  }

  /** Opens a socket and waits for the Welcome; rejects when the upgrade is refused or the socket closes first. */
  static async open(url: string, userId: string): Promise<FuzzSocket> {
    const ws = new WebSocket(url);
    const socket = new FuzzSocket(ws, userId);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    const welcomed = await socket.until(() => socket.received.some((r) => r.frame?.welcome) || socket.closed, 10_000);
    if (!welcomed || socket.closed) throw new Error(`no welcome (closed ${socket.closeCode} "${socket.closeReason}")`);
    return socket;
  }

  get closed(): boolean {
    return this.closeCode !== undefined;
  }

  /** Sends bytes as a binary message or a string as a text message; nothing once the socket is closing. */
  send(data: Uint8Array | string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves true once `predicate` holds, false after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Closes from the client side (1000) and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close(1000);
    await this.until(() => this.closed, 5_000);
    if (!this.closed) this.ws.terminate();
  }
}
