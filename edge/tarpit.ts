/**
 * Refusals held back. An upgrade refused because its client address spent
 * its budget is answered (429) only after a delay, so a client that
 * reconnects the moment it is refused (a flood script, or a widget without
 * backoff) makes one attempt per delay per socket instead of thousands a
 * second, each of which costs the edge an accept, a parse and an answer.
 *
 * Each refusal waits between half and one and a half times the delay, at
 * random: refused at the same moment, clients that all came back together
 * would otherwise come back together again, and bursts hurt the edge's tail
 * latency more than the same attempts spread out (measured, see the Flood
 * section of docs/benchmarks.md). One timer serves the queue in arrival
 * order, so a refusal is answered once it and every refusal before it are
 * due: never sooner than its own time, never later than 1.5 times the delay.
 *
 * At most `maxHeld` refusals wait at once; past it a refusal closes the
 * connection without an answer, which is the cheapest thing the edge can do.
 * Connections the client closes while they wait are skipped (uWS reports
 * them through `onAborted`).
 */
import type { HttpResponse } from 'uWebSockets.js';

interface Held {
  res: HttpResponse;
  dueMs: number;
  answer: (res: HttpResponse) => void;
  aborted: boolean;
}

/** Refused upgrades waiting for their answer. */
export class Tarpit {
  private queue: Held[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly maxHeld: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Refusals waiting now. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Answers `res` with `answer` after 0.5 to 1.5 times the delay: 'held'. With a delay of 0 it
   * answers at once ('answered'); when `maxHeld` refusals wait already it
   * closes the connection without an answer ('closed').
   */
  hold(res: HttpResponse, answer: (res: HttpResponse) => void): 'held' | 'answered' | 'closed' {
    if (this.delayMs <= 0) {
      answer(res);
      return 'answered';
    }
    if (this.size >= this.maxHeld) {
      res.close();
      return 'closed';
    }
    const held: Held = { res, dueMs: this.now() + this.delayMs * (0.5 + Math.random()), answer, aborted: false };
    res.onAborted(() => {
      held.aborted = true;
    });
    this.queue.push(held);
    if (this.timer === undefined) this.schedule();
    return 'held';
  }

  /** Answers every waiting refusal now (the edge is shutting down). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.release(Number.POSITIVE_INFINITY);
  }

  private schedule(): void {
    const next = this.queue[this.head];
    if (next === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.release(this.now());
        this.schedule();
      },
      Math.max(0, next.dueMs - this.now()),
    );
  }

  private release(untilMs: number): void {
    while (this.head < this.queue.length) {
      const held = this.queue[this.head]!;
      if (held.dueMs > untilMs) break;
      this.queue[this.head++] = undefined as unknown as Held;
      if (held.aborted) continue;
      try {
        held.res.cork(() => held.answer(held.res));
      } catch {
        // Closed under us without onAborted (the edge closing its sockets): nothing to answer.
      }
    }
    // Drop the answered prefix once it is most of the array, so it never grows without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
