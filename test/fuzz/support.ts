/**
 * What the fuzz suites share, so each suite says only what it sends and what
 * must hold: the seed (fixed so CI is repeatable, `FUZZ_SEED` to explore), a
 * property runner that names the seed on failure, watchers for the process
 * (uncaught exceptions, unhandled rejections) and for `/healthz`, the sum of
 * `barrage_internal_errors_total`, a synchronous JWT signer for hand-made
 * tokens and receipts, and raw `node:net` clients for requests `fetch` and
 * `node:http` refuse to send.
 */
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { CloseCode } from '../../domain/close-codes.js';

/** The seed of every property: fixed by default so a CI failure replays; `FUZZ_SEED=<n>` explores. */
export const fuzzSeed = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : 0x0ba5e;

/** `FUZZ_RUNS_SCALE=10` runs ten times the CI number of cases (for a long local run). */
const runsScale = Number(process.env['FUZZ_RUNS_SCALE'] ?? '1') || 1;

/** The number of runs for CI, scaled by `FUZZ_RUNS_SCALE`. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * runsScale));
}

/**
 * Runs an async property with the suite's seed. fast-check's own message
 * carries the seed, the path and the shrunk counterexample; the line printed
 * here says how to replay it.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property, { seed: fuzzSeed, numRuns: runs(numRuns), endOnFailure: false });
  } catch (err) {
    console.error(`[fuzz] "${name}" failed with seed ${fuzzSeed}: replay with FUZZ_SEED=${fuzzSeed} npx vitest run test/fuzz`);
    throw err;
  }
}

/** Every close code the edge documents (domain/close-codes.ts): a close with any other code is a finding. */
export const documentedCloseCodes: ReadonlySet<number> = new Set(Object.values(CloseCode));

/** What went wrong in the process while a suite ran. */
export interface ProcessWatch {
  readonly problems: string[];
  stop(): void;
}

/**
 * Records uncaught exceptions and unhandled rejections: the server runs in
 * this process, so either one means something a visitor sent escaped every
 * guard (a real edge would have died or leaked).
 */
export function watchProcess(): ProcessWatch {
  const problems: string[] = [];
  const onException = (err: unknown): void => {
    problems.push(`uncaughtException: ${(err as Error)?.stack ?? String(err)}`);
  };
  const onRejection = (reason: unknown): void => {
    problems.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    problems,
    stop() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}

/** What a health poller saw. */
export interface HealthSummary {
  polls: number;
  failures: string[];
  maxMs: number;
  p99Ms: number;
}

/**
 * Polls `/healthz` one request after another for as long as it runs: each
 * answer must be a 200, and the slowest one says how long the event loop was
 * held by what the fuzzer sent.
 */
export class HealthPoller {
  private readonly samples: number[] = [];
  private readonly failures: string[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly baseUrl: string,
    private readonly intervalMs = 25,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const start = performance.now();
      try {
        const res = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        if (res.status !== 200) this.failures.push(`status ${res.status}: ${body.slice(0, 100)}`);
      } catch (err) {
        this.failures.push(`no answer: ${(err as Error).message}`);
      }
      this.samples.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  /** Stops after the poll in flight and summarises. */
  async stop(): Promise<HealthSummary> {
    this.running = false;
    await this.done;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return {
      polls: sorted.length,
      failures: this.failures,
      maxMs: Math.round(sorted.at(-1) ?? 0),
      p99Ms: Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0),
    };
  }
}

/** The sum of every `barrage_internal_errors_total` series (absent when nothing was counted: 0). */
export async function internalErrors(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('barrage_internal_errors_total')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    sum += Number.isFinite(value) ? value : 1;
  }
  return sum;
}

/** base64url of a string, or of a value as JSON. */
export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS signed with HMAC-SHA256, synchronously (header and payload as given, whatever they say). */
export function signJwt(secret: Uint8Array | string, header: unknown, payload: unknown): string {
  const h = b64url(header);
  const p = b64url(payload);
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

/** What came back on a raw connection. */
export interface RawAnswer {
  /** Status codes of every response in the stream, in order. */
  statuses: number[];
  /** Everything received, as latin1. */
  text: string;
  /** The server closed the connection. */
  closed: boolean;
  /** Neither an answer nor a close within the wait (the server may be waiting for more bytes). */
  timedOut: boolean;
}

/**
 * Writes `data` on a fresh TCP connection and reads until the server closes
 * it, a complete response arrived and nothing more came for a moment, or
 * `timeoutMs` passed. For requests no HTTP client will send.
 */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 3_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      // Not anchored to a line start: a pipelined answer follows the previous body directly.
      const statuses = [...text.matchAll(/HTTP\/\d\.\d (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, text, closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, text.length === 0), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // A response arrived; wait briefly for any further ones (pipelined requests), then stop.
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false, false), 60);
    });
    socket.on('close', () => finish(true, false));
    socket.on('error', () => finish(true, false));
    socket.write(data);
  });
}

/** The answer to a WebSocket upgrade request. */
export interface UpgradeAnswer {
  /** 101 when upgraded, else the HTTP status; 0 when the connection closed without a status line. */
  status: number;
  /** The refusal's body. */
  body: string;
  contentType: string;
  /** The first WebSocket message after a 101 (the Welcome), when it arrived. */
  firstMessage: Buffer | undefined;
}

/**
 * Sends a WebSocket upgrade for `path` on a raw socket and reads the answer:
 * a refusal's status, type and body, or after a 101 the first binary message
 * (then hangs up). Raw so that any path, however odd, is sent byte for byte.
 */
export function upgradeExchange(port: number, path: string, timeoutMs = 5_000): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: UpgradeAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${path.slice(0, 200)} in ${timeoutMs} ms`));
    }, timeoutMs);
    const parse = (closed: boolean): void => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) finish({ status: 0, body: buf.toString('latin1'), contentType: '', firstMessage: undefined });
        return;
      }
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const header = (name: string): string => new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(head)?.[1] ?? '';
      const rest = buf.subarray(end + 4);
      if (status === 101) {
        const message = firstWsMessage(rest);
        if (message || closed) finish({ status, body: '', contentType: '', firstMessage: message });
        return;
      }
      const length = Number(header('content-length') || NaN);
      if ((Number.isFinite(length) && rest.length >= length) || closed) {
        finish({
          status,
          body: rest.subarray(0, Number.isFinite(length) ? length : undefined).toString('utf8'),
          contentType: header('content-type'),
          firstMessage: undefined,
        });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', () => undefined);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** The payload of the first complete (unmasked, unfragmented) server message in `data`, if there is one. */
function firstWsMessage(data: Buffer): Buffer | undefined {
  if (data.length < 2) return undefined;
  let len = (data[1] as number) & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (data.length < 4) return undefined;
    len = data.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (data.length < 10) return undefined;
    len = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  return data.length >= offset + len ? data.subarray(offset, offset + len) : undefined;
}
