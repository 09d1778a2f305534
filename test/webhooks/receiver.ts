/**
 * A real HTTP webhook receiver for tests, on a free loopback port: records
 * every request (headers, raw body, whether the signature verified) and
 * answers as the test tells it: 200, a status, never (a hang, so the sender
 * times out), or not at all (closed: connection refused), and can come back
 * on the same port.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifyWebhook } from '../../domain/webhook-signature.js';

/** How the receiver answers the next request. */
export type Answer = number | 'hang';

/** One request the receiver got. */
export interface Received {
  delivery: string;
  signature: string;
  body: string;
  verified: boolean;
  status: Answer;
  events: Array<{ id: string; kind: string; type: string; room: string; seq: number | null; [k: string]: unknown }>;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** Decides the answer of each request; 200 unless told otherwise. */
  answer: (body: string, n: number) => Answer = () => 200;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests answered 2xx: what the receiver took. */
  accepted(): Received[] {
    return this.requests.filter((r) => typeof r.status === 'number' && r.status >= 200 && r.status < 300);
  }

  /** Events of accepted requests, in the order they were taken. */
  events(): Received['events'] {
    return this.accepted().flatMap((r) => r.events);
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Goes away: open connections cut, the port refuses until `start()` again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['barrage-signature'] ?? '');
      const status = this.answer(body, this.requests.length);
      let events: Received['events'] = [];
      try {
        events = (JSON.parse(body) as { events: Received['events'] }).events;
      } catch {
        events = [];
      }
      this.requests.push({
        delivery: String(req.headers['barrage-delivery'] ?? ''),
        signature,
        body,
        verified: verifyWebhook(body, signature, this.secret).ok,
        status,
        events,
      });
      if (status === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  }
}
