/**
 * The deployment tools the test command installs (scripts/tools.sh): helm in
 * .tools/bin, and Debian's promtool, prometheus, tini and haproxy. A missing
 * tool fails the test with the command that installs it, never skips it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Path of `name`: .tools/bin first (pinned Go tools), then the usual system places. */
export function tool(name: string): string {
  for (const dir of [resolve('.tools/bin'), '/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    const path = `${dir}/${name}`;
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is not installed: run \`source scripts/tools.sh && ensure_${ensureName(name)}\` (scripts/test.sh does)`);
}

function ensureName(name: string): string {
  return name === 'promtool' || name === 'prometheus' ? 'prometheus' : name;
}

/** Runs a tool to completion; never throws for a non-zero exit (the test reads `code`). */
export function run(
  name: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      tool(name),
      args,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
