/**
 * deploy/compose.yaml and the files it mounts, checked without a container
 * engine: the YAML parses (with its anchors), every file it mounts exists,
 * every Barrage variable is a setting the loader reads with a valid value,
 * the services name each other consistently (NATS routes and URLs, HAProxy
 * servers, Prometheus targets, Grafana's dashboard), stop grace periods
 * outlast the shutdown deadline, and each tool accepts its own configuration
 * (`haproxy -c`, `promtool check config`, `nats-server -t`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../domain/config.js';
import { settingNames } from '../../domain/config/settings.js';
import { run } from './tools.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[];
  stop_grace_period?: string;
  read_only?: boolean;
  tmpfs?: string[];
  profiles?: string[];
}
const compose = parse(readFileSync('deploy/compose.yaml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const barrage = Object.entries(services).filter(([, s]) => s.image === 'barrage:local');
const byRole = (role: string) => barrage.filter(([, s]) => s.command?.[0] === role).map(([name]) => name);
/** `${NAME:?message}` and `${NAME}` as they would be with deploy/.env.example. */
const example = Object.fromEntries(
  readFileSync('deploy/.env.example', 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const interpolate = (v: string) => v.replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_m, name: string) => example[name] ?? '');
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);

describe('compose - deploy/compose.yaml', () => {
  it('compose - has the cluster the issue asks for', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['n1', 'n2', 'n3', 'clickhouse', 'haproxy', 'prometheus', 'grafana']));
    expect(byRole('core')).toHaveLength(2);
    expect(byRole('edge')).toHaveLength(2);
  });

  it('compose - every mounted file exists and every dependency is a service', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] as string;
        if (source.startsWith('.')) expect(existsSync(resolve('deploy', source)), `${name}: ${source}`).toBe(true);
      }
      for (const d of s.depends_on ?? []) expect(Object.keys(services), `${name} depends on ${d}`).toContain(d);
    }
  });

  it('compose - Barrage services read only settings the loader knows, with values it accepts, and run like the chart', () => {
    const known = new Set(settingNames());
    for (const [name, s] of barrage) {
      const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
      for (const key of Object.keys(env)) expect(known.has(key), `${name}: ${key} is not a setting`).toBe(true);
      // The loader accepts the whole environment (a bad value would exit 2 at start).
      const config = loadConfig(env, { createSecret: false, requireNats: true });
      expect(config.nats.servers.map((u) => new URL(u).hostname)).toEqual(['n1', 'n2', 'n3']);
      expect(config.analytics.clickhouseUrl && new URL(config.analytics.clickhouseUrl).hostname).toBe('clickhouse');
      // Read-only root filesystem; the image's volume and /tmp are writable.
      expect(s.read_only).toBe(true);
      expect(s.tmpfs?.some((t) => t.startsWith('/tmp'))).toBe(true);
      expect(s.volumes?.some((v) => v.endsWith(':/var/lib/barrage'))).toBe(true);
      // Compose's SIGKILL comes after the process's own deadline.
      expect(seconds(s.stop_grace_period ?? '10s') * 1000, name).toBeGreaterThan(config.process.shutdownDeadlineMs);
      if (s.command?.[0] === 'edge') expect(config.edge.drainDelayMs, name).toBeGreaterThan(0);
    }
  });

  it('compose - NATS nodes route to each other and each names itself; nats-server accepts the configuration', async () => {
    const conf = readFileSync('deploy/nats/cluster.conf', 'utf8');
    const routes = [...conf.matchAll(/nats-route:\/\/(\w+):6222/g)].map((m) => m[1]);
    expect(routes).toEqual(['n1', 'n2', 'n3']);
    for (const n of routes) expect(services[n as string]?.environment?.['NATS_NAME']).toBe(n);
    const out = await run('nats-server', ['-c', 'deploy/nats/cluster.conf', '-t'], { env: { NATS_NAME: 'n1' } });
    expect(out.code, out.stdout + out.stderr).toBe(0);
  });

  it('compose - HAProxy balances the edge services on their port with a check that beats the drain delay; haproxy -c accepts it', async () => {
    const cfg = readFileSync('deploy/haproxy/haproxy.cfg', 'utf8');
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):(\d+)/gm)].map((m) => ({ host: m[2], port: Number(m[3]) }));
    expect(servers.map((s) => s.host).sort()).toEqual(byRole('edge').sort());
    for (const s of servers) expect(s.port).toBe(loadConfig({ BARRAGE_SECRET: 'x'.repeat(32) }, { createSecret: false }).edge.port);
    // Two failed checks must take an edge out well within its drain delay.
    const inter = Number(/inter (\d+)s/.exec(cfg)?.[1]);
    const fall = Number(/fall (\d+)/.exec(cfg)?.[1]);
    const delay = Number(services['edge1']?.environment?.['BARRAGE_DRAIN_DELAY_MS']);
    expect(inter * fall * 1000 * 2).toBeLessThanOrEqual(delay);
    expect(cfg).toMatch(/http-check send meth GET uri \/readyz ver HTTP\/1\.1/);
    const out = await run('haproxy', ['-c', '-f', 'deploy/haproxy/haproxy.cfg']);
    expect(out.code, out.stdout + out.stderr).toBe(0);
  });

  it('compose - Prometheus scrapes every edge, core, NATS exporter, ClickHouse and HAProxy service; promtool accepts config and rules', async () => {
    const prom = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = Object.fromEntries(prom.scrape_configs.map((s) => [s.job_name, s.static_configs.flatMap((c) => c.targets)]));
    expect(targets['barrage-edge']?.sort()).toEqual(
      byRole('edge')
        .map((n) => `${n}:8080`)
        .sort(),
    );
    expect(targets['barrage-core']?.sort()).toEqual(
      byRole('core')
        .map((n) => `${n}:9470`)
        .sort(),
    );
    for (const t of Object.values(targets).flat()) expect(Object.keys(services), t).toContain(t.split(':')[0]);
    expect(readFileSync('deploy/clickhouse/prometheus.xml', 'utf8')).toContain(`<port>${targets['clickhouse']?.[0]?.split(':')[1]}</port>`);
    expect(readFileSync('deploy/haproxy/haproxy.cfg', 'utf8')).toContain(`bind :${targets['haproxy']?.[0]?.split(':')[1]}`);
    const out = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: 'deploy/prometheus' });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(services['prometheus']?.volumes).toContain('./prometheus/alerts.yaml:/etc/prometheus/alerts.yaml:ro');
  });

  it('compose - Grafana gets the Prometheus data source and docs/grafana-dashboard.json where its provider looks', () => {
    const provider = parse(readFileSync('deploy/grafana/provisioning/dashboards/barrage.yaml', 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const path = provider.providers[0]?.options.path as string;
    const mount = services['grafana']?.volumes?.find((v) => v.includes('grafana-dashboard.json')) as string;
    expect(mount.split(':')[1]?.startsWith(path + '/')).toBe(true);
    const ds = parse(readFileSync('deploy/grafana/provisioning/datasources/prometheus.yaml', 'utf8')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(ds.datasources[0]?.type).toBe('prometheus');
    expect(new URL(ds.datasources[0]?.url as string).hostname).toBe('prometheus');
  });
});
