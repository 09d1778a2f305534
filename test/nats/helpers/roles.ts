/**
 * `barrage edge` and `barrage core` as real child processes (through tsx, so
 * no build is needed), with the test secret and the ports they bound.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mintToken } from '../../../domain/auth.js';
import type { MintOptions } from '../../../domain/auth.js';
import { cliDefaults } from '../../helpers/process.js';
import { testSecret } from '../../helpers/config.js';

/** A running role process. */
export class RoleProcess {
  port = 0;
  output = '';
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;

  private constructor(
    readonly role: 'edge' | 'core',
    readonly id: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
    });
    const onData = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
  }

  /** Starts `barrage <role> --nats <urls>` and waits until it says it is up. */
  static async start(role: 'edge' | 'core', id: string, urls: string[], env: Record<string, string> = {}): Promise<RoleProcess> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bin/barrage.ts', role, '--nats', urls.join(','), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...cliDefaults,
        BARRAGE_SECRET: testSecret,
        HOST: '127.0.0.1',
        BARRAGE_EDGE_ID: id,
        BARRAGE_LOG_LEVEL: 'info',
        BARRAGE_DANMAKU_RATE: '1000',
        BARRAGE_DANMAKU_BURST: '1000',
        BARRAGE_FRAME_RATE: '10000',
        BARRAGE_FRAME_BURST: '10000',
        ...env,
      },
    });
    const p = new RoleProcess(role, id, proc);
    const marker = role === 'edge' ? 'Barrage edge is up' : 'Barrage core is up';
    const deadline = Date.now() + 30_000;
    while (!p.output.includes(marker)) {
      if (p.exitCode !== null || p.signal !== null) throw new Error(`${role} ${id} exited: ${p.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${role} ${id} did not start: ${p.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // An edge's WebSocket and HTTP port; core's health and metrics port.
    const line = p.output.split('\n').find((l) => l.includes(marker)) ?? '';
    p.port = (JSON.parse(line) as { port: number }).port;
    return p;
  }

  get alive(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  /** WebSocket URL of a room on this edge. */
  wsUrl(room: string, token?: string, since?: number): string {
    const q = new URLSearchParams({ room, ...(token ? { token } : {}), ...(since !== undefined ? { since: String(since) } : {}) });
    return `ws://127.0.0.1:${this.port}/ws?${q}`;
  }

  async http(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A viewer token signed with the test secret. */
export function token(options: Partial<MintOptions> & { room: string; user: string }): Promise<string> {
  return mintToken(new TextEncoder().encode(testSecret), { name: options.user, role: 'viewer', ...options });
}
