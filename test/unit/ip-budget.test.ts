import { describe, expect, it } from 'vitest';
import { IpBudgets, isLocal, keyOf } from '../../edge/ip-budget.js';

const limits = {
  upgradesPerSecond: 1,
  upgradesBurst: 2,
  costlyPerSecond: 1,
  costlyBurst: 1,
  framesPerSecond: 10,
  framesBurst: 10,
  maxConnections: 0,
  trustProxy: false,
};

describe('ip budget - per-address limits', () => {
  it('ip budget - IPv4 keys as is, IPv6 by /64, IPv4-mapped IPv6 as IPv4', () => {
    expect(keyOf('203.0.113.9')).toBe('203.0.113.9');
    expect(keyOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(keyOf('2001:db8:1:2:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(keyOf('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(keyOf('0000:0000:0000:0000:0000:ffff:c633:6407')).toBe('198.51.100.7');
  });

  it('ip budget - loopback, private and link-local peers are recognised as local', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.0.1', '::1', 'fd00::1', 'fe80::1'])
      expect(isLocal(keyOf(a)), a).toBe(true);
    for (const a of ['203.0.113.9', '172.32.0.1', '2001:db8::1']) expect(isLocal(keyOf(a)), a).toBe(false);
  });

  it('ip budget - entries without connections are swept once their buckets refill; the map is capped', () => {
    let now = 0;
    const budgets = new IpBudgets(limits, 3, () => now);
    const a = budgets.get('a');
    expect(budgets.admit(a, now)).toBe(0);
    expect(budgets.admit(a, now)).toBe(0);
    expect(budgets.admit(a, now)).toBeGreaterThan(0);
    a.connections = 1;
    budgets.get('b');
    budgets.get('c');
    expect(budgets.get('d').key).toBe('overflow');
    now = 10_000;
    budgets.sweep(now);
    expect(budgets.size).toBe(1);
    a.connections = 0;
    budgets.sweep(now);
    expect(budgets.size).toBe(0);
  });
});
