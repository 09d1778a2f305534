/**
 * Builds the Go load generator (bench/loadgen) once per source version into
 * `.tools/loadgen/`, named by a hash of its sources, so a harness or test
 * that asks again gets the cached binary until a source file changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

/** The `go` command: on PATH, or where the official tarball installs it; undefined without a toolchain. */
export function goCommand(): string | undefined {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** Hash of go.mod and every .go file but the tests, which names the cached binary. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files = readdirSync(here)
    .filter((f) => f === 'go.mod' || (f.endsWith('.go') && !f.endsWith('_test.go')))
    .sort();
  for (const f of files)
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(join(here, f)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Runs the generator's Go unit tests (the frame reader); throws with their output when one fails. */
export function testLoadgen(go = goCommand()): string {
  if (!go) throw new Error('the Go toolchain is needed for bench/loadgen (go on PATH or /usr/local/go/bin/go)');
  return execFileSync(go, ['test', '-count=1', './...'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Path of the built generator, building it first when this source version has no binary yet. */
export function buildLoadgen(go = goCommand()): string {
  if (!go) throw new Error('the Go toolchain is needed for bench/loadgen (go on PATH or /usr/local/go/bin/go)');
  const dir = join(root, '.tools/loadgen');
  const bin = join(dir, `loadgen-${sourceHash()}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Build beside the target and rename: two harnesses building at once both end with a whole file.
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync(go, ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: here,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  renameSync(tmp, bin);
  return bin;
}
