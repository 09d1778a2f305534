import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken, verifyTokenSync } from '../../domain/auth.js';
import { mintReceipt } from '../../domain/receipts.js';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');
const other = new TextEncoder().encode('other-secret-other-secret-other-secret-99');

const codeOfAsync = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};
const codeOfSync = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};
/** Runs both verifiers (jose's async one, our synchronous one) and requires them to agree. */
const codeOf = async (secretBytes: Uint8Array, token: string, room: string) => {
  const reference = await codeOfAsync(verifyToken(secretBytes, token, room));
  expect(codeOfSync(() => verifyTokenSync(secretBytes, token, room))).toBe(reference);
  return reference;
};

describe('auth - tokens', () => {
  it('auth - a minted token verifies for its room with its claims', async () => {
    const token = await mintToken(secret, { room: 'r1', user: 'u1', name: 'Alice', role: 'moderator' });
    const id = await verifyToken(secret, token, 'r1');
    expect(verifyTokenSync(secret, token, 'r1')).toEqual(id);
    expect(id).toMatchObject({ userId: 'u1', name: 'Alice', room: 'r1', role: 'moderator', member: false });
  });

  it('auth - badges and medal: built-in badges from role and membership, claimed ones after them, bounds refused', async () => {
    const mint = (o: Partial<Parameters<typeof mintToken>[1]>, claims?: Record<string, unknown>) =>
      claims
        ? new SignJWT({ room: 'r1', role: 'viewer', ...claims })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject('u')
            .setExpirationTime('1h')
            .sign(secret)
        : mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer', ...o });
    const both = async (token: string) => {
      const id = await verifyToken(secret, token, 'r1');
      expect(verifyTokenSync(secret, token, 'r1')).toEqual(id);
      return id;
    };
    // Most viewers: nothing added to the identity.
    const plain = await both(await mint({}));
    expect(plain.badges).toBeUndefined();
    expect(plain.medal).toBeUndefined();
    const host = await both(
      await mint({ role: 'host', member: true, badges: ['vip', 'host', 'vip', 'founder'], medal: { name: ' 弹幕团 ', level: 21 } }),
    );
    // "host" claimed is ignored (the role gives it); repeats are dropped; the medal name is trimmed.
    expect(host.badges).toEqual(['host', 'member', 'vip', 'founder']);
    expect(host.medal).toEqual({ name: '弹幕团', level: 21 });
    // A viewer cannot claim a built-in badge.
    expect((await both(await mint({ badges: ['moderator', 'member'] }))).badges).toBeUndefined();
    expect((await both(await mint({ role: 'moderator' }))).badges).toEqual(['moderator']);
    const refused = [
      { badges: 'vip' },
      { badges: Array.from({ length: 9 }, (_, i) => `b${i}`) },
      { badges: ['Upper'] },
      { badges: ['x'.repeat(33)] },
      { badges: [''] },
      { badges: [7] },
      { medal: 'Fans' },
      { medal: { name: '', level: 1 } },
      { medal: { name: 'x'.repeat(17), level: 1 } },
      { medal: { name: 'a\u202eb', level: 1 } },
      { medal: { name: 'Fans', level: 0 } },
      { medal: { name: 'Fans', level: 1000 } },
      { medal: { name: 'Fans', level: 1.5 } },
      { medal: { name: 'Fans' } },
    ];
    for (const claims of refused) {
      const token = await mint({}, claims);
      expect(await codeOf(secret, token, 'r1'), JSON.stringify(claims)).toBe('TOKEN');
      await expect(verifyToken(secret, token, 'r1')).rejects.toThrow(/token (badges|medal)/);
    }
    // At the bounds: accepted.
    const edge = await both(
      await mint(
        {},
        { badges: Array.from({ length: 8 }, (_, i) => `b${i}`), medal: { name: '一二三四五六七八九十一二三四五六', level: 999 } },
      ),
    );
    expect(edge.badges).toHaveLength(8);
    expect(edge.medal?.level).toBe(999);
  });

  it('auth - refuses expired, wrong-room, badly signed, malformed and claimless tokens with distinct codes', async () => {
    const expired = await mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer', ttlSeconds: -60 });
    const good = await mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    const forged = await mintToken(other, { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    const noExp = await new SignJWT({ room: 'r1' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(secret);
    const badRole = await new SignJWT({ room: 'r1', role: 'king' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(secret);
    const noRoom = await new SignJWT({ role: 'viewer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(secret);
    const none = good.split('.').slice(0, 2).join('.') + '.';
    const [h, p, sig] = good.split('.') as [string, string, string];
    const algNone = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url') + '.' + p + '.';
    const hs512 = await new SignJWT({ room: 'r1' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(secret);
    const tampered =
      h +
      '.' +
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })).toString('base64url') +
      '.' +
      sig;
    const notYet = await new SignJWT({ room: 'r1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setNotBefore('1h')
      .setExpirationTime('2h')
      .sign(secret);
    expect(await codeOf(secret, algNone, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, hs512, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, tampered, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, notYet, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, good + 'x', 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, good, 'r1')).toBe('ok');
    expect(await codeOf(secret, expired, 'r1')).toBe('TOKEN_EXPIRED');
    expect(await codeOf(secret, good, 'r2')).toBe('TOKEN_ROOM');
    expect(await codeOf(secret, forged, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, noExp, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, badRole, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, noRoom, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, none, 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, 'garbage', 'r1')).toBe('TOKEN');
  });

  it('auth - a wildcard room is honoured only for admins', async () => {
    const admin = await mintToken(secret, { room: '*', user: 'a', name: 'Admin', role: 'admin' });
    const viewer = await mintToken(secret, { room: '*', user: 'v', name: 'V', role: 'viewer' });
    expect((await verifyToken(secret, admin, 'any-room')).role).toBe('admin');
    expect(await codeOf(secret, viewer, 'any-room')).toBe('TOKEN_ROOM');
  });

  it('auth - long display names are cut to 64 code points', async () => {
    const token = await mintToken(secret, { room: 'r', user: 'u', name: '名'.repeat(100), role: 'viewer' });
    expect([...(await verifyToken(secret, token, 'r')).name]).toHaveLength(64);
  });

  it('auth - a user id (sub) must be 1 to 128 characters, so every viewer can be muted and banned', async () => {
    const withSub = (sub: string) =>
      new SignJWT({ room: 'r1', name: 'N' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(secret);
    expect(await codeOf(secret, await withSub(''), 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, await withSub('u'.repeat(129)), 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, await withSub('u'.repeat(200)), 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, await withSub('u'.repeat(128)), 'r1')).toBe('ok');
    expect(await codeOf(secret, await withSub('u'), 'r1')).toBe('ok');
    const numeric = await new SignJWT({ room: 'r1', sub: 42 as unknown as string })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(secret);
    expect(await codeOf(secret, numeric, 'r1')).toBe('TOKEN');
    await expect(verifyToken(secret, await withSub('u'.repeat(200)), 'r1')).rejects.toThrow(/sub \(the user id\) must be 1 to 128/);
  });

  it('auth - an empty or blank display name falls back to the user id', async () => {
    for (const name of ['', '   ', '\u3000']) {
      const token = await mintToken(secret, { room: 'r', user: 'carol', name, role: 'viewer' });
      expect((await verifyToken(secret, token, 'r')).name).toBe('carol');
      expect(verifyTokenSync(secret, token, 'r').name).toBe('carol');
    }
    const noName = await new SignJWT({ room: 'r', name: 7 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dan')
      .setExpirationTime('1h')
      .sign(secret);
    expect(verifyTokenSync(secret, noName, 'r').name).toBe('dan');
  });

  it('auth - a gift receipt is not a viewer token (aud barrage:receipt); tokens without aud or with aud barrage stay valid', async () => {
    const receipt = await mintReceipt(secret, { user: 'u', room: 'r1', jti: 'pay-1', gift: 'heart' });
    expect(await codeOf(secret, receipt, 'r1')).toBe('TOKEN');
    await expect(verifyToken(secret, receipt, 'r1')).rejects.toThrow(/gift receipt/);
    const withAud = (aud: string | string[] | undefined) => {
      const jwt = new SignJWT({ room: 'r1' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime('1h');
      return (aud === undefined ? jwt : jwt.setAudience(aud)).sign(secret);
    };
    expect(await codeOf(secret, await withAud(['barrage', 'barrage:receipt']), 'r1')).toBe('TOKEN');
    expect(await codeOf(secret, await withAud(undefined), 'r1')).toBe('ok');
    expect(await codeOf(secret, await withAud('barrage'), 'r1')).toBe('ok');
    const minted = await mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    expect(JSON.parse(Buffer.from(minted.split('.')[1] as string, 'base64url').toString())).toMatchObject({ aud: 'barrage' });
  });

  it('auth - non-canonical base64url (padding, + and /, trailing bits, stray characters) is refused by both verifiers', async () => {
    // A token whose signature has both - and _ and whose last character carries unused bits.
    let good = '';
    for (let i = 0; !/[-_]/.test(good.split('.')[2] ?? ''); i++) {
      good = await mintToken(secret, { room: 'r1', user: `u${i}`, name: 'n', role: 'viewer' });
    }
    const [h, p, sig] = good.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const lastBitsSet = sig.slice(0, -1) + alphabet[alphabet.indexOf(sig.at(-1) as string) | 1];
    const resign = (header: string, payload: string) =>
      `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
    const spellings = [
      `${h}.${p}.${sig}=`,
      `${h}.${p}.${sig.replace(/-/g, '+').replace(/_/g, '/')}`,
      `${h}.${p}.${lastBitsSet}`,
      `${h}.${p}.${sig}\u0000`,
      `${h}.${p}.${sig.slice(0, 8)} ${sig.slice(8)}`,
      // Correctly signed, but the header or the claims are spelled with padding.
      resign(h + '='.repeat((4 - (h.length % 4)) % 4 || 4), p),
      resign(h, p + '='.repeat((4 - (p.length % 4)) % 4 || 4)),
    ];
    expect(lastBitsSet).not.toBe(sig);
    for (const token of spellings) expect(await codeOf(secret, token, 'r1'), token).toBe('TOKEN');
    expect(await codeOf(secret, good, 'r1')).toBe('ok');
  });
});
