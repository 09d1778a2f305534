/**
 * Where log lines go: a pino destination that never blocks the event loop and
 * never holds more than a bounded amount of memory.
 *
 * Why not pino's default destination: it is an asynchronous sonic-boom whose
 * buffer has no limit and which registers a synchronous flush on process exit.
 * When stdout is a pipe nobody reads (a stalled log shipper), the buffer grows
 * with every line, and at exit the flush retries EAGAIN forever in
 * `Atomics.wait` on the main thread: an edge told to stop never exits, and no
 * timer can fire to end it (seen in production: 20 minutes after SIGTERM).
 * sonic-boom's own `maxLength` would bound the buffer, but its writes go
 * through libuv's thread pool (a blocking pipe pins a pool thread) and pino
 * still flushes it synchronously at exit.
 *
 * Here lines go to `process.stdout`. For a pipe or a socket that is a libuv
 * stream in non-blocking mode: a write the kernel cannot take now is queued in
 * memory and sent when the reader reads, on the event loop, never waiting.
 * Past `maxQueuedBytes` queued, new lines are dropped and counted, and once
 * the reader has caught up halfway one line says how many were lost. Nothing
 * is flushed synchronously at exit: `drained()` waits a bounded time instead.
 *
 * Regular files are written synchronously by Node (a disk does not stall the
 * way an unread pipe does). Node makes terminal writes blocking; a terminal
 * paused with Ctrl-S pauses the process, which only a person at a console sees.
 */
import type { Writable } from 'node:stream';

/** What a destination has done so far (for `/metrics` and tests). */
export interface LogStats {
  /** Lines dropped because the output was not read fast enough, or was gone. */
  dropped: number;
  /** Bytes written and not yet taken by the reader. */
  queuedBytes: number;
}

/** A pino destination (anything with `write(line)`) that drops lines instead of waiting. */
export class BoundedLogDestination {
  /** Bytes (characters of JSON, nearly all ASCII) that may wait for the reader before lines are dropped. */
  maxQueuedBytes: number;
  private dropped = 0;
  /** Drops not yet reported by a line in the log itself. */
  private unreported = 0;
  /** The output failed (EPIPE: the reader is gone); every later line is dropped. */
  private broken = false;

  constructor(
    private readonly out: Writable,
    options: { maxQueuedBytes: number },
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes;
    // Without a listener an EPIPE on stdout would be thrown as an uncaught error and end the process.
    out.on('error', () => {
      this.broken = true;
    });
  }

  /** Called by pino with one JSON line (ending in a newline). */
  write(line: string): void {
    const queued = this.out.writableLength;
    if (this.broken || queued + line.length > this.maxQueuedBytes) {
      this.dropped++;
      this.unreported++;
      return;
    }
    // Said once the reader has caught up by half, so a queue hovering at the limit does not log a report per line.
    if (this.unreported > 0 && queued <= this.maxQueuedBytes / 2) {
      this.out.write(
        JSON.stringify({
          level: 40,
          time: Date.now(),
          msg: 'log lines dropped: stdout was not read fast enough',
          dropped: this.unreported,
        }) + '\n',
      );
      this.unreported = 0;
    }
    this.out.write(line);
  }

  /**
   * Waits until everything written so far was taken by the reader, at most
   * `timeoutMs`; true when it was. (Not named `flush`: pino would call that
   * with a callback.)
   */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.broken) return Promise.resolve(false);
    if (this.out.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      // An empty write's callback runs once every earlier write has gone out.
      this.out.write('', (err) => {
        clearTimeout(timer);
        resolve(!err);
      });
    });
  }

  stats(): LogStats {
    return { dropped: this.dropped, queuedBytes: this.out.writableLength };
  }
}
