/**
 * The Helm chart (deploy/helm/barrage): `helm lint --strict`, and assertions
 * on what `helm template` renders: the drain timings line up (readiness turns
 * red before the sockets close, the grace period outlasts the deadline), the
 * pods run non-root on a read-only root filesystem with their only writable
 * paths mounted, secrets come from an existing Secret, every environment
 * variable is a setting the loader knows, and Services, HPA, PDB and
 * ServiceMonitor point at what exists. Bad values fail the render.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { settingNames } from '../../domain/config/settings.js';
import { EdgeMetrics } from '../../edge/metrics.js';
import { run } from './tools.js';

const chart = 'deploy/helm/barrage';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown } };

async function render(set: Record<string, string | number | boolean> = {}): Promise<Manifest[]> {
  const args = ['template', 'rel', chart];
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${String(v)}`);
  const out = await run('helm', args);
  if (out.code !== 0) throw new Error(out.stderr);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

async function renderError(set: Record<string, string | number>): Promise<string> {
  const args = ['template', 'rel', chart];
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${String(v)}`);
  const out = await run('helm', args);
  expect(out.code, 'the render should have failed').not.toBe(0);
  return out.stderr;
}

const one = (ms: Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return m;
};
const containerOf = (d: Manifest) => d.spec.template.spec.containers[0];
const envOf = (d: Manifest): EnvVar[] => containerOf(d).env as EnvVar[];
const envValue = (d: Manifest, name: string) => envOf(d).find((e) => e.name === name)?.value;

describe('helm chart - deploy/helm/barrage', () => {
  it('helm chart - passes helm lint --strict', async () => {
    const out = await run('helm', ['lint', '--strict', chart]);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain('0 chart(s) failed');
  });

  it('helm chart - renders edge and core Deployments, their Services, an HPA and a PDB; no ServiceMonitor unless asked', async () => {
    const ms = await render();
    expect(ms.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'Deployment/rel-barrage-core',
      'Deployment/rel-barrage-edge',
      'HorizontalPodAutoscaler/rel-barrage-edge',
      'PodDisruptionBudget/rel-barrage-edge',
      'Service/rel-barrage-core',
      'Service/rel-barrage-edge',
    ]);
    expect(containerOf(one(ms, 'Deployment', 'rel-barrage-edge')).args).toEqual(['edge']);
    expect(containerOf(one(ms, 'Deployment', 'rel-barrage-core')).args).toEqual(['core']);
  });

  it('helm chart - the edge drains in order: readiness red before the sockets close, gone before the grace period ends', async () => {
    const cases: Array<Record<string, number>> = [{}, { 'edge.drainDelaySeconds': 10, 'edge.shutdownDeadlineSeconds': 30 }];
    for (const set of cases) {
      const edge = one(await render(set), 'Deployment', 'rel-barrage-edge');
      const deadlineMs = Number(envValue(edge, 'BARRAGE_SHUTDOWN_DEADLINE_MS'));
      const delayMs = Number(envValue(edge, 'BARRAGE_DRAIN_DELAY_MS'));
      expect(delayMs).toBeGreaterThan(0);
      // The process needs time after the delay (the loader refuses less than 1 s).
      expect(delayMs + 1000).toBeLessThanOrEqual(deadlineMs);
      // The kubelet's SIGKILL comes after the process's own deadline.
      expect(edge.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(deadlineMs);
      // The readiness probe notices the 503 within the delay, so the pod leaves the Service first.
      const probe = containerOf(edge).readinessProbe;
      expect(probe.httpGet.path).toBe('/readyz');
      expect(probe.periodSeconds * probe.failureThreshold * 1000).toBeLessThan(delayMs);
      // A rolling update adds the new edge before an old one drains.
      expect(edge.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    }
    const core = one(await render(), 'Deployment', 'rel-barrage-core');
    expect(core.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      Number(envValue(core, 'BARRAGE_SHUTDOWN_DEADLINE_MS')),
    );
    expect(core.spec.strategy.type).toBe('Recreate');
  });

  it('helm chart - pods run non-root on a read-only root filesystem; the data dir and /tmp are mounted volumes', async () => {
    const ms = await render();
    for (const name of ['rel-barrage-edge', 'rel-barrage-core']) {
      const pod = one(ms, 'Deployment', name).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(pod.securityContext.runAsUser).not.toBe(0);
      const c = pod.containers[0];
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      const mounts = Object.fromEntries((c.volumeMounts as Array<{ name: string; mountPath: string }>).map((m) => [m.mountPath, m.name]));
      expect(Object.keys(mounts).sort()).toEqual(['/tmp', '/var/lib/barrage']);
      for (const volume of Object.values(mounts)) {
        expect(pod.volumes.find((v: { name: string }) => v.name === volume)?.emptyDir, volume).toBeDefined();
      }
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
    }
  });

  it('helm chart - secrets come from the existing Secret, never as values; every variable is a setting the loader reads', async () => {
    const known = new Set(settingNames());
    const ms = await render({
      'secrets.existingSecret': 'site',
      'secrets.clickhouseUrlKey': 'ch',
      'secrets.receiptSecretKey': 'rcpt',
      'secrets.webhookSecretKey': 'wh',
      'webhooks.url': 'https://site.example/hooks',
      'env.BARRAGE_GUEST_ROOMS': '',
    });
    for (const name of ['rel-barrage-edge', 'rel-barrage-core']) {
      const env = envOf(one(ms, 'Deployment', name));
      for (const e of env) expect(known.has(e.name), `${name}: ${e.name} is not a setting of domain/config/settings.ts`).toBe(true);
      expect(new Set(env.map((e) => e.name)).size, 'no variable twice').toBe(env.length);
      for (const secret of [
        'BARRAGE_SECRET',
        'BARRAGE_API_KEY',
        'BARRAGE_CLICKHOUSE_URL',
        'BARRAGE_RECEIPT_SECRET',
        'BARRAGE_WEBHOOK_SECRET',
      ]) {
        const e = env.find((x) => x.name === secret);
        expect(e?.value, secret).toBeUndefined();
        expect(e?.valueFrom?.secretKeyRef?.name, secret).toBe('site');
      }
      expect(env.find((e) => e.name === 'BARRAGE_GUEST_ROOMS')).toEqual({ name: 'BARRAGE_GUEST_ROOMS', value: '' });
      expect(env.find((e) => e.name === 'BARRAGE_EDGE_ID')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' });
    }
    const plain = envOf(one(await render({ 'analytics.clickhouseUrl': 'http://ch:8123' }), 'Deployment', 'rel-barrage-core'));
    expect(plain.find((e) => e.name === 'BARRAGE_CLICKHOUSE_URL')?.value).toBe('http://ch:8123');
  });

  it('helm chart - Services, PDB and HPA select the pods and ports that exist; the HPA scales on a metric edges export', async () => {
    const ms = await render();
    for (const role of ['edge', 'core']) {
      const deployment = one(ms, 'Deployment', `rel-barrage-${role}`);
      const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
      expect(deployment.spec.selector.matchLabels).toEqual(podLabels);
      const service = one(ms, 'Service', `rel-barrage-${role}`);
      expect(podLabels).toMatchObject(service.spec.selector);
      const portNames = (containerOf(deployment).ports as Array<{ name: string }>).map((p) => p.name);
      for (const p of service.spec.ports) expect(portNames).toContain(p.targetPort);
    }
    const edgeLabels = one(ms, 'Deployment', 'rel-barrage-edge').spec.template.metadata.labels;
    expect(one(ms, 'PodDisruptionBudget', 'rel-barrage-edge').spec.selector.matchLabels).toEqual(edgeLabels);
    expect(one(ms, 'Deployment', 'rel-barrage-core').spec.template.metadata.labels).not.toMatchObject(edgeLabels);

    const hpa = one(ms, 'HorizontalPodAutoscaler', 'rel-barrage-edge');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'rel-barrage-edge' });
    const metric = hpa.spec.metrics.find((m: { type: string }) => m.type === 'Pods').pods;
    const exported = (await new EdgeMetrics(false).registry.getMetricsAsJSON()).map((m) => m.name);
    expect(exported).toContain(metric.metric.name);
    expect(metric.target).toEqual({ type: 'AverageValue', averageValue: '15000' });
    // With the HPA on, the Deployment leaves replicas to it; off, the chart sets them.
    expect(one(ms, 'Deployment', 'rel-barrage-edge').spec.replicas).toBeUndefined();
    const fixed = await render({ 'edge.autoscaling.enabled': false, 'edge.replicas': 4 });
    expect(fixed.some((m) => m.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(one(fixed, 'Deployment', 'rel-barrage-edge').spec.replicas).toBe(4);
  });

  it('helm chart - the optional ServiceMonitor scrapes both Services as the jobs the alerts name', async () => {
    const ms = await render({ 'serviceMonitor.enabled': true, 'serviceMonitor.labels.release': 'kps' });
    const sm = one(ms, 'ServiceMonitor', 'rel-barrage');
    expect(sm.metadata.labels?.['release']).toBe('kps');
    const servicePorts = ms.filter((m) => m.kind === 'Service').flatMap((s) => s.spec.ports.map((p: { name: string }) => p.name));
    const jobs: string[] = [];
    for (const e of sm.spec.endpoints) {
      expect(servicePorts).toContain(e.port);
      expect(e.path).toBe('/metrics');
      jobs.push(e.relabelings[0].replacement);
    }
    expect(jobs.sort()).toEqual(['barrage-core', 'barrage-edge']);
    for (const s of ms.filter((m) => m.kind === 'Service')) expect(s.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
  });

  it('helm chart - bad values fail the render with a message instead of pods that crash-loop', async () => {
    expect(await renderError({ 'nats.url': '' })).toContain('nats.url is required');
    expect(await renderError({ 'secrets.existingSecret': '' })).toContain('secrets.existingSecret is required');
    expect(await renderError({ 'nats.jetstreamReplicas': 2 })).toContain('must be 1, 3 or 5');
    expect(await renderError({ 'edge.drainDelaySeconds': 15, 'edge.shutdownDeadlineSeconds': 15 })).toContain(
      'edge.shutdownDeadlineSeconds must be at least',
    );
  });
});
