/**
 * The site's moderation callback (`BARRAGE_MODERATION_HOOK_URL`): the edge
 * POSTs each danmaku that passed its own checks and publishes it only on the
 * answer `{"action":"allow"|"reject"|"hold"|"replace","text"?,"reason"?}`.
 *
 * Why the edge and not core: the edge has the sender's socket (a rejection is
 * an Error frame to it, as every other refusal is, without a way back from
 * core), the text checks for `replace` are the edge's, and a slow receiver
 * then delays only the danmaku waiting for it, never core's sequencing of the
 * room's gifts and control events. Load spreads over the edges.
 *
 * Pipelined, not batched: one request per danmaku (the body the issue names),
 * at most `concurrency` in flight over kept-alive connections, the rest
 * queued up to `maxQueued`. At 1,000 danmaku/s and a receiver answering in
 * 1 ms that is about one request in flight, never a line of sequential
 * requests; a slow receiver fills the window and the queue, after which the
 * policy applies at once.
 *
 * Every danmaku has its deadline (`timeoutMs` from when it was handed in,
 * queueing included); missing it, a non-2xx status, a connection error, an
 * answer over 16 KiB, garbage JSON or an unknown action all apply the policy
 * (`open`: publish, `closed`: hold for a moderator). Verdicts are handed back
 * in the order danmaku were handed in, per room (a fast answer waits for a
 * slower one before it in the same room), so the room order is the senders'.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ModerationHookConfig } from '../domain/config.js';
import { signWebhook, WebhookHeader } from '../domain/webhook-signature.js';

/** Largest answer read; a longer one is a bad answer. */
export const maxAnswerBytes = 16 * 1024;
/** Longest `reason` kept from an answer. */
export const maxReasonLength = 200;

/** What the receiver decided, or what the policy decided for it. */
export type HookVerdict =
  { action: 'allow' } | { action: 'reject'; reason: string } | { action: 'hold'; reason: string } | { action: 'replace'; text: string };

/** Why the policy was applied instead of an answer (a metrics label). */
export type HookFailure = 'timeout' | 'error' | 'status' | 'bad_answer' | 'overloaded';

/** The outcome of one danmaku: the verdict, and `failure` when the policy made it. */
export interface HookOutcome {
  verdict: HookVerdict;
  failure?: HookFailure;
  /** Milliseconds from handing in to the verdict. */
  ms: number;
}

/** Options of `ModerationHook`: the settings (domain/config.ts `ModerationHookConfig`, with the URL) and where outcomes go. */
export interface ModerationHookOptions<T> extends Omit<ModerationHookConfig, 'url'> {
  url: string;
  /** Receives each outcome, in hand-in order per key. */
  onOutcome: (item: T, outcome: HookOutcome) => void;
}

interface Pending<T> {
  key: string;
  body: string;
  item: T;
  at: number;
  outcome: HookOutcome | undefined;
  timer: NodeJS.Timeout | undefined;
  request: ClientRequest | undefined;
  /** The danmaku sent in the same request (itself included). */
  batch: Pending<T>[];
}

