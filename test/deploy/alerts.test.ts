/**
 * deploy/prometheus/alerts.yaml: `promtool check rules` (syntax, PromQL,
 * templates) and `promtool test rules` (deploy/prometheus/alerts.test.yaml:
 * each alert fires on what should wake someone and stays quiet otherwise).
 * That every metric the rules name exists is checked against a real scrape in
 * prometheus.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from './tools.js';

const dir = 'deploy/prometheus';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (parse(readFileSync(`${dir}/alerts.yaml`, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);

describe('alerts - deploy/prometheus/alerts.yaml', () => {
  it('alerts - promtool check rules accepts every rule', async () => {
    const out = await run('promtool', ['check', 'rules', 'alerts.yaml'], { cwd: dir });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain('SUCCESS');
  });

  it('alerts - promtool test rules: every alert is tested firing', async () => {
    const out = await run('promtool', ['test', 'rules', 'alerts.test.yaml'], { cwd: dir });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    // Each alert appears in at least one test that expects it to fire.
    const tests = parse(readFileSync(`${dir}/alerts.test.yaml`, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    for (const a of alerts) expect(fired.has(a.alert as string), `${a.alert} has no test where it fires`).toBe(true);
  });

  it('alerts - cover what the issue asks for, each with a severity and a summary', () => {
    const names = alerts.map((a) => a.alert);
    for (const wanted of [
      'BarrageEdgeDown',
      'BarrageEdgeNatsDisconnected',
      'BarrageCoreNatsDisconnected',
      'BarrageLatencySLOFastBurn',
      'BarrageSlowReadersDropping',
      'BarrageAnalyticsLagging',
      'BarrageAnalyticsSpilling',
      'BarrageFileDescriptorsNearLimit',
      'BarrageWebhookDeadLetters',
    ])
      expect(names).toContain(wanted);
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.['severity']);
      expect(a.annotations?.['summary'], a.alert).toBeTruthy();
    }
  });
});
