/**
 * Real nats-server processes on free ports, for integration tests: a single
 * JetStream server, or a three-node cluster. Each can be killed and started
 * again on the same ports and storage, so tests can fault them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../../bench/lib/ports.js';

export { freePort };

/** The pinned binary `scripts/tools.sh` installs, or one on PATH. */
export function natsServerBinary(): string {
  const local = resolve('.tools/bin/nats-server');
  return existsSync(local) ? local : 'nats-server';
}

/** One nats-server process that can be stopped and started again. */
export class NatsServer {
  private proc: ChildProcess | undefined;
  private output = '';

  constructor(
    readonly name: string,
    readonly port: number,
    readonly monitorPort: number,
    private readonly configFile: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the process and waits until it accepts clients (and, with JetStream, until it says so). */
  async start(): Promise<void> {
    this.output = '';
    const proc = spawn(natsServerBinary(), ['-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const onData = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    const deadline = Date.now() + 15_000;
    while (!this.output.includes('Server is ready')) {
      if (proc.exitCode !== null) throw new Error(`nats-server ${this.name} exited: ${this.output.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} not ready: ${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the process: SIGKILL for a crash, SIGTERM for a clean stop. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Monitoring endpoint JSON (`/connz?subs=1`, `/jsz`, ...). */
  async monitor<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}${path}`);
    return (await res.json()) as T;
  }

  log(): string {
    return this.output;
  }
}

/** A set of servers (one, or a cluster) and their scratch directory. */
export interface NatsSetup {
  servers: NatsServer[];
  urls: string[];
  stop(): Promise<void>;
}

/** One nats-server with JetStream, storage in a fresh temporary directory. */
export async function startNats(): Promise<NatsSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-nats-'));
  const port = await freePort();
  const monitor = await freePort();
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `server_name: n1\nlisten: 127.0.0.1:${port}\nhttp: 127.0.0.1:${monitor}\njetstream { store_dir: "${join(dir, 'js')}" }\n`,
  );
  const server = new NatsServer('n1', port, monitor, conf);
  await server.start();
  return {
    servers: [server],
    urls: [server.url],
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A three-node cluster with JetStream on every node. */
export async function startCluster(size = 3): Promise<NatsSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-cluster-'));
  const nodes: Array<{ name: string; port: number; monitor: number; route: number }> = [];
  for (let i = 1; i <= size; i++) {
    nodes.push({ name: `n${i}`, port: await freePort(), monitor: await freePort(), route: await freePort() });
  }
  const routes = nodes.map((n) => `nats-route://127.0.0.1:${n.route}`).join(', ');
  const servers = nodes.map((n) => {
    const conf = join(dir, `${n.name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${n.name}`,
        `listen: 127.0.0.1:${n.port}`,
        `http: 127.0.0.1:${n.monitor}`,
        `jetstream { store_dir: "${join(dir, n.name)}" }`,
        `cluster { name: barrage, listen: 127.0.0.1:${n.route}, routes: [${routes}] }`,
        '',
      ].join('\n'),
    );
    return new NatsServer(n.name, n.port, n.monitor, conf);
  });
  await Promise.all(servers.map((s) => s.start()));
  return {
    servers,
    urls: servers.map((s) => s.url),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
