/**
 * The deployment as it runs, without a container engine: nats-server, one
 * core and two edges started exactly as the image starts them (the
 * Dockerfile's ENTRYPOINT, tini + node, its ENV, as its non-root USER, from a
 * read-only copy of what the image holds), HAProxy with deploy/haproxy's
 * configuration in front of the edges, and a real Prometheus with
 * deploy/prometheus's configuration and alert rules scraping them all.
 *
 * - every query of docs/grafana-dashboard.json and every metric the alert
 *   rules name returns series from the running cluster;
 * - the image's HEALTHCHECK answers for an edge and for core, and fails
 *   when nothing answers;
 * - SIGTERM to an edge's tini: /readyz turns 503, HAProxy takes the edge out
 *   while it still serves, its viewers are closed with 4000 and resume on the
 *   other edge at the first try with nothing missed, and the process exits 0;
 * - the processes wrote nothing outside the image's data volume (core runs
 *   chDB analytics and a webhook queue, as the image does by default).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { Injector, sleep } from '../nats/helpers/inject.js';
import { token } from '../nats/helpers/roles.js';
import { Viewer } from '../nats/helpers/viewer.js';
import { testSecret } from '../helpers/config.js';
import { freePort } from '../helpers/process.js';
import { StagedImage } from './image.js';
import { tool } from './tools.js';

/** A process started the image's way, with its output kept. */
class ImageProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly proc: ChildProcess,
  ) {
    const keep = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  }
  async up(marker: string): Promise<this> {
    const deadline = Date.now() + 60_000;
    while (!this.output.includes(marker)) {
      if (this.proc.exitCode !== null) throw new Error(`${this.name} exited: ${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start: ${this.output.slice(-3000)}`);
      await sleep(50);
    }
    return this;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 25_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Waits in a hook (expect.poll belongs to tests) until `ready` holds. */
async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A helper server (HAProxy, Prometheus) that is not Barrage. */
function startTool(name: string, args: string[], cwd: string): ImageProcess {
  return new ImageProcess(name, 0, spawn(tool(name), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

const limits = { BARRAGE_DANMAKU_RATE: '1000', BARRAGE_DANMAKU_BURST: '1000', BARRAGE_FRAME_RATE: '10000', BARRAGE_FRAME_BURST: '10000' };
const drainDelayMs = 5000;

describe('deployment - an image-started cluster behind HAProxy, scraped by Prometheus', () => {
  let image: StagedImage;
  let nats: NatsSetup;
  let core: ImageProcess;
  let edgeA: ImageProcess;
  let edgeB: ImageProcess;
  let haproxy: ImageProcess;
  let prometheus: ImageProcess;
  let lbPort = 0;
  let promPort = 0;
  let statsPort = 0;
  let injector: Injector;
  const viewers: Viewer[] = [];
  let sender: Viewer;
  let sending: NodeJS.Timeout | undefined;
  const sent: string[] = [];
  const notices: string[] = [];
  let work: string;
  let hooks: Server;

  beforeAll(async () => {
    image = new StagedImage();
    work = join(image.root, 'work');
    mkdirSync(work);
    nats = await startNats();
    const common = {
      ...limits,
      BARRAGE_SECRET: testSecret,
      BARRAGE_NATS_URL: nats.urls.join(','),
      HOST: '127.0.0.1',
      BARRAGE_LOG_LEVEL: 'info',
    };
    const [corePort, portA, portB] = [await freePort(), await freePort(), await freePort()];
    // A webhook receiver that takes everything, so core runs its webhook queue (and its metrics).
    hooks = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    // Core as the image runs it without a ClickHouse URL: analytics in chDB on the volume.
    core = await new ImageProcess(
      'core',
      corePort,
      image.spawn(['core'], {
        ...common,
        BARRAGE_EDGE_ID: 'core',
        BARRAGE_CORE_HTTP_PORT: String(corePort),
        BARRAGE_ANALYTICS: 'on',
        BARRAGE_WEBHOOK_URL: hookUrl,
      }),
    ).up('Barrage core is up');
    const edge = (id: string, port: number) =>
      new ImageProcess(
        id,
        port,
        image.spawn(['edge'], {
          ...common,
          BARRAGE_EDGE_ID: id,
          PORT: String(port),
          BARRAGE_ANALYTICS: 'off',
          BARRAGE_DRAIN_DELAY_MS: String(drainDelayMs),
          BARRAGE_SHUTDOWN_DEADLINE_MS: '15000',
        }),
      ).up('Barrage edge is up');
    [edgeA, edgeB] = await Promise.all([edge('edge-a', portA), edge('edge-b', portB)]);

    // HAProxy: deploy/haproxy/haproxy.cfg with loopback addresses for the container names.
    lbPort = await freePort();
    statsPort = await freePort();
    const cfg = readFileSync('deploy/haproxy/haproxy.cfg', 'utf8')
      .replace(/^\s*default-server (.*) resolvers docker (.*)$/m, '  default-server $1 $2')
      .replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, '')
      .replace('bind :80', `bind 127.0.0.1:${lbPort}`)
      .replace('bind :8404', `bind 127.0.0.1:${statsPort}`)
      .replace('edge1:8080', `127.0.0.1:${portA}`)
      .replace('edge2:8080', `127.0.0.1:${portB}`)
      .replace(/^\s*log .*$/gm, '')
      // The machine allows 20,000 descriptors per process; the compose container raises its own.
      .replace(/maxconn \d+/, 'maxconn 4000');
    writeFileSync(join(work, 'haproxy.cfg'), cfg);
    haproxy = startTool('haproxy', ['-f', 'haproxy.cfg', '-db'], work);

    // Prometheus: deploy/prometheus/prometheus.yml with these targets, scraping every second.
    promPort = await freePort();
    const conf = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    conf.global['scrape_interval'] = '1s';
    conf.global['evaluation_interval'] = '1s';
    conf.rule_files = conf.rule_files.map((f) => resolve('deploy/prometheus', f));
    const targets: Record<string, string[]> = {
      'barrage-edge': [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`],
      'barrage-core': [`127.0.0.1:${corePort}`],
      haproxy: [`127.0.0.1:${statsPort}`],
    };
    // NATS exporters and ClickHouse are containers of compose.yaml, not run here.
    conf.scrape_configs = conf.scrape_configs
      .filter((s) => targets[s.job_name])
      .map((s) => ({ ...s, static_configs: [{ targets: targets[s.job_name] as string[] }] }));
    writeFileSync(join(work, 'prometheus.yml'), stringify(conf));
    prometheus = startTool(
      'prometheus',
      ['--config.file=prometheus.yml', `--storage.tsdb.path=${join(work, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      work,
    );
    await waitFor(
      `prometheus ready: ${prometheus.output.slice(-500)}`,
      30_000,
      async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.status === 200,
    );
    await waitFor(
      `haproxy answering from an edge: ${haproxy.output.slice(-1000)}`,
      20_000,
      async () => (await fetch(`http://127.0.0.1:${lbPort}/readyz`).catch(() => undefined))?.status === 200,
    );

    injector = await Injector.connect(nats.urls);
    // A sender on edge B throughout; viewers through the balancer, one at a time so leastconn spreads them.
    const senderToken = await token({ room: 'deploy', user: 'sender' });
    sender = await new Viewer(() => `ws://127.0.0.1:${portB}/ws?room=deploy&token=${senderToken}`).start();
    for (let i = 0; i < 6; i++) {
      const t = await token({ room: 'deploy', user: `v${i}` });
      viewers.push(
        await new Viewer(
          (_n, since) => `ws://127.0.0.1:${lbPort}/ws?room=deploy&token=${t}${since !== undefined ? `&since=${since}` : ''}`,
        ).start(),
      );
    }
    let n = 0;
    sending = setInterval(() => {
      const text = `d${++n}`;
      sent.push(text);
      sender.danmaku(text);
      if (n % 5 === 0) {
        const notice = `n${n}`;
        notices.push(notice);
        injector.notice('deploy', notice);
      }
    }, 50);
  }, 180_000);

  afterAll(async () => {
    clearInterval(sending);
    for (const v of viewers) v.close();
    sender?.close();
    await injector?.close();
    await Promise.all([edgeA, edgeB, core, haproxy, prometheus].map((p) => p?.stop()));
    await nats?.stop();
    hooks?.close();
    image?.remove();
  });

  const query = async (expr: string): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data?.result.length ?? 0;
  };

  it('deployment - Prometheus scrapes both edges, core and HAProxy', async () => {
    await expect.poll(() => query('up == 1'), { timeout: 20_000 }).toBe(4);
  });

  it('deployment - every Grafana dashboard query returns series from the running cluster', async () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(30);
    for (const { title, expr } of exprs) {
      const q = expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '30s');
      await expect.poll(() => query(q), { timeout: 30_000, message: `${title}: ${q} returns no series` }).toBeGreaterThan(0);
    }
  }, 120_000);

  it('deployment - every metric the alert rules name is exported by the running cluster', async () => {
    const text = readFileSync('deploy/prometheus/alerts.yaml', 'utf8');
    const names = new Set([...text.matchAll(/\b(barrage_[a-z0-9_]+)/g)].map((m) => m[1] as string));
    expect(names.size).toBeGreaterThan(15);
    for (const name of names) {
      // A histogram's base name (named in comments) exists as its _count series.
      await expect
        .poll(() => query(`count({__name__=~"${name}|${name}_count"})`), { timeout: 20_000, message: `${name} is not exported` })
        .toBe(1);
    }
    // The rules load and evaluate in a real Prometheus.
    const rules = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(15);
    await expect
      .poll(
        async () => {
          const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json()) as typeof rules;
          return r.data.groups
            .flatMap((g) => g.rules)
            .filter((x) => x.health !== 'ok')
            .map((x) => `${x.name}: ${x.health} ${x.lastError ?? ''}`);
        },
        { timeout: 20_000 },
      )
      .toEqual([]);
  }, 60_000);

  it("deployment - the image's HEALTHCHECK passes for an edge and for core and fails when nothing answers", async () => {
    expect((await image.health({ PORT: String(edgeA.port) })).code).toBe(0);
    expect((await image.health({ PORT: String(await freePort()), BARRAGE_CORE_HTTP_PORT: String(core.port) })).code).toBe(0);
    const none = await image.health({ PORT: String(await freePort()), BARRAGE_CORE_HTTP_PORT: String(await freePort()) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('unhealthy');
  });

  it('deployment - SIGTERM to an edge under tini: out of the balancer first, its viewers resume on the other edge with nothing missed', async () => {
    const on = (v: Viewer) => v.welcomes.at(-1)?.edgeId;
    const moved = viewers.filter((v) => on(v) === 'edge-a');
    const stats = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
    expect(moved.length, `leastconn put viewers on both edges: ${viewers.map(on).join(' ')}\n${stats}\n${haproxy.output}`).toBeGreaterThan(
      0,
    );
    expect(moved.length).toBeLessThan(viewers.length);
    await expect.poll(() => Math.min(...viewers.map((v) => v.texts().length)), { timeout: 10_000 }).toBeGreaterThan(5);

    const signalled = Date.now();
    edgeA.proc.kill('SIGTERM');
    // The balancer sees the 503 and takes the edge out while it still serves its viewers.
    await expect
      .poll(
        async () => {
          // HAProxy's own view (its stats CSV: the 18th column is the server's status).
          const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
          return csv
            .split('\n')
            .find((l) => l.startsWith('barrage_edges,edge1,'))
            ?.split(',')[17];
        },
        { timeout: drainDelayMs },
      )
      .toBe('DOWN');
    expect(await (await fetch(`http://127.0.0.1:${lbPort}/readyz`)).text(), 'the balancer answers from the other edge').toBe('ready');
    expect(
      moved.every((v) => v.reconnects === 0),
      'viewers stay connected during the drain delay',
    ).toBe(true);

    const exit = await edgeA.exited;
    expect(exit, edgeA.output.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(drainDelayMs);
    for (const v of moved) {
      await v.until(() => v.welcomes.length >= 2, 20_000, 'a welcome after the drain');
      // The first reconnect landed on the other edge: the balancer never sent it back to the draining one.
      expect(v.reconnects).toBe(1);
      expect(on(v)).toBe('edge-b');
    }

    // Keep sending a little longer, then everyone must have everything.
    const until = sent.length + 20;
    await expect.poll(() => sent.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(until);
    clearInterval(sending);
    sending = undefined;
    const lastNotice = notices.at(-1) as string;
    const lastText = sent.at(-1) as string;
    for (const v of viewers) {
      await v.until(() => v.texts().includes(lastText) && v.notices().includes(lastNotice), 20_000, 'the last danmaku and notice');
      const texts = new Set(v.texts());
      const first = sent.findIndex((t) => texts.has(t));
      const missing = sent.slice(first).filter((t) => !texts.has(t));
      expect(missing, `${on(v)} viewer missed danmaku`).toEqual([]);
      expect(notices.filter((n) => !v.notices().includes(n) && Number(n.slice(1)) > first)).toEqual([]);
      // Sequenced events arrived in order, each once, with no hole.
      const seqs = v.ordered().map((e) => e.seq);
      const holes = seqs.slice(1).filter((s, i) => s !== (seqs[i] as number) + 1);
      expect(holes).toEqual([]);
    }
  }, 90_000);

  it('deployment - nothing was written outside the image volume', async () => {
    // Core's chDB data is on the volume; the code directory stayed untouched.
    expect(readFileSync(join(image.app, 'package.json'), 'utf8')).toContain('"name": "barrage"');
    expect(await image.strayFiles()).toEqual([]);
  });
});
