/**
 * Drives the Go load generator from TypeScript (bench/e2e/run.ts and its
 * test): starts it, waits for its "ready" and "marked" lines on stderr, and
 * reads the one JSON report it prints when it stops.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { buildLoadgen } from './build.js';

/** What the generator counted (main.go's workerReport, summed over its worker processes). */
export interface LoadgenReport {
  viewers: number;
  procs: number;
  /** Sockets still open when it was told to stop. */
  open: number;
  /** Sockets that never opened (refused, upgrade refused or timed out). */
  failed: number;
  /** Sockets that opened and were closed by the server or the network before the stop. */
  closed: number;
  bytes: number;
  frames: number;
  pings: number;
  cpuSeconds: number;
  /** The kernel's part of cpuSeconds. */
  sysSeconds: number;
  seconds: number;
  /** The counts at each mark (SIGUSR1, `mark()`), in order; `seconds` since the workers started. */
  marks?: LoadgenCounts[];
  /** Why sockets failed or closed, with how many each. */
  reasons?: Record<string, number>;
}

/** Running totals at one mark. */
export interface LoadgenCounts {
  seconds: number;
  bytes: number;
  frames: number;
  cpuSeconds: number;
  sysSeconds: number;
}

/** The generator's "ready" line: every socket was tried. */
export interface LoadgenReady {
  open: number;
  failed: number;
  /** The worker processes (the parent only waits), for CPU from /proc. */
  pids: number[];
  parent: number;
}

/** A running generator. */
export class Loadgen {
  private err = '';
  private readonly waiters = new Set<() => void>();
  /** Exit code and report (undefined when it printed none: a usage error or a crash). */
  readonly done: Promise<{ code: number | null; report: LoadgenReport | undefined }>;

  private constructor(readonly child: ChildProcess) {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => {
      this.err += c.toString();
      for (const w of this.waiters) w();
    });
    this.done = new Promise((resolve) =>
      child.once('exit', (code) => {
        for (const w of this.waiters) w();
        resolve({ code, report: out.trim() ? (JSON.parse(out) as LoadgenReport) : undefined });
      }),
    );
  }

  /** Starts `loadgen <args>` (main.go lists the flags), building it first if needed. */
  static start(args: string[], bin = buildLoadgen()): Loadgen {
    return new Loadgen(spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** What it wrote to stderr so far. */
  stderr(): string {
    return this.err;
  }

  /** Resolves with the first stderr line starting with `prefix`; rejects if it exits first. */
  until(prefix: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.err.split('\n').find((l, i, all) => l.startsWith(prefix) && i < all.length - 1);
        if (line !== undefined) {
          this.waiters.delete(check);
          resolve(line);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.waiters.delete(check);
          reject(new Error(`loadgen exited before "${prefix}": ${this.err.slice(-2000)}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once every socket was tried. */
  async ready(): Promise<LoadgenReady> {
    const line = await this.until('loadgen ready ');
    return JSON.parse(line.slice('loadgen ready '.length)) as LoadgenReady;
  }

  /** Records the counts now (one more entry in the report's `marks`); resolves when every worker has taken it. */
  async mark(): Promise<void> {
    const marks = this.err.split('\n').filter((l) => l === 'loadgen marked').length;
    this.child.kill('SIGUSR1');
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.err.split('\n').filter((l) => l === 'loadgen marked').length > marks) {
          this.waiters.delete(check);
          resolve();
        } else if (this.child.exitCode !== null) {
          this.waiters.delete(check);
          reject(new Error(`loadgen exited before the mark: ${this.err.slice(-2000)}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGTERM: every socket sends a close frame, then the report. */
  stop(): Promise<{ code: number | null; report: LoadgenReport | undefined }> {
    this.child.kill('SIGTERM');
    return this.done;
  }
}
