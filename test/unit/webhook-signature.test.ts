/**
 * The webhook signature a receiver checks: computed independently here with
 * node:crypto from the documented formula, so the test pins the convention
 * (`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), not only sign/verify agreeing.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../domain/webhook-signature.js';

const secret = 'whsec-unit-0123456789';
const body = '{"events":[{"id":"r1:1","room":"r1","seq":1}]}';
const nowMs = 1_800_000_000_123;
const t = Math.floor(nowMs / 1000);
const documented = (s: string, ts: number, b: string): string => createHmac('sha256', s).update(`${ts}.${b}`).digest('hex');

describe('webhook signature - the documented convention', () => {
  it('webhook signature - signWebhook writes t and the hex HMAC-SHA256 of "t.body"', () => {
    expect(signWebhook(body, secret, nowMs)).toBe(`t=${t},v1=${documented(secret, t, body)}`);
  });

  it('webhook signature - a header made by hand from the formula verifies, with string or byte body', () => {
    const header = `t=${t},v1=${documented(secret, t, body)}`;
    expect(verifyWebhook(body, header, secret, { now: nowMs })).toEqual({ ok: true, timestamp: t });
    expect(verifyWebhook(new TextEncoder().encode(body), header, new TextEncoder().encode(secret), { now: nowMs })).toEqual({
      ok: true,
      timestamp: t,
    });
  });

  it('webhook signature - a wrong secret, an altered body or an altered signature fails as "signature"', () => {
    const header = signWebhook(body, secret, nowMs);
    expect(verifyWebhook(body, header, 'another-secret', { now: nowMs })).toEqual({ ok: false, reason: 'signature' });
    expect(verifyWebhook(body.replace('r1', 'r2'), header, secret, { now: nowMs })).toEqual({ ok: false, reason: 'signature' });
    const flipped = header.slice(0, -1) + (header.endsWith('0') ? '1' : '0');
    expect(verifyWebhook(body, flipped, secret, { now: nowMs })).toEqual({ ok: false, reason: 'signature' });
  });

  it('webhook signature - a timestamp outside the tolerance fails as "timestamp", inside it passes', () => {
    const header = signWebhook(body, secret, nowMs);
    expect(verifyWebhook(body, header, secret, { now: nowMs + 301_000 })).toEqual({ ok: false, reason: 'timestamp' });
    expect(verifyWebhook(body, header, secret, { now: nowMs - 301_000 })).toEqual({ ok: false, reason: 'timestamp' });
    expect(verifyWebhook(body, header, secret, { now: nowMs + 299_000 }).ok).toBe(true);
    expect(verifyWebhook(body, header, secret, { now: nowMs + 20_000, toleranceSeconds: 10 })).toEqual({
      ok: false,
      reason: 'timestamp',
    });
  });

  it('webhook signature - while rotating, any one of several v1 entries matching is enough', () => {
    const header = signWebhook(body, ['old-secret', secret], nowMs);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifyWebhook(body, header, secret, { now: nowMs }).ok).toBe(true);
    expect(verifyWebhook(body, header, 'old-secret', { now: nowMs }).ok).toBe(true);
    expect(verifyWebhook(body, `${header},v2=abc`, secret, { now: nowMs }).ok).toBe(true);
  });

  it('webhook signature - missing, empty, oversized or malformed headers fail as "malformed"', () => {
    const v1 = documented(secret, t, body);
    for (const header of [
      undefined,
      null,
      '',
      'garbage',
      `v1=${v1}`,
      `t=${t}`,
      `t=abc,v1=${v1}`,
      `t=${t},t=${t},v1=${v1}`,
      `t=${t},v1=zz`,
      `=x`,
      'x'.repeat(5000),
    ]) {
      expect(verifyWebhook(body, header, secret, { now: nowMs })).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('webhook signature - arbitrary headers never throw and never verify', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        expect(verifyWebhook(body, header, secret, { now: nowMs }).ok).toBe(false);
      }),
    );
  });
});
