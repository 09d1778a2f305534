/**
 * Runs a fixture script of test/process/fixtures (through tsx) as a child
 * process, with the stdout the test chooses, and reports how it ended.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** How a child ended, and when (ms after it was started). */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

/** A running fixture. */
export interface Fixture {
  child: ChildProcess;
  stderr(): string;
  /** Resolves once stderr has shown `text`. */
  said(text: string): Promise<void>;
  ended: Promise<Ended>;
}

/** Starts `test/process/fixtures/<name> <args>`; a child still running after `killAfterMs` is killed (SIGKILL) so a test cannot hang. */
export function runFixture(name: string, args: string[], options: { stdout?: Writable; killAfterMs?: number } = {}): Fixture {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/process/fixtures', name), ...args], {
    cwd: root,
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    for (const w of waiters) w();
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 30_000);
  const ended = new Promise<Ended>((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, ms: Date.now() - started });
    }),
  );
  const said = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (err.includes(text)) resolve();
      };
      waiters.push(check);
      check();
      void ended.then(() => (err.includes(text) ? resolve() : reject(new Error(`exited without saying "${text}":\n${err}`))));
    });
  return { child, stderr: () => err, said, ended };
}

/**
 * Samples where a process's main thread sleeps in the kernel (Linux
 * `/proc/<pid>/task/<pid>/wchan`) every `everyMs` until `stop()`, and
 * returns the longest unbroken stretch spent in a futex wait (what
 * `Atomics.wait` is), in ms.
 */
export function sampleFutexWaits(pid: number, everyMs = 2): { stop(): number; samples(): number } {
  let longest = 0;
  let runStart: number | undefined;
  let count = 0;
  const timer = setInterval(() => {
    let wchan: string;
    try {
      wchan = readFileSync(`/proc/${pid}/task/${pid}/wchan`, 'utf8');
    } catch {
      return; // exited
    }
    count++;
    const now = performance.now();
    if (wchan.includes('futex')) {
      runStart ??= now;
      longest = Math.max(longest, now - runStart);
    } else runStart = undefined;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(longest);
    },
    samples: () => count,
  };
}
