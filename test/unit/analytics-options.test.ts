/**
 * Analytics options from the environment: the retention a process applies.
 */
import { describe, expect, it } from 'vitest';
import { analyticsOptionsFromEnv } from '../../core/analytics/analytics.js';
import { ConfigError } from '../../domain/errors.js';

const config = { apiKey: 'k', apiKeyDerived: false };
const ttlOf = (value: string | undefined): number | undefined => {
  const options = analyticsOptionsFromEnv({ BARRAGE_ANALYTICS: 'on', BARRAGE_ANALYTICS_TTL_DAYS: value }, config);
  return options ? options.ttlDays : undefined;
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
