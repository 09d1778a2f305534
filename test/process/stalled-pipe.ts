/**
 * A pipe whose reader never reads, filled to the brim: what a stalled log
 * shipper leaves on a process's stdout. Pass `writer` as a child's stdout;
 * the child's writes then find the kernel buffer full (EAGAIN).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

/** A full pipe (a socket pair, as Node makes for child stdio) read by a process that never reads. */
export class StalledPipe {
  /** Bytes this side wrote before the kernel refused more. */
  filled = 0;

  private constructor(private readonly reader: ChildProcess) {}

  /** The write end: give it to a child as its stdout. */
  get writer(): Writable {
    return this.reader.stdin as Writable;
  }

  /** Opens the pipe and fills it until the kernel takes no more. */
  static open(): StalledPipe {
    // `sleep` holds the read end open and never reads it.
    const reader = spawn('sleep', ['3600'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const pipe = new StalledPipe(reader);
    // EPIPE once the reader is gone at the end of a test.
    pipe.writer.on('error', () => undefined);
    pipe.fill();
    return pipe;
  }

  /** Writes until a write stays queued: the kernel buffer is full from then on. */
  fill(): void {
    const chunk = Buffer.alloc(16 * 1024, 0x2e);
    while (this.writer.writableLength === 0) {
      this.writer.write(chunk);
      this.filled += chunk.length;
    }
  }

  close(): void {
    this.reader.kill('SIGKILL');
    this.writer.destroy();
  }
}
