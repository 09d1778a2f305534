/**
 * The Dockerfile without a container engine: its build stage runs the test
 * command's own install script, its runtime stage is non-root with tini as
 * PID 1 and a HEALTHCHECK, it copies only what exists after a build, and the
 * image prune keeps exactly the uWebSockets.js binary this Node loads.
 * (The image's processes themselves run in cluster.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '../../domain/config/settings.js';
import { dockerfileInstructions, imageSpec } from './image.js';

describe('image - Dockerfile', () => {
  const all = dockerfileInstructions();

  it('image - the build stage runs scripts/install.sh, the script the test command runs', () => {
    const build = all.slice(0, all.map((i) => i.op).lastIndexOf('FROM'));
    expect(
      build
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/^bash scripts\/install\.sh +&& npm prune --omit=dev/);
    expect(readFileSync('scripts/test.sh', 'utf8')).toMatch(/^bash scripts\/install\.sh$/m);
    // Two stages from the same pinned base, so the build's node_modules binaries fit the runtime.
    const froms = all.filter((i) => i.op === 'FROM').map((i) => i.args.split(' ')[0]);
    expect(froms).toEqual(['${NODE_IMAGE}', '${NODE_IMAGE}']);
    expect(all.find((i) => i.op === 'ARG')?.args).toMatch(/^NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/);
  });

  it('image - runs as a non-root user under tini, with a HEALTHCHECK and start as the default command', () => {
    const spec = imageSpec();
    expect(spec.user.uid).toBeGreaterThan(0);
    expect(spec.entrypoint.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    expect(spec.entrypoint.at(-1)).toBe('dist/bin/barrage.js');
    expect(spec.cmd).toEqual(['start']);
    expect(spec.healthcheck).toEqual(['node', 'dist/bin/barrage.js', 'health']);
    // Every setting whose default is a path under the working directory (the read-only /app
    // in the image) is moved to the volume: found in the loader's table, so a new one fails here.
    const here = process.cwd() + '/';
    const writable = Object.values(settings)
      .flatMap((section) => Object.values(section) as Array<{ name: string; read(env: object): unknown }>)
      .filter((s) => {
        const value = s.read({});
        return typeof value === 'string' && value.startsWith(here);
      })
      .map((s) => s.name);
    expect(writable).toEqual(expect.arrayContaining(['BARRAGE_SECRET_FILE', 'BARRAGE_ANALYTICS_PATH', 'BARRAGE_WEBHOOK_DEAD_DIR']));
    for (const name of writable)
      expect(spec.env[name]?.startsWith(spec.volume + '/'), `${name} is not set to a path under ${spec.volume}`).toBe(true);
  });

  it('image - copies only what a build leaves, and nothing ignored by .dockerignore is needed', () => {
    const spec = imageSpec();
    for (const { from } of spec.copies) expect(existsSync(from), from).toBe(true);
    expect(spec.copies.map((c) => c.from).sort()).toEqual(['dist', 'node_modules', 'package.json', 'widget/pages']);
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    // Built or installed on the host must not leak in; what the build reads must not be ignored.
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.tools', '.git']));
    for (const needed of [
      'package.json',
      'package-lock.json',
      'scripts',
      'proto',
      'domain',
      'core',
      'edge',
      'bin',
      'widget',
      'tsconfig.json',
      'tsconfig.build.json',
    ])
      expect(ignored, needed).not.toContain(needed);
  });

  it('image - the prune keeps exactly the uWebSockets.js binary this Node loads', () => {
    const real = 'node_modules/uWebSockets.js/dist/bin';
    const files = readdirSync(real);
    const keep = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    expect(files).toContain(keep);
    const dir = mkdtempSync(join(tmpdir(), 'barrage-prune-'));
    try {
      const bin = join(dir, 'uWebSockets.js/dist/bin');
      mkdirSync(bin, { recursive: true });
      for (const f of files) writeFileSync(join(bin, f), f.endsWith('.node') ? 'x' : readFileSync(join(real, f)));
      cpSync('node_modules/uWebSockets.js/package.json', join(dir, 'uWebSockets.js/package.json'));
      execFileSync(process.execPath, ['scripts/prune-image.mjs', dir]);
      expect(readdirSync(bin).filter((f) => f.endsWith('.node'))).toEqual([keep]);
      // A Node whose binary is missing fails the build instead of an image that cannot start.
      rmSync(join(bin, keep));
      expect(() => execFileSync(process.execPath, ['scripts/prune-image.mjs', dir], { stdio: 'pipe' })).toThrow(/missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
