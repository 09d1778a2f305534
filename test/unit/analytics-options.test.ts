/**
 * Analytics options from the configuration: the retention a process applies.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../domain/errors.js';
import { testConfig } from '../helpers/config.js';

const ttlOf = (value: string | undefined): number | undefined => {
  const analytics = testConfig({
    BARRAGE_ANALYTICS: 'on',
    ...(value !== undefined ? { BARRAGE_ANALYTICS_TTL_DAYS: value } : {}),
  }).analytics;
  return analytics.enabled ? analytics.ttlDays : undefined;
};

describe('analytics options', () => {
  it('retention - BARRAGE_ANALYTICS_TTL_DAYS defaults to 90 days, 0 keeps rows for ever', () => {
    expect(ttlOf(undefined)).toBe(90);
    expect(ttlOf('')).toBe(90);
    expect(ttlOf('0')).toBe(0);
    expect(ttlOf('400')).toBe(400);
  });

  it('retention - a value that is not a whole number of days stops the start, saying which variable', () => {
    for (const bad of ['-1', '1.5', 'ninety', '36501']) expect(() => ttlOf(bad)).toThrow(ConfigError);
    expect(() => ttlOf('-1')).toThrow(/BARRAGE_ANALYTICS_TTL_DAYS/);
  });
});
