/**
 * The container image without a container engine: reads the Dockerfile and
 * lays out what its runtime stage copies into a root-owned, read-only
 * directory, then runs `barrage <role>` with the image's ENTRYPOINT (tini +
 * node), ENV and non-root USER, from its WORKDIR. The one writable directory
 * plays the image's /var/lib/barrage volume. What cannot be reproduced: the
 * base image's files and `npm prune --omit=dev` (node_modules is the
 * repository's, linked).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tool } from './tools.js';

/** What the Dockerfile's runtime stage says. */
export interface ImageSpec {
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  user: { uid: number; gid: number };
  env: Record<string, string>;
  /** `COPY --from=build /src/<from> <to>` of the runtime stage, relative to the repository and the WORKDIR. */
  copies: Array<{ from: string; to: string }>;
  /** The directory made writable for the USER (the volume). */
  volume: string;
  healthcheck: string[];
}

/** Instructions of the Dockerfile with continuation lines joined and comments dropped. */
export function dockerfileInstructions(text = readFileSync('Dockerfile', 'utf8')): Array<{ op: string; args: string }> {
  const out: Array<{ op: string; args: string }> = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+(.*)$/.exec(full);
    if (m) out.push({ op: (m[1] as string).toUpperCase(), args: m[2] as string });
  }
  return out;
}

/** The runtime stage (after the last FROM) of the Dockerfile. */
export function imageSpec(): ImageSpec {
  const all = dockerfileInstructions();
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const stage = all.slice(lastFrom + 1);
  const json = (op: string) => JSON.parse(stage.find((i) => i.op === op)?.args ?? '[]') as string[];
  const env: Record<string, string> = {};
  for (const i of stage.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  }
  const copies = stage
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const m = /^--from=build\s+\/src\/(\S+)\s+(\S+)$/.exec(i.args);
      if (!m) throw new Error(`unexpected COPY in the runtime stage: ${i.args}`);
      return { from: m[1] as string, to: m[2] as string };
    });
  const [uid, gid] = (stage.find((i) => i.op === 'USER')?.args ?? '0').split(':').map(Number) as [number, number | undefined];
  const volume = (JSON.parse(stage.find((i) => i.op === 'VOLUME')?.args ?? '[]') as string[])[0] ?? '';
  const health = stage.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  return {
    entrypoint: json('ENTRYPOINT'),
    cmd: json('CMD'),
    workdir: stage.find((i) => i.op === 'WORKDIR')?.args ?? '/',
    user: { uid, gid: gid ?? uid },
    env,
    copies,
    volume,
    healthcheck: JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[],
  };
}

/** A staged image: its read-only app directory and its one writable data directory. */
export class StagedImage {
  readonly spec = imageSpec();
  readonly root = mkdtempSync(join(tmpdir(), 'barrage-image-'));
  readonly app = join(this.root, 'app');
  readonly data = join(this.root, 'data');

  constructor() {
    if (!existsSync('dist/bin/barrage.js')) throw new Error('dist/ is missing: run node scripts/build.mjs (scripts/test.sh does)');
    chmodSync(this.root, 0o755);
    mkdirSync(this.app);
    for (const { from, to } of this.spec.copies) {
      const target = resolve(this.app, to);
      // node_modules is linked: the real image has only production dependencies, pruned in the build stage.
      if (from === 'node_modules') symlinkSync(resolve(from), target);
      else cpSync(from, target, { recursive: true });
    }
    mkdirSync(this.data);
    chownSync(this.data, this.spec.user.uid, this.spec.user.gid);
    // The code belongs to root and nobody may write it: the process must not need to.
    lockDown(this.app);
  }

  /** The image's ENV with the volume's path moved to the staged data directory. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.spec.env))
      env[k] = v.startsWith(this.spec.volume) ? this.data + v.slice(this.spec.volume.length) : v;
    return {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      ...env,
      // tini warns when it is not PID 1 unless it is a subreaper; in the container it is PID 1.
      TINI_SUBREAPER: '1',
      HOME: this.data,
      ...extra,
    };
  }

  /** `<ENTRYPOINT> <args>` as the image's USER, from its WORKDIR. */
  spawn(args: string[], env: Record<string, string>): ChildProcess {
    const [bin, ...rest] = this.spec.entrypoint as [string, ...string[]];
    const command = bin === '/usr/bin/tini' ? tool('tini') : bin;
    const argv = rest.map((a) => (a === 'node' ? process.execPath : a));
    return spawn(command, [...argv, ...args], {
      cwd: this.app,
      env: this.env(env),
      uid: this.spec.user.uid,
      gid: this.spec.user.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** The HEALTHCHECK command's exit code in this environment. */
  health(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    const [bin, ...args] = this.spec.healthcheck as [string, ...string[]];
    return new Promise((done) => {
      execFile(
        bin === 'node' ? process.execPath : bin,
        args,
        { cwd: this.app, env: this.env(env), uid: this.spec.user.uid, gid: this.spec.user.gid },
        (err, _out, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
  }

  /** Files the image's USER owns anywhere on this filesystem outside the data directory. */
  async strayFiles(): Promise<string[]> {
    const out = await new Promise<string>((done) => {
      execFile(
        'find',
        ['/', '-xdev', '-user', String(this.spec.user.uid), '-not', '-path', `${this.data}*`, '-print'],
        { maxBuffer: 16 << 20 },
        (_err, stdout) => done(stdout),
      );
    });
    return out.split('\n').filter((l) => l !== '');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function lockDown(dir: string): void {
  execFileSync('chmod', ['-R', 'a-w', dir]);
  chmodSync(dir, 0o555);
}
