import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { TestClient } from '../helpers/client.js';
import { freePort, runCli, startCli } from '../helpers/process.js';

describe('cli - barrage token and start share one development secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-cli-'));
  const env = { BARRAGE_SECRET: '' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cli - token creates the dev secret once (0600) and prints a JWT with the claims', async () => {
    const r = await runCli(['token', '--room', 'demo', '--user', 'u1', '--name', 'Alice', '--role', 'moderator'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('development secret');
    const claims = decodeJwt(r.stdout.trim());
    expect(claims).toMatchObject({ sub: 'u1', name: 'Alice', room: 'demo', role: 'moderator' });
    expect(statSync(join(dir, '.barrage/dev-secret')).mode & 0o777).toBe(0o600);
  });

  it('cli - bad arguments exit 2 with a reason', async () => {
    const r = await runCli(['token', '--room', 'demo', '--user', 'u1', '--role', 'emperor'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role must be one of');
    expect((await runCli(['frobnicate'], { cwd: dir, env })).code).toBe(2);
  });

  it('cli - start accepts a token that token printed, and says how to set a real secret', async () => {
    const token = (await runCli(['token', '--room', 'demo', '--user', 'u2', '--name', 'Bob'], { cwd: dir, env })).stdout.trim();
    const proc = await startCli(['start'], { cwd: dir, env });
    try {
      expect(proc.output()).toContain('BARRAGE_SECRET');
      const c = await TestClient.connect(`ws://127.0.0.1:${proc.port}/ws?room=demo&token=${token}`);
      expect(c.welcome?.name).toBe('Bob');
      c.close();
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});

describe('cli - a bad setting stops the process before anything starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-cli-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cli - start with BARRAGE_AUTO_SLOW_RATE=abc exits 2 naming it, with no port, store or secret behind', async () => {
    const port = await freePort();
    const chdb = join(dir, 'chdb');
    const r = await runCli(['start', '--port', String(port)], {
      cwd: dir,
      env: { BARRAGE_SECRET: '', BARRAGE_AUTO_SLOW_RATE: 'abc', BARRAGE_ANALYTICS: 'on', BARRAGE_ANALYTICS_PATH: chdb },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BARRAGE_AUTO_SLOW_RATE must be an integer');
    expect(r.stdout).not.toContain('edge listening');
    expect(existsSync(chdb)).toBe(false);
    expect(existsSync(join(dir, '.barrage/dev-secret'))).toBe(false);
  });

  it('cli - edge and core check every setting before they connect to NATS', async () => {
    // Nothing listens on port 1: a role that connected before checking would wait for NATS, not exit 2.
    const nats = ['--nats', 'nats://127.0.0.1:1', '--port', '0'];
    const env = { BARRAGE_SECRET: 's'.repeat(32) };
    const edge = await runCli(['edge', ...nats], { cwd: dir, env: { ...env, BARRAGE_FILTER_MAX_TERMS: 'lots' } });
    expect([edge.code, edge.stderr]).toEqual([2, expect.stringContaining('BARRAGE_FILTER_MAX_TERMS')]);
    const core = await runCli(['core', ...nats], { cwd: dir, env: { ...env, BARRAGE_ANALYTICS: 'sometimes', BARRAGE_JS_REPLICAS: '2' } });
    expect(core.code).toBe(2);
    expect(core.stderr).toContain('BARRAGE_ANALYTICS must be on or off');
    expect(core.stderr).toContain('BARRAGE_JS_REPLICAS must be one of 1, 3, 5');
  });
});
