/**
 * A viewer as a careful client behaves: it keeps every event by seq (history
 * and live), asks to `resume` when it sees a gap, and when its connection
 * drops it reconnects with backoff and jitter to the next edge with
 * `?since=<last seq>`. Tests read what the viewer would show: the events in
 * seq order, each once.
 */
import WebSocket from 'ws';
import { v1 } from '../../../proto/index.js';
import { isCounterKind } from '../../../domain/event-kind.js';

/** Builds the URL of the next edge to try, resuming after `since` (or a fresh join). */
export type EdgeUrl = (attempt: number, since: number | undefined) => string;

export class Viewer {
  /** Sequenced events by seq: what the viewer shows, each once. */
  readonly bySeq = new Map<number, v1.Event>();
  /** Sequenced events that arrived again with a seq already held (dropped by seq, as clients must). */
  duplicates = 0;
  welcomes: v1.Welcome[] = [];
  reconnects = 0;
  resumesSent = 0;
  onlineSeen = 0;
  /** The latest online count pushed to the room. */
  online = -1;
  /** The latest leaderboard pushed to the room. */
  leaderboard: v1.Leaderboard | undefined;
  private ws: WebSocket | undefined;
  private maxSeq = 0;
  private welcomed = false;
  private closing = false;
  private attempt = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly url: EdgeUrl) {}

  /** Connects and waits for the first Welcome. */
  async start(): Promise<this> {
    this.open(undefined);
    await this.until(() => this.welcomes.length > 0, 10_000, 'welcome');
    return this;
  }

  private open(since: number | undefined): void {
    const ws = new WebSocket(this.url(this.attempt, since));
    this.ws = ws;
    this.welcomed = false;
    ws.on('message', (data: Buffer) => this.onFrame(v1.ServerFrame.decode(new Uint8Array(data))));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.closing) return;
      // Exponential backoff with jitter: a killed edge's viewers must not come back in step.
      const delay = Math.min(2_000, 50 * 2 ** Math.min(this.attempt, 5)) * (0.5 + Math.random() * 0.5);
      this.attempt++;
      this.reconnects++;
      setTimeout(() => {
        if (!this.closing) this.open(this.maxSeq > 0 ? this.maxSeq : 0);
      }, delay);
    });
  }

  private onFrame(frame: v1.ServerFrame): void {
    if (frame.welcome) {
      this.welcomes.push(frame.welcome as v1.Welcome);
      this.welcomed = true;
      this.attempt = 0;
    }
    if (frame.batch) {
      for (const e of frame.batch.events as v1.Event[]) {
        if (isCounterKind(e.kind)) {
          if (e.online) {
            this.onlineSeen++;
            this.online = e.online.count as number;
          }
          if (e.leaderboard) this.leaderboard = e.leaderboard as v1.Leaderboard;
          continue;
        }
        if (this.bySeq.has(e.seq)) {
          this.duplicates++;
          continue;
        }
        const gap = !frame.batch.history && this.welcomed && e.seq > this.maxSeq + 1 && this.maxSeq > 0;
        this.bySeq.set(e.seq, e);
        if (gap) this.resume(this.maxSeq);
        if (e.seq > this.maxSeq) this.maxSeq = e.seq;
      }
    }
    for (const w of this.waiters) w();
  }

  private resume(after: number): void {
    this.resumesSent++;
    this.ws?.send(v1.ClientFrame.encode({ resume: { lastSeq: after } }).finish());
  }

  /** Sends a danmaku on the current connection. */
  danmaku(text: string): void {
    this.ws?.send(v1.ClientFrame.encode({ sendDanmaku: { text, clientMsgId: text } }).finish());
  }

  /** Notice texts in seq order. */
  notices(): string[] {
    return this.ordered()
      .filter((e) => e.notice)
      .map((e) => e.notice?.text as string);
  }

  /** Danmaku texts in seq order. */
  texts(): string[] {
    return this.ordered()
      .filter((e) => e.danmaku)
      .map((e) => e.danmaku?.text as string);
  }

  ordered(): v1.Event[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
    });
  }

  close(): void {
    this.closing = true;
    this.ws?.close();
  }
}
