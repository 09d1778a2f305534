/**
 * Stopping is the reverse of starting, declared once. Every part a process
 * starts is recorded here where it starts, with how it stops; `stop()` stops
 * them last-started-first. A new part is one line at the place it starts,
 * and its place in the shutdown order follows: the edge (started last) stops
 * taking viewers first, the bus (started first) closes last, after every
 * part that publishes on it.
 *
 * A start that fails halfway stops what it had started (`run`), so a port in
 * use or a NATS bucket that cannot be opened does not leave a half-started
 * process holding the other parts' timers and connections.
 */
import type { Logger } from 'pino';

/** The parts a process started, in order, and how to stop each. */
export class Lifecycle {
  private readonly parts: Array<{ name: string; stop: () => unknown }> = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Records `part` as started; `stop` is how it stops. Returns `part`, so starting and recording read as one line. */
  add<T>(name: string, part: T, stop: (part: T) => unknown): T {
    this.parts.push({ name, stop: () => stop(part) });
    return part;
  }

  /**
   * Stops every recorded part, the last started first. Each part is stopped
   * even when an earlier one failed; the failures are logged and the first
   * (or an `AggregateError` of all) rejects. Calling it again returns the same
   * promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** Runs `start`; when it throws, stops what it had started and rethrows. */
  async run<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  private async stopAll(): Promise<void> {
    const failures: unknown[] = [];
    for (let part = this.parts.pop(); part; part = this.parts.pop()) {
      try {
        await part.stop();
        this.logger?.debug({ stopped: part.name }, 'stopped');
      } catch (err) {
        failures.push(err);
        this.logger?.error({ err, part: part.name }, 'failed to stop');
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} parts failed to stop`);
  }
}
