/**
 * The process's structured logger: pino, JSON lines on stdout through one
 * bounded, non-blocking destination (`log-destination.ts`), so a stalled log
 * reader costs dropped lines, never a frozen event loop or a process that
 * cannot exit.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { BoundedLogDestination } from './log-destination.js';
import type { LogStats } from './log-destination.js';

/** Bytes of log output that may wait for stdout's reader by default (`BARRAGE_LOG_BUFFER_BYTES`). */
export const defaultLogBufferBytes = 1 << 20;

/** The levels `BARRAGE_LOG_LEVEL` may name: pino's own, and `silent` (tests). */
export const logLevels: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

/** One destination per process: stdout is one stream, and its limit and counts are the process's. */
let stdout: BoundedLogDestination | undefined;

function stdoutDestination(bufferBytes: number | undefined): BoundedLogDestination {
  stdout ??= new BoundedLogDestination(process.stdout, { maxQueuedBytes: bufferBytes ?? defaultLogBufferBytes });
  if (bufferBytes !== undefined) stdout.maxQueuedBytes = bufferBytes;
  return stdout;
}

/**
 * A structured JSON logger (pino) at `level`; tests pass `silent`.
 * `bufferBytes` sets how much output may wait for a slow stdout reader
 * before lines are dropped (the process's one stdout destination).
 */
export function createLogger(level: string, name = 'barrage', options: { bufferBytes?: number } = {}): Logger {
  return pino({ name, level }, stdoutDestination(options.bufferBytes));
}

/** What the process's log output has dropped and holds, for `/metrics` (zeros before any logger exists). */
export function logStats(): LogStats {
  return stdout?.stats() ?? { dropped: 0, queuedBytes: 0 };
}

/**
 * Waits at most `timeoutMs` for queued log lines to reach stdout's reader,
 * before the process exits (exiting drops whatever is still queued); true
 * when everything went out.
 */
export function flushLogs(timeoutMs: number): Promise<boolean> {
  return stdout?.drained(timeoutMs) ?? Promise.resolve(true);
}
export type { Logger, LogStats };
