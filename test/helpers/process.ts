/**
 * Runs the `barrage` CLI from source (through tsx) as a child process, the
 * way an operator runs it, on a free port.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { freePort } from '../../bench/lib/ports.js';

export { freePort };

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'bin/barrage.ts');
// By URL, so the loader resolves from any working directory.
const tsx = ['--import', pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href];

/**
 * Settings every CLI a test starts gets unless the test says otherwise:
 * analytics off (an engine per process would cost seconds; the tests of
 * analytics turn it on). The child reads its environment like any operator's
 * process; the test runner's own environment is never changed.
 */
export const cliDefaults: Readonly<Record<string, string>> = { BARRAGE_ANALYTICS: 'off' };

/** A running `barrage` process and its output so far. */
export interface CliProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `barrage <args>` and resolves once /healthz answers; `stdout` replaces the pipe the output is read from. */
export async function startCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdout?: Writable } = {},
): Promise<CliProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...tsx, cli, ...args, '--port', String(port)], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...cliDefaults, HOST: '127.0.0.1', BARRAGE_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`barrage exited early (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`barrage did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, output: () => out, exited };
}

/** Runs `barrage <args>` to completion. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...tsx, cli, ...args],
      { cwd: options.cwd ?? root, env: { ...process.env, ...cliDefaults, ...options.env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
