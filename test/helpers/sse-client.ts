/**
 * A test client of the SSE transport (edge/sse.ts): reads the stream with
 * fetch, parses SSE messages, decodes each message's base64 ServerFrame
 * and keeps them like `TestClient` does; sends frames with `POST /sse/send`.
 */
import { v1 } from '../../proto/index.js';

/** A connected SSE viewer. */
export class SseClient {
  readonly frames: v1.ServerFrame[] = [];
  /** Live (not history) events in arrival order. */
  readonly events: v1.Event[] = [];
  readonly errors: v1.Error[] = [];
  readonly ids: string[] = [];
  welcome: v1.Welcome | undefined;
  /** From the stream's `event: close` message: `<code> <reason>`. */
  close: { code: number; reason: string } | undefined;
  ended = false;
  private readonly abort = new AbortController();

  private constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  /** Opens `GET /sse` and waits for the Welcome; rejects with the status and body of a refusal. */
  static async connect(
    base: string,
    query: Record<string, string>,
    options: { headers?: Record<string, string>; waitWelcome?: boolean } = {},
  ): Promise<SseClient> {
    const client = new SseClient(base, query['token'] ?? '');
    const res = await fetch(`${base}/sse?${new URLSearchParams(query)}`, { headers: options.headers, signal: client.abort.signal });
    if (res.status !== 200) throw Object.assign(new Error(`refused: ${res.status} ${await res.text()}`), { status: res.status });
    void client.read(res.body as ReadableStream<Uint8Array>);
    if (options.waitWelcome !== false) await client.until(() => client.welcome !== undefined || client.ended, 10_000, 'welcome');
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          this.onMessage(buf.slice(0, end));
          buf = buf.slice(end + 2);
        }
      }
    } catch {
      // Aborted by us or cut by the server.
    }
    this.ended = true;
  }

  private onMessage(block: string): void {
    let data = '';
    let event = 'message';
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) data += line.slice(6);
      else if (line.startsWith('id: ')) this.ids.push(line.slice(4));
      else if (line.startsWith('event: ')) event = line.slice(7);
    }
    if (event === 'close') {
      const at = data.indexOf(' ');
      this.close = { code: Number(at < 0 ? data : data.slice(0, at)), reason: at < 0 ? '' : data.slice(at + 1) };
      return;
    }
    if (data === '') return;
    const frame = v1.ServerFrame.decode(Buffer.from(data, 'base64'));
    this.frames.push(frame);
    if (frame.welcome) this.welcome = frame.welcome as v1.Welcome;
    if (frame.error) this.errors.push(frame.error as v1.Error);
    if (frame.batch && !frame.batch.history) this.events.push(...(frame.batch.events as v1.Event[]));
  }

  /** Posts one ClientFrame as the stream's viewer; resolves with the HTTP status. */
  async send(frame: v1.IClientFrame, token = this.token): Promise<number> {
    const q = new URLSearchParams({ session: this.welcome?.sessionId ?? '', ...(token ? { token } : {}) });
    const res = await fetch(`${this.base}/sse/send?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: new Uint8Array(v1.ClientFrame.encode(frame).finish()),
    });
    await res.arrayBuffer();
    return res.status;
  }

  danmaku(text: string): Promise<number> {
    return this.send({ sendDanmaku: { text } });
  }

  texts(): string[] {
    return this.events.filter((e) => e.danmaku).map((e) => e.danmaku?.text as string);
  }

  async until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Drops the connection (as a closed tab would). */
  disconnect(): void {
    this.abort.abort();
  }
}
