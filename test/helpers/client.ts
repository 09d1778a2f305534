/**
 * A test client: a real WebSocket (the `ws` package) that speaks the wire
 * contract, keeps every decoded ServerFrame, and waits for conditions.
 */
import WebSocket from 'ws';
import { v1 } from '../../proto/index.js';

/** A connected client and what it has received. */
export class TestClient {
  readonly frames: v1.ServerFrame[] = [];
  /** Live (not history) events in arrival order. */
  readonly events: v1.Event[] = [];
  readonly errors: v1.Error[] = [];
  welcome: v1.Welcome | undefined;
  closeCode: number | undefined;
  closeReason = '';
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = v1.ServerFrame.decode(new Uint8Array(data));
      this.frames.push(frame);
      if (frame.welcome) this.welcome = frame.welcome as v1.Welcome;
      if (frame.error) this.errors.push(frame.error as v1.Error);
      if (frame.batch && !frame.batch.history) this.events.push(...(frame.batch.events as v1.Event[]));
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.notify();
    });
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** Opens a socket; resolves after the Welcome arrived (or rejects with the HTTP status of a refused upgrade). */
  static async connect(url: string, options: { waitWelcome?: boolean; headers?: Record<string, string> } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options.headers ? { headers: options.headers } : undefined);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })),
        );
      });
      ws.once('error', reject);
    });
    if (options.waitWelcome !== false) {
      await client.until(() => client.welcome !== undefined || client.closeCode !== undefined, 10_000, 'welcome');
      if (!client.welcome) throw new Error(`closed with ${client.closeCode} "${client.closeReason}" before the welcome`);
    }
    return client;
  }

  /** Sends a ClientFrame. */
  send(frame: v1.IClientFrame): void {
    this.ws.send(v1.ClientFrame.encode(frame).finish());
  }

  /** Sends raw bytes (or text) as they are. */
  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  danmaku(text: string, extra: Partial<v1.ISendDanmaku> = {}): void {
    this.send({ sendDanmaku: { text, ...extra } });
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` naming `what`. */
  until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
    });
  }

  /** Waits for the socket to close. */
  closed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closeCode !== undefined, timeoutMs, 'close');
  }

  /** Danmaku events received live, in order (counters such as online counts left out). */
  chat(): v1.Event[] {
    return this.events.filter((e) => e.danmaku);
  }

  /** Danmaku texts received live, in order. */
  texts(): string[] {
    return this.events.filter((e) => e.danmaku).map((e) => e.danmaku?.text as string);
  }

  close(): void {
    this.ws.close();
  }
}