/** Parses an answer; undefined when it is not one of the four. */
export function parseAnswer(text: string): HookVerdict | undefined {
  try {
    return verdictOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Parses a batch's answer: an array of `count` answers, in order; undefined (all by the policy) when it is not one. */
export function parseAnswers(text: string, count: number): Array<HookVerdict | undefined> | undefined {
  let answers: unknown;
  try {
    answers = JSON.parse(text);
  } catch {
    return undefined;
  }
  return Array.isArray(answers) && answers.length === count ? answers.map(verdictOf) : undefined;
}

function verdictOf(answer: unknown): HookVerdict | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const a = answer as Record<string, unknown>;
  const reason = typeof a['reason'] === 'string' ? a['reason'].slice(0, maxReasonLength) : '';
  switch (a['action']) {
    case 'allow':
      return { action: 'allow' };
    case 'reject':
      return { action: 'reject', reason };
    case 'hold':
      return { action: 'hold', reason };
    case 'replace':
      return typeof a['text'] === 'string' ? { action: 'replace', text: a['text'] } : undefined;
    default:
      return undefined;
  }
}

/** The moderation callback client of one edge; see the file comment. */
export class ModerationHook<T> {
  private readonly options: ModerationHookOptions<T>;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly url: URL;
  /** Danmaku waiting for a free request slot, oldest first. */
  private readonly queue: Pending<T>[] = [];
  private queueHead = 0;
  /** Per key, danmaku whose outcome is not handed back yet, in hand-in order. */
  private readonly order = new Map<string, Pending<T>[]>();
  private inFlight = 0;
  private closed = false;

  constructor(options: ModerationHookOptions<T>) {
    this.options = options;
    this.url = new URL(options.url);
    const https = this.url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency };
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.request = https ? httpsRequest : httpRequest;
  }

  /** Danmaku handed in and not yet decided (queued or in flight). */
  get pending(): number {
    return this.queue.length - this.queueHead + this.inFlight;
  }

  /** Hands in one danmaku (`body` is the JSON sent); its outcome comes to `onOutcome`. */
  check(key: string, body: string, item: T): void {
    const p: Pending<T> = { key, body, item, at: performance.now(), outcome: undefined, timer: undefined, request: undefined, batch: [] };
    let line = this.order.get(key);
    if (!line) this.order.set(key, (line = []));
    line.push(p);
    if (this.closed || this.queue.length - this.queueHead >= this.options.maxQueued) return this.settle(p, this.policy(), 'overloaded');
    p.timer = setTimeout(() => this.settle(p, this.policy(), 'timeout'), this.options.timeoutMs);
    this.queue.push(p);
    this.pump();
  }

  /** Stops: what waits gets the policy, kept-alive connections close. */
  close(): void {
    this.closed = true;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const p = this.queue[i] as Pending<T>;
      this.settle(p, this.policy(), 'overloaded');
    }
    this.queue.length = 0;
    this.queueHead = 0;
    this.agent.destroy();
  }

  /** What the policy decides for a danmaku without a usable answer. */
  policyVerdict(): HookVerdict {
    return this.policy();
  }

  private policy(): HookVerdict {
    return this.options.policy === 'open' ? { action: 'allow' } : { action: 'hold', reason: 'the moderation callback did not answer' };
  }

  /**
   * Sends what waits while request slots are free; with `batchMax` > 1 each
   * request takes up to that many waiting danmaku (what queued while the
   * slots were busy: no timer, so a quiet room's danmaku go alone, at once).
   */
  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queueHead < this.queue.length) {
      const batch: Pending<T>[] = [];
      while (batch.length < this.options.batchMax && this.queueHead < this.queue.length) {
        const p = this.queue[this.queueHead++] as Pending<T>;
        if (p.outcome) continue;
        p.batch = batch;
        batch.push(p);
      }
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (batch.length > 0) this.send(batch);
    }
  }

  private send(batch: Pending<T>[]): void {
    this.inFlight++;
    const batched = this.options.batchMax > 1;
    const body = batched ? `[${batch.map((p) => p.body).join(',')}]` : (batch[0] as Pending<T>).body;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'barrage-moderation-hook',
    };
    if (this.options.secret) headers[WebhookHeader.signature] = signWebhook(body, this.options.secret);
    let done = false;
    /** Settles every danmaku of the request: by `verdicts` (one per danmaku, undefined where unusable), else by the policy. */
    const finish = (verdicts: ReadonlyArray<HookVerdict | undefined> | undefined, failure: HookFailure): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      batch.forEach((p, i) => {
        p.request = undefined;
        const verdict = verdicts?.[i];
        this.settle(p, verdict ?? this.policy(), verdict ? undefined : failure);
      });
      this.pump();
    };
    const cap = maxAnswerBytes * batch.length;
    const req = this.request(this.url, { method: 'POST', agent: this.agent, headers }, (res: IncomingMessage) => {
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
        res.resume();
        return finish(undefined, 'status');
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > cap) {
          // Not read further: the connection is dropped rather than drained.
          req.destroy();
          return finish(undefined, 'bad_answer');
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        finish(batched ? parseAnswers(text, batch.length) : [parseAnswer(text)], 'bad_answer');
      });
      res.on('error', () => finish(undefined, 'error'));
    });
    for (const p of batch) p.request = req;
    req.on('error', () => finish(undefined, 'error'));
    req.on('close', () => finish(undefined, 'error'));
    req.end(body);
  }

  /** Records `p`'s outcome (once) and hands back every outcome of its key that is next in line. */
  private settle(p: Pending<T>, verdict: HookVerdict, failure?: HookFailure): void {
    if (p.outcome) return;
    p.outcome = { verdict, ...(failure ? { failure } : {}), ms: performance.now() - p.at };
    if (p.timer) clearTimeout(p.timer);
    // A request whose every danmaku missed its deadline is dropped; its slot is freed by its close.
    if (failure === 'timeout' && p.request && p.batch.every((q) => q.outcome)) p.request.destroy();
    const line = this.order.get(p.key);
    if (!line) return;
    let handed = 0;
    while (handed < line.length && (line[handed] as Pending<T>).outcome) {
      const next = line[handed++] as Pending<T>;
      try {
        this.options.onOutcome(next.item, next.outcome as HookOutcome);
      } catch {
        // The receiver of outcomes guards itself; one throw must not stall the line.
      }
    }
    if (handed === line.length) this.order.delete(p.key);
    else if (handed > 0) line.splice(0, handed);
  }
}
