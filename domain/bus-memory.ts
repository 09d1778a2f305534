import { BusError, CoreErrorCode } from './errors.js';
import { BusStatus } from './bus.js';
import type { Bus, BusHandler, BusResponder, SubscribeOptions, Subscription } from './bus.js';

interface Interest<T> {
  pattern: string;
  tokens: string[] | null; // null for an exact subject
  target: T;
}

/** True when `subject` matches a NATS-style pattern split into tokens. */
function matches(tokens: string[], subject: string): boolean {
  const parts = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '>') return parts.length > i;
    if (i >= parts.length) return false;
    if (token !== '*' && token !== parts[i]) return false;
  }
  return parts.length === tokens.length;
}

function isWildcard(pattern: string): boolean {
  return pattern.split('.').some((t) => t === '*' || t === '>');
}

/** Indexes interests so an exact subject is one map look-up. */
class InterestIndex<T> {
  private readonly exact = new Map<string, Set<Interest<T>>>();
  private readonly wild = new Set<Interest<T>>();

  add(pattern: string, target: T): Interest<T> {
    const wildcard = isWildcard(pattern);
    const interest: Interest<T> = { pattern, tokens: wildcard ? pattern.split('.') : null, target };
    if (wildcard) {
      this.wild.add(interest);
    } else {
      let set = this.exact.get(pattern);
      if (!set) this.exact.set(pattern, (set = new Set()));
      set.add(interest);
    }
    return interest;
  }

  remove(interest: Interest<T>): void {
    if (interest.tokens) {
      this.wild.delete(interest);
      return;
    }
    const set = this.exact.get(interest.pattern);
    if (!set) return;
    set.delete(interest);
    if (set.size === 0) this.exact.delete(interest.pattern);
  }

  /** True when some interest may match `subject` (one map look-up when no pattern has wildcards). */
  mayMatch(subject: string): boolean {
    return this.wild.size > 0 || this.exact.has(subject);
  }

  collect(subject: string, out: T[]): T[] {
    const set = this.exact.get(subject);
    if (set) for (const i of set) out.push(i.target);
    for (const i of this.wild) if (matches(i.tokens as string[], subject)) out.push(i.target);
    return out;
  }

  clear(): void {
    this.exact.clear();
    this.wild.clear();
  }
}

/** A subscriber in a queue group. */
interface QueueMember {
  queue: string;
  handler: BusHandler;
}

/**
 * The in-process bus of single-process mode. Delivery is asynchronous, as on a
 * network bus, so a publisher never re-enters its own subscribers and ordering
 * per subject is the publish order. It uses `setImmediate`, not microtasks,
 * so handlers never run inside a uWebSockets.js callback (where touching
 * another socket re-enters uWS).
 *
 * It keeps the promises of the `Bus` contract as NATS does, so code tested on
 * it behaves the same on `NatsBus` (the contract suite runs both): queue
 * groups hand each message to one member (in turn here, at random on NATS,
 * grouped by queue name as NATS groups them), and a responder that fails
 * answers nothing, so its requester times out.
 */
export class MemoryBus implements Bus {
  private readonly subs = new InterestIndex<BusHandler>();
  private readonly queued = new InterestIndex<QueueMember>();
  private readonly turns = new Map<string, number>();
  private readonly members: Array<QueueMember | undefined> = [];
  private readonly responders = new InterestIndex<BusResponder>();
  private readonly queue: Array<{ subject: string; data: Uint8Array }> = [];
  private scheduled = false;
  private closed = false;
  private nextResponder = 0;
  /** Messages published after close; a number for tests and metrics. */
  dropped = 0;

  publish(subject: string, data: Uint8Array): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    this.queue.push({ subject, data });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const handlers: BusHandler[] = [];
    // Messages published by handlers during the drain join the same loop.
    for (let i = 0; i < this.queue.length; i++) {
      const { subject, data } = this.queue[i] as { subject: string; data: Uint8Array };
      handlers.length = 0;
      this.subs.collect(subject, handlers);
      if (this.queued.mayMatch(subject)) this.pickQueued(subject, handlers);
      for (const handler of handlers) handler(data, subject);
    }
    this.queue.length = 0;
  };

  /** Adds one member of each queue group interested in `subject`, taking turns. */
  private pickQueued(subject: string, out: BusHandler[]): void {
    const members = this.queued.collect(subject, this.members as QueueMember[]);
    for (let i = 0; i < members.length; i++) {
      const first = members[i];
      if (first === undefined) continue;
      let size = 0;
      for (let j = i; j < members.length; j++) if (members[j]?.queue === first.queue) size++;
      const turn = this.turns.get(first.queue) ?? 0;
      this.turns.set(first.queue, turn + 1);
      let pick = turn % size;
      for (let j = i; j < members.length; j++) {
        const m = members[j];
        if (m?.queue !== first.queue) continue;
        if (pick-- === 0) out.push(m.handler);
        (members as Array<QueueMember | undefined>)[j] = undefined;
      }
    }
    members.length = 0;
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Subscription {
    if (options.queue !== undefined) {
      const member = this.queued.add(subject, { queue: options.queue, handler });
      return { unsubscribe: () => this.queued.remove(member) };
    }
    const interest = this.subs.add(subject, handler);
    return { unsubscribe: () => this.subs.remove(interest) };
  }

  serve(subject: string, responder: BusResponder): Subscription {
    const interest = this.responders.add(subject, responder);
    return { unsubscribe: () => this.responders.remove(interest) };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) throw new BusError(CoreErrorCode.BusClosed, 'bus is closed');
    const candidates = this.responders.collect(subject, []);
    if (candidates.length === 0) throw new BusError(CoreErrorCode.NoResponder, `no responder for ${subject}`);
    const responder = candidates[this.nextResponder++ % candidates.length] as BusResponder;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BusError(CoreErrorCode.BusTimeout, `request to ${subject} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      // A responder that throws or rejects answers nothing: the requester
      // times out, as it does on NATS (where the error never leaves the responder).
      const answer = new Promise<Uint8Array>((resolve) => {
        setImmediate(() => {
          try {
            Promise.resolve(responder(data, subject)).then(resolve, () => undefined);
          } catch {
            // no answer
          }
        });
      });
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  status(): BusStatus {
    return this.closed ? BusStatus.Closed : BusStatus.Connected;
  }

  async flush(): Promise<void> {
    // Two turns: one for the queued drain, one for what its handlers published.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subs.clear();
    this.queued.clear();
    this.responders.clear();
  }
}
