import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../domain/auth.js';
import { mintReceipt, verifyReceipt } from '../../domain/receipts.js';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');
const expect1 = { room: 'r1', userId: 'u1', maxTtlSeconds: 600 };

const messageOf = (receipt: string): string => {
  try {
    verifyReceipt(secret, receipt, expect1);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('receipts - audience and encoding', () => {
  it('receipts - a minted receipt carries aud barrage:receipt and verifies', async () => {
    const receipt = await mintReceipt(secret, { user: 'u1', room: 'r1', jti: 'pay-1', gift: 'heart', count: 2 });
    expect(JSON.parse(Buffer.from(receipt.split('.')[1] as string, 'base64url').toString())).toMatchObject({ aud: 'barrage:receipt' });
    expect(verifyReceipt(secret, receipt, expect1)).toMatchObject({ jti: 'pay-1', giftId: 'heart', count: 2 });
  });

  it('receipts - a receipt without aud barrage:receipt is refused, so a viewer token is never a receipt', async () => {
    const noAud = await new SignJWT({ room: 'r1', gift: 'heart' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setJti('pay-2')
      .setExpirationTime('5m')
      .sign(secret);
    const viewerAud = await new SignJWT({ room: 'r1', gift: 'heart' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('barrage')
      .setSubject('u1')
      .setJti('pay-3')
      .setExpirationTime('5m')
      .sign(secret);
    expect(messageOf(noAud)).toMatch(/aud must be "barrage:receipt"/);
    expect(messageOf(viewerAud)).toMatch(/aud must be "barrage:receipt"/);
    const token = await mintToken(secret, { room: 'r1', user: 'u1', name: 'n', role: 'viewer', ttlSeconds: 60 });
    expect(messageOf(token)).not.toBe('ok');
  });

  it('receipts - non-canonical base64url spellings of a valid receipt are refused', async () => {
    const receipt = await mintReceipt(secret, { user: 'u1', room: 'r1', jti: 'pay-4', gift: 'heart' });
    const [h, p, sig] = receipt.split('.') as [string, string, string];
    const resigned = (header: string, payload: string) =>
      `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
    expect(messageOf(receipt)).toBe('ok');
    for (const spelling of [`${h}.${p}.${sig}=`, `${h}.${p}.${sig}\u0000`, `${h}.${p}.${sig}.`, resigned(h, p + '=')]) {
      expect(messageOf(spelling), spelling).toMatch(/receipt invalid/);
    }
  });
});
